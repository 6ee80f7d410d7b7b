#include "moe/routers/bias_router.h"

#include <cmath>
#include <tbb/parallel_for.h>

#include "common/error.h"

namespace dilmodeli::moe {

BiasRouter::BiasRouter(double update_rate) : rate_(update_rate) {
    if (!(update_rate >= 0) || !std::isfinite(update_rate))
        throw usage_error("bias update rate must be >= 0, got " + std::to_string(update_rate));
}

void BiasRouter::route(const float* logits, int64_t n_tokens, int64_t n_experts, int64_t k, Routing& out) {
    if (int64_t(bias_.size()) != n_experts) bias_.assign(size_t(n_experts), 0.0f);
    out.reset(n_tokens, k, n_experts);
    tbb::parallel_for(int64_t(0), n_tokens, [&](int64_t t) {
        float* p = out.probs.data() + t * n_experts;
        softmax_probs(logits + t * n_experts, n_experts, p);
        std::vector<float> score(static_cast<size_t>(n_experts));
        for (int64_t e = 0; e < n_experts; ++e) score[size_t(e)] = logits[t * n_experts + e] + bias_[size_t(e)];
        int32_t* chosen = out.expert.data() + t * k;
        top_k_indices(score.data(), n_experts, k, chosen);
        renormalised_weights(p, chosen, k, out.weight.data() + t * k);
    });
    std::vector<int64_t> load(size_t(n_experts), 0);
    for (int32_t e : out.expert) ++load[size_t(e)];
    const double mean = double(n_tokens * k) / double(n_experts);
    for (int64_t e = 0; e < n_experts; ++e) {
        const double gap = mean - double(load[size_t(e)]);
        bias_[size_t(e)] += float(rate_ * double((gap > 0) - (gap < 0)));
    }
}

}  // namespace dilmodeli::moe
