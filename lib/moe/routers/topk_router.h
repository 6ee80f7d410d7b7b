#pragma once
// The standard router, llama.cpp's: the k experts with the largest logits.
#include "moe/router.h"

namespace dilmodeli::moe {

class TopKRouter : public Router {
public:
    std::string name() const override { return "topk"; }
    void route(const float* logits, int64_t n_tokens, int64_t n_experts, int64_t k, Routing& out) override;
};

// Softmax and top-k of every token (parallel over tokens); the shared first step of all routers.
void route_top_k(const float* logits, int64_t n_tokens, int64_t n_experts, int64_t k, Routing& out);

}  // namespace dilmodeli::moe
