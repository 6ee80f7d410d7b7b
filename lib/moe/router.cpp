#include "moe/router.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "kernels/activation.h"
#include "moe/routers/bias_router.h"
#include "moe/routers/capacity_router.h"
#include "moe/routers/nash_router.h"
#include "moe/routers/topk_router.h"

namespace dilmodeli::moe {

void Routing::reset(int64_t tokens, int64_t slots, int64_t n_experts) {
    n_tokens = tokens;
    k = slots;
    expert.assign(size_t(tokens * slots), kDroppedSlot);
    weight.assign(size_t(tokens * slots), 0.0f);
    probs.resize(size_t(tokens * n_experts));
}

std::unique_ptr<Router> make_router(const std::string& name, const RouterOptions& options) {
    if (name == "topk") return std::make_unique<TopKRouter>();
    if (name == "capacity") return std::make_unique<CapacityRouter>(options.capacity_factor);
    if (name == "bias") return std::make_unique<BiasRouter>(options.bias_update_rate);
    if (name == "nash") return std::make_unique<NashRouter>(options);
    throw usage_error("unknown router '" + name + "' (choose topk, capacity, bias or nash)");
}

std::vector<std::string> router_names() { return {"topk", "capacity", "bias", "nash"}; }

void softmax_probs(const float* logits, int64_t n, float* p) {
    std::copy_n(logits, n, p);
    kernels::softmax(p, n);
}

void top_k_indices(const float* values, int64_t n, int64_t k, int32_t* out) {
    std::vector<int32_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [values](int32_t a, int32_t b) {
        return values[a] > values[b] || (values[a] == values[b] && a < b);
    });
    std::copy(order.begin(), order.begin() + k, out);
}

void renormalised_weights(const float* probs, const int32_t* expert, int64_t k, float* weight) {
    float sum = 0;
    for (int64_t j = 0; j < k; ++j)
        if (expert[j] != kDroppedSlot) sum += probs[expert[j]];
    for (int64_t j = 0; j < k; ++j)
        weight[j] = expert[j] == kDroppedSlot || sum <= 0 ? 0.0f : probs[expert[j]] / sum;
}

}  // namespace dilmodeli::moe
