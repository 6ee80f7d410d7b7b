#pragma once
// Choosing the next token from logits: greedy, or llama.cpp's chain (repetition penalty,
// top-k, top-p, min-p, temperature, then a draw from a seeded generator).
#include <cstdint>
#include <random>
#include <vector>

namespace dilmodeli::runtime {

struct SamplerOptions {
    float temperature = 0.8f;  // <= 0: greedy
    int top_k = 40;            // <= 0: all tokens
    float top_p = 0.95f;       // 1: off
    float min_p = 0.05f;       // 0: off
    float repeat_penalty = 1.0f;  // 1: off
    int repeat_last_n = 64;
    uint64_t seed = 0;

    // Error(Usage) naming the flag for out-of-range values.
    void validate() const;
};

class Sampler {
public:
    explicit Sampler(const SamplerOptions& options);
    // `history` holds the tokens so far (prompt and generated), for the repetition penalty.
    int32_t sample(const float* logits, int64_t n_vocab, const std::vector<int32_t>& history);

private:
    struct Candidate {
        int32_t id;
        float logit;
        float p;
    };
    // Without top-k: every candidate's p over the whole vocabulary, and candidates_ cut to a head
    // of the order by_logit, sorted, long enough for top-p and min-p to find their cut in it.
    template <typename Order>
    void sorted_head_by_probability(const Order& by_logit);

    SamplerOptions options_;
    std::mt19937_64 rng_;
    std::vector<Candidate> candidates_;
};

int32_t argmax(const float* logits, int64_t n);

}  // namespace dilmodeli::runtime
