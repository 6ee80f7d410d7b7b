#pragma once
// Routers of a mixture-of-experts layer: from the router logits of a batch of tokens to the
// k experts each token uses and the weights its expert outputs are combined with.
//
// Every router here keeps llama.cpp's gating for the weights (Mixtral's): softmax over all
// experts' logits, the chosen experts' probabilities renormalised to sum 1. Routers differ only
// in which experts they choose (and whether a slot is dropped); `topk` chooses exactly as
// llama.cpp does.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dilmodeli::moe {

inline constexpr int32_t kDroppedSlot = -1;

// The decision for one batch.
struct Routing {
    int64_t n_tokens = 0;
    int64_t k = 0;
    std::vector<int32_t> expert;  // (n_tokens, k) chosen experts, kDroppedSlot when dropped
    std::vector<float> weight;    // (n_tokens, k) combine weights; 0 for a dropped slot
    std::vector<float> probs;     // (n_tokens, n_experts) softmax of the logits

    void reset(int64_t tokens, int64_t slots, int64_t n_experts);
};

struct RouterOptions {
    // capacity: each expert takes at most ceil(factor * n_tokens * k / n_experts) slots.
    double capacity_factor = 1.25;
    // bias: per-expert bias added to the log-probabilities for selection only, moved by this
    // much after every batch towards the mean load (DeepSeek-V3's auxiliary-loss-free rule).
    double bias_update_rate = 0.05;
    // nash: candidates per token (the flock's k nearest), load allowed before congestion costs
    // (as a multiple of the balanced load), congestion cost per token over it (nats), cost of
    // fetching an expert not used in the previous batch (nats, shared by its users).
    int32_t nash_group = 7;
    double nash_load_slack = 1.10;
    double nash_congestion = 0.5;
    double nash_cache_cost = 0.05;
};

class Router {
public:
    virtual ~Router() = default;
    virtual std::string name() const = 0;
    // logits: (n_tokens, n_experts), row-major. Fills `out` (resized here). Routers with state
    // (bias, nash's cache) update it once per call: one call is one batch.
    virtual void route(const float* logits, int64_t n_tokens, int64_t n_experts, int64_t k, Routing& out) = 0;
};

// "topk", "capacity", "bias", "nash"; Error(Usage) naming the choices for any other name.
std::unique_ptr<Router> make_router(const std::string& name, const RouterOptions& options = {});
std::vector<std::string> router_names();

// p = softmax(logits) over n values, max subtracted as ggml does (kernels::softmax).
void softmax_probs(const float* logits, int64_t n, float* p);
// The k largest of n values, largest first, lower index first on ties.
void top_k_indices(const float* values, int64_t n, int64_t k, int32_t* out);
// weight[j] = probs[expert[j]] / sum of those over the non-dropped slots (0 for dropped ones).
void renormalised_weights(const float* probs, const int32_t* expert, int64_t k, float* weight);

}  // namespace dilmodeli::moe
