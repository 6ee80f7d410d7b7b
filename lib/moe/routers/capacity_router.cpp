#include "moe/routers/capacity_router.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "moe/routers/topk_router.h"

namespace dilmodeli::moe {

CapacityRouter::CapacityRouter(double capacity_factor) : factor_(capacity_factor) {
    if (!(capacity_factor > 0) || !std::isfinite(capacity_factor))
        throw usage_error("capacity factor must be positive, got " + std::to_string(capacity_factor));
}

int64_t CapacityRouter::capacity(int64_t n_tokens, int64_t n_experts, int64_t k) const {
    return std::max<int64_t>(1, int64_t(std::ceil(factor_ * double(n_tokens * k) / double(n_experts) - 1e-9)));
}

void CapacityRouter::route(const float* logits, int64_t n_tokens, int64_t n_experts, int64_t k, Routing& out) {
    route_top_k(logits, n_tokens, n_experts, k, out);
    const int64_t cap = capacity(n_tokens, n_experts, k);
    std::vector<int64_t> load(size_t(n_experts), 0);
    for (int64_t rank = 0; rank < k; ++rank) {
        for (int64_t t = 0; t < n_tokens; ++t) {
            const size_t slot = size_t(t * k + rank);
            const int32_t e = out.expert[slot];
            if (load[size_t(e)] < cap) {
                ++load[size_t(e)];
            } else {
                out.expert[slot] = kDroppedSlot;
                out.weight[slot] = 0.0f;
            }
        }
    }
}

}  // namespace dilmodeli::moe
