#include "moe/routers/topk_router.h"

#include <tbb/parallel_for.h>

namespace dilmodeli::moe {

void route_top_k(const float* logits, int64_t n_tokens, int64_t n_experts, int64_t k, Routing& out) {
    out.reset(n_tokens, k, n_experts);
    tbb::parallel_for(int64_t(0), n_tokens, [&](int64_t t) {
        float* p = out.probs.data() + t * n_experts;
        int32_t* chosen = out.expert.data() + t * k;
        softmax_probs(logits + t * n_experts, n_experts, p);
        top_k_indices(logits + t * n_experts, n_experts, k, chosen);
        renormalised_weights(p, chosen, k, out.weight.data() + t * k);
    });
}

void TopKRouter::route(const float* logits, int64_t n_tokens, int64_t n_experts, int64_t k, Routing& out) {
    route_top_k(logits, n_tokens, n_experts, k, out);
}

}  // namespace dilmodeli::moe
