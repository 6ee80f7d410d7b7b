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
    if (o.n_prompt < 0 || o.n_gen < 0 || o.n_depth < 0 || o.repetitions < 1)
        throw usage_error("benchmark sizes must be non-negative and repetitions at least 1");
    SessionOptions so;
    so.threads = o.threads;
    so.kv_type = o.kv_type;
    so.context = o.n_depth + std::max<int64_t>(o.n_prompt, o.n_gen + 1);
    // The prompt in one batch; the context in batches of at least 512, as `run` reads prompts.
    so.max_batch = std::max<int64_t>(o.n_prompt, 512);
    Session session(model, so);
    std::mt19937_64 rng(o.seed);
    std::uniform_int_distribution<int32_t> token(0, int32_t(model.config().n_vocab - 1));
    std::vector<int32_t> prompt(static_cast<size_t>(o.n_prompt)), context(static_cast<size_t>(o.n_depth));
    // An empty cache, then n_depth random tokens in it.
    auto start_over = [&] {
        session.reset();
        if (o.n_depth == 0) return;
        for (int32_t& t : context) t = token(rng);
        session.decode(context.data(), o.n_depth, false);
    };
    using clock = std::chrono::steady_clock;
    auto seconds_since = [](clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); };

    BenchmarkResult r;
    r.weight_bytes_per_token = model.weight_bytes_per_token();
    // One untimed warm-up of each kind, as llama-bench does, so page faults are not measured.
    for (int rep = -1; rep < o.repetitions; ++rep) {
        if (o.n_prompt > 0) {
            start_over();
            for (int32_t& t : prompt) t = token(rng);
            auto start = clock::now();
            session.decode(prompt.data(), o.n_prompt, false);
            if (rep >= 0) r.prompt_tok_per_s.push_back(double(o.n_prompt) / seconds_since(start));
        }
        if (o.n_gen > 0) {
            start_over();
            int32_t next = token(rng);
            auto start = clock::now();
            for (int64_t i = 0; i < o.n_gen; ++i) {
                session.decode(&next, 1, false);
                next = token(rng);
            }
            if (rep >= 0) r.gen_tok_per_s.push_back(double(o.n_gen) / seconds_since(start));
        }
    }
    r.prompt_median = median(r.prompt_tok_per_s);
    r.gen_median = median(r.gen_tok_per_s);
    return r;
}

}  // namespace dilmodeli::runtime
