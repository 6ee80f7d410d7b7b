#pragma once
// Perplexity computed exactly as llama.cpp's llama-perplexity does, so figures compare:
// the text's tokens (BOS first) are cut into non-overlapping chunks of `ctx` tokens (a shorter
// remainder is dropped); each chunk starts from an empty cache with its first token replaced by
// BOS; positions ctx/2 .. ctx-2 are scored, each predicting the token after it.
#include <cstdint>
#include <functional>
#include <vector>

namespace dilmodeli::model { class Session; }

namespace dilmodeli::runtime {

using model::Session;

struct PerplexityOptions {
    int64_t ctx = 512;
    int64_t max_chunks = 0;  // 0: every chunk
    int32_t bos_id = 1;
    // After each chunk: chunks done, chunks planned, running perplexity.
    std::function<void(int64_t, int64_t, double)> progress;
};

struct PerplexityResult {
    double perplexity = 0;
    double standard_error = 0;  // of the perplexity, from the per-token NLL variance
    int64_t chunks = 0;
    int64_t scored_tokens = 0;
    int64_t ctx = 0;
};

// Error(Usage) when the text has fewer than one chunk of tokens or ctx exceeds the session's.
PerplexityResult perplexity(Session& session, const std::vector<int32_t>& tokens, const PerplexityOptions& options);

// -log softmax(logits)[target], in double.
double negative_log_likelihood(const float* logits, int64_t n_vocab, int32_t target);

}  // namespace dilmodeli::runtime
