#pragma once
// llama-bench's two measurements, so figures compare: prompt processing (n_prompt tokens in one
// batch from an empty cache) and generation (n_gen tokens one at a time), over repetitions.
#include <cstdint>
#include <vector>

namespace dilmodeli::model {

class LlamaModel;

struct BenchmarkOptions {
    int64_t n_prompt = 128;
    int64_t n_gen = 64;
    int repetitions = 5;
    int threads = 1;
    uint64_t seed = 1;  // for the random token ids fed to the model
};

struct BenchmarkResult {
    std::vector<double> prompt_tok_per_s;  // one per repetition
    std::vector<double> gen_tok_per_s;
    double prompt_median = 0, gen_median = 0;
    uint64_t weight_bytes_per_token = 0;
};

BenchmarkResult run_benchmark(LlamaModel& model, const BenchmarkOptions& options);

double median(std::vector<double> values);

}  // namespace dilmodeli::model
