#pragma once
// Auxiliary-loss-free balancing (DeepSeek-V3): experts are chosen by log p + b_e, where the
// per-expert bias b_e rises for under-loaded experts and falls for over-loaded ones after every
// batch (b_e += rate * sign(mean load - load_e)). The combine weights ignore the bias.
#include "moe/router.h"

namespace dilmodeli::moe {

class BiasRouter : public Router {
public:
    explicit BiasRouter(double update_rate);
    std::string name() const override { return "bias"; }
    void route(const float* logits, int64_t n_tokens, int64_t n_experts, int64_t k, Routing& out) override;
    const std::vector<float>& bias() const { return bias_; }

private:
    double rate_;
    std::vector<float> bias_;  // (n_experts)
};

}  // namespace dilmodeli::moe
