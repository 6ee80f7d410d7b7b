#pragma once
// llama-bench's two measurements, so figures compare: prompt processing (n_prompt tokens in one
// batch) and generation (n_gen tokens one at a time), over repetitions, each from an empty cache
// or, like llama-bench's -d, after n_depth tokens of context; with several sequences at once,
// llama-batched-bench's aggregate figures.
#include <cstdint>
#include <vector>

#include "model/model.h"

namespace dilmodeli::runtime {

struct BenchmarkOptions {
    int64_t n_prompt = 128;
    int64_t n_gen = 64;
    int64_t n_depth = 0;  // tokens already in the cache (untimed) before each measurement
    int repetitions = 5;
    int threads = 1;
    // Sequences decoded together, as llama-batched-bench's -npl: each gets its own n_prompt tokens
    // (all in one decode) and n_gen tokens (one each per decode); figures are aggregate tokens/s.
    int sequences = 1;
    uint64_t seed = 1;  // for the random token ids fed to the model
    model::KvCacheType kv_type = model::SessionOptions{}.kv_type;  // F16, as llama-bench's default
};

struct BenchmarkResult {
    std::vector<double> prompt_tok_per_s;  // one per repetition
    std::vector<double> gen_tok_per_s;
    double prompt_median = 0, gen_median = 0;
    uint64_t weight_bytes_per_token = 0;
};

BenchmarkResult run_benchmark(model::Model& model, const BenchmarkOptions& options);

double median(std::vector<double> values);

}  // namespace dilmodeli::runtime
