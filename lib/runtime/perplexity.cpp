#include "runtime/perplexity.h"

#include <cmath>

#include "common/error.h"
#include "model/model.h"

namespace dilmodeli::runtime {

using namespace model;  // the runtime drives the model layer's sessions

double negative_log_likelihood(const float* logits, int64_t n_vocab, int32_t target) {
    float max = logits[0];
    for (int64_t i = 1; i < n_vocab; ++i) max = logits[i] > max ? logits[i] : max;
    double sum = 0.0;
    for (int64_t i = 0; i < n_vocab; ++i) sum += std::exp(double(logits[i] - max));
    return -(double(logits[target] - max) - std::log(sum));
}

PerplexityResult perplexity(Session& session, const std::vector<int32_t>& tokens, const PerplexityOptions& options) {
    const int64_t ctx = options.ctx;
    if (ctx < 4) throw usage_error("--ctx " + std::to_string(ctx) + " is too small for perplexity (at least 4)");
    if (ctx > session.context())
        throw usage_error("--ctx " + std::to_string(ctx) + " exceeds the session's context " +
                          std::to_string(session.context()));
    const int64_t available = int64_t(tokens.size()) / ctx;
    if (available == 0)
        throw usage_error("the text has " + std::to_string(tokens.size()) + " tokens, fewer than one chunk of " +
                          std::to_string(ctx));
    const int64_t chunks = options.max_chunks > 0 ? std::min(options.max_chunks, available) : available;
    const int64_t n_vocab = session.model().config().n_vocab;
    const int64_t first = ctx / 2;

    PerplexityResult result;
    result.ctx = ctx;
    double nll_sum = 0, nll_sq_sum = 0;
    std::vector<int32_t> chunk(static_cast<size_t>(ctx));
    for (int64_t c = 0; c < chunks; ++c) {
        std::copy_n(tokens.begin() + c * ctx, ctx, chunk.begin());
        chunk[0] = options.bos_id;
        session.reset();
        session.decode(chunk.data(), ctx, true);
        const std::vector<float>& logits = session.logits();
        for (int64_t j = first; j < ctx - 1; ++j) {
            const double nll = negative_log_likelihood(&logits[size_t(j * n_vocab)], n_vocab, tokens[size_t(c * ctx + j + 1)]);
            nll_sum += nll;
            nll_sq_sum += nll * nll;
            ++result.scored_tokens;
        }
        result.chunks = c + 1;
        if (options.progress) options.progress(c + 1, chunks, std::exp(nll_sum / double(result.scored_tokens)));
    }
    const double n = double(result.scored_tokens);
    const double mean = nll_sum / n;
    result.perplexity = std::exp(mean);
    const double variance = std::max(0.0, nll_sq_sum / n - mean * mean);
    result.standard_error = result.perplexity * std::sqrt(variance / std::max(1.0, n - 1));
    return result;
}

}  // namespace dilmodeli::runtime
