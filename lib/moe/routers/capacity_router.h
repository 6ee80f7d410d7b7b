#pragma once
// Top-k with a capacity per expert (GShard/Switch): slots are served by rank (every token's
// first choice, then every second choice, ...) in token order; a slot whose expert is full is
// dropped. Weights are those of plain top-k, not renormalised after a drop, so a dropped slot
// simply loses its share of the output.
#include "moe/router.h"

namespace dilmodeli::moe {

class CapacityRouter : public Router {
public:
    explicit CapacityRouter(double capacity_factor);
    std::string name() const override { return "capacity"; }
    void route(const float* logits, int64_t n_tokens, int64_t n_experts, int64_t k, Routing& out) override;
    // ceil(factor * n_tokens * k / n_experts), at least 1.
    int64_t capacity(int64_t n_tokens, int64_t n_experts, int64_t k) const;

private:
    double factor_;
};

}  // namespace dilmodeli::moe
