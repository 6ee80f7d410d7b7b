#include "runtime/benchmark.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "common/error.h"
#include "model/model.h"

namespace dilmodeli::runtime {

using namespace model;  // the runtime drives the model layer's sessions

double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const size_t n = values.size();
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

BenchmarkResult run_benchmark(Model& model, const BenchmarkOptions& o) {
    if (o.n_prompt < 0 || o.n_gen < 0 || o.n_depth < 0 || o.repetitions < 1 || o.sequences < 1)
        throw usage_error("benchmark sizes must be non-negative, repetitions and sequences at least 1");
    const int n_seq = o.sequences;
    SessionOptions so;
    so.threads = o.threads;
    so.kv_type = o.kv_type;
    so.context = o.n_depth + std::max<int64_t>(o.n_prompt, o.n_gen + 1);
    so.sequences = n_seq;
    // The prompts in one batch; the context in batches of at least 512, as `run` reads prompts.
    so.max_batch = std::max<int64_t>(o.n_prompt * n_seq, 512);
    Session session(model, so);
    std::mt19937_64 rng(o.seed);
    std::uniform_int_distribution<int32_t> token(0, int32_t(model.config().n_vocab - 1));
    const size_t per_seq = size_t(std::max<int64_t>({o.n_prompt, o.n_depth, 1}));
    std::vector<int32_t> tokens(per_seq * size_t(n_seq));
    // The same tokens for each sequence at a time would be no different: draw them all.
    auto batch_of = [&](int64_t n, bool logits) {
        for (int32_t& t : tokens) t = token(rng);
        std::vector<SequenceTokens> batch;
        for (int s = 0; s < n_seq; ++s) batch.push_back({s, &tokens[size_t(s) * per_seq], n, logits});
        return batch;
    };
    // Empty caches, then n_depth random tokens in each.
    auto start_over = [&] {
        session.reset();
        if (o.n_depth > 0) session.decode(batch_of(o.n_depth, false));
    };
    using clock = std::chrono::steady_clock;
    auto seconds_since = [](clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); };

    BenchmarkResult r;
    r.weight_bytes_per_token = model.weight_bytes_per_token();
    // One untimed warm-up of each kind, as llama-bench does, so page faults are not measured.
    for (int rep = -1; rep < o.repetitions; ++rep) {
        if (o.n_prompt > 0) {
            start_over();
            const std::vector<SequenceTokens> prompts = batch_of(o.n_prompt, true);
            auto start = clock::now();
            session.decode(prompts);
            if (rep >= 0) r.prompt_tok_per_s.push_back(double(o.n_prompt * n_seq) / seconds_since(start));
        }
        if (o.n_gen > 0) {
            start_over();
            std::vector<SequenceTokens> step = batch_of(1, true);
            auto start = clock::now();
            for (int64_t i = 0; i < o.n_gen; ++i) {
                session.decode(step);
                for (int s = 0; s < n_seq; ++s) tokens[size_t(s) * per_seq] = token(rng);
            }
            if (rep >= 0) r.gen_tok_per_s.push_back(double(o.n_gen * n_seq) / seconds_since(start));
        }
    }
    r.prompt_median = median(r.prompt_tok_per_s);
    r.gen_median = median(r.gen_tok_per_s);
    return r;
}

}  // namespace dilmodeli::runtime
