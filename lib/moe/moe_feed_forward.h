#pragma once
// A mixture-of-experts SwiGLU layer laid out as llama.cpp lays out llama MoE files:
//   router   blk.N.ffn_gate_inp.weight   [n_embd, n_expert]
//   experts  blk.N.ffn_gate_exps.weight  [n_embd, n_ff, n_expert]   (and ffn_up_exps)
//            blk.N.ffn_down_exps.weight  [n_ff, n_embd, n_expert]
//   shared   blk.N.ffn_{gate,up,down}_shexp.weight, optional, added ungated (times
//            sigmoid(ffn_gate_inp_shexp . x) when that vector is present, as Qwen2-MoE does)
//
// forward(): router logits -> Router (k experts and weights per token) -> tokens grouped by
// expert -> each expert's three matrix products as TBB tasks (parallel across experts; each
// product is itself parallel over rows) -> out[t] = sum_j weight[t,j] * expert_j(x_t), summed in
// slot order. Results do not depend on the number of threads.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "model/feed_forward.h"
#include "model/model.h"
#include "moe/router.h"

namespace dilmodeli::gguf { class GgufFile; }

namespace dilmodeli::moe {

struct MoeWeights {
    kernels::WeightMatrix router;                     // (n_embd -> n_experts)
    std::vector<kernels::WeightMatrix> gate, up;      // per expert (n_embd -> n_ff)
    std::vector<kernels::WeightMatrix> down;          // per expert (n_ff -> n_embd)
    std::optional<kernels::WeightMatrix> shared_gate, shared_up, shared_down;
    const float* shared_gate_inp = nullptr;           // (n_embd) or null
};

// How the chosen experts' outputs are weighted.
enum class Combine {
    softmax,  // llama.cpp / Mixtral: the router's weights (renormalised top-k probabilities)
    uniform,  // dilmodeli only: 1/k for every chosen expert, whatever the router's probabilities
};
Combine parse_combine(const std::string& name);  // "softmax" or "uniform"

// One batch of one layer, recorded for route-bench when recording is on.
struct BatchRecord {
    int64_t layer = 0;
    int64_t n_tokens = 0;
    int64_t k = 0;
    std::vector<int64_t> load;  // (n_experts) slots served
    int64_t dropped = 0;        // slots dropped
    double mass_kept = 0;       // sum over tokens of the probability of the served experts
    double mass_top_k = 0;      // the same for plain top-k's choice
    double route_seconds = 0;
    double expert_seconds = 0;
    int64_t swarm_min_max_load = -1;  // lib/moe/swarm_bound.h; -1: not computed
};

// The record of one routed batch (timings left 0). swarm_group > 0 also computes the lowest
// max load any router keeping to each token's swarm_group best experts could reach.
BatchRecord make_batch_record(int64_t layer, const Routing& routing, int64_t n_experts, int64_t swarm_group = 0);

class MoeFeedForward : public model::FeedForward {
public:
    MoeFeedForward(int64_t layer, MoeWeights weights, int64_t experts_used);
    MoeFeedForward(const MoeFeedForward&) = delete;
    MoeFeedForward& operator=(const MoeFeedForward&) = delete;

    void forward(const float* x, int64_t n_tokens, float* out, const model::ForwardHooks& hooks,
                 int64_t layer) override;
    // The routed experts alone: out (n_tokens x n_embd) = sum_j weight[t,j] * expert_j(x_t) for a
    // routing made elsewhere (route-bench feeds synthetic decisions through it). No shared expert.
    void execute_experts(const float* x, int64_t n_tokens, const Routing& routing, float* out,
                         const model::ForwardHooks& hooks);
    // Router, k experts, and the shared expert.
    uint64_t weight_bytes_per_token() const override;

    int64_t n_experts() const { return int64_t(w_.gate.size()); }
    int64_t experts_used() const { return k_; }
    int64_t layer() const { return layer_; }
    int64_t n_embd() const { return w_.router.cols; }
    int64_t n_ff() const { return w_.gate.front().rows; }
    uint64_t expert_bytes() const;  // weights of one expert (gate + up + down)

    void set_router(std::unique_ptr<Router> router) { router_ = std::move(router); }
    Router& router() { return *router_; }
    void set_combine(Combine combine) { combine_ = combine; }
    void set_experts_used(int64_t k);

    void set_recording(bool on, int64_t swarm_group = 0) {
        recording_ = on;
        swarm_group_ = swarm_group;
    }
    std::vector<BatchRecord>& records() { return records_; }

private:
    int64_t layer_;
    MoeWeights w_;
    int64_t k_;
    std::unique_ptr<Router> router_;
    Combine combine_ = Combine::softmax;
    bool recording_ = false;
    int64_t swarm_group_ = 0;
    std::vector<BatchRecord> records_;

    Routing routing_;
    std::vector<float> logits_;                  // (n_tokens, n_experts)
    std::vector<int64_t> expert_begin_;          // (n_experts + 1) into the grouped rows
    std::vector<int32_t> row_token_;             // (slots) token of each grouped row
    std::vector<int64_t> slot_row_;              // (n_tokens, k) grouped row of each slot, -1 dropped
};

// Builds layer `layer` of a llama MoE file, with the plain top-k router. Error(BadInput) naming
// the tensor for a missing or misshapen one.
std::unique_ptr<MoeFeedForward> load_moe_feed_forward(const gguf::GgufFile& file, int64_t layer,
                                                      int64_t n_embd, int64_t n_ff);

// The model layer's hook for the feed-forward layers of MoE files: load_moe_feed_forward, each
// with its own router `router` (Error(Usage) for an unknown name).
model::ExpertLayerLoader expert_layer_loader(const std::string& router = "topk", const RouterOptions& options = {});

// The model's MoE layers, in layer order (none for a dense model).
std::vector<MoeFeedForward*> moe_layers(model::Model& model);
// Gives every MoE layer of the model its own router `name` (fresh state). Error(Usage) for an
// unknown name; nothing happens for a dense model.
void use_router(model::Model& model, const std::string& name, const RouterOptions& options = {});

}  // namespace dilmodeli::moe
