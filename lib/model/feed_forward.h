#pragma once
// The feed-forward half of a transformer block, behind one interface so that dense SwiGLU and
// mixture-of-experts layers are separate files rather than branches in the forward pass.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "kernels/matmul.h"
#include "model/architecture.h"
#include "model/matmul_observer.h"

namespace dilmodeli::gguf { class GgufFile; }

namespace dilmodeli::model {

class FeedForward {
public:
    virtual ~FeedForward() = default;
    // out (n_tokens x n_embd) = FFN(x (n_tokens x n_embd)); `out` does not alias `x`.
    virtual void forward(const float* x, int64_t n_tokens, float* out, const ForwardHooks& hooks, int64_t layer) = 0;
    // Bytes of weights one token reads (for roofline estimates).
    virtual uint64_t weight_bytes_per_token() const = 0;
    // The matrices every token multiplies by, for the loader to lay out for the kernels
    // (kernels::interleave_rows); none where the layer reads its weights otherwise.
    virtual std::vector<kernels::WeightMatrix*> dense_matrices() { return {}; }
};

// w_down(act(w_gate x) * w_up x): llama's SwiGLU, or Gemma's GeGLU with GELU's tanh form.
class DenseGated : public FeedForward {
public:
    DenseGated(kernels::WeightMatrix gate, kernels::WeightMatrix up, kernels::WeightMatrix down,
               FfnActivation activation);
    void forward(const float* x, int64_t n_tokens, float* out, const ForwardHooks& hooks, int64_t layer) override;
    uint64_t weight_bytes_per_token() const override;
    std::vector<kernels::WeightMatrix*> dense_matrices() override { return {&gate_, &up_, &down_}; }

private:
    kernels::WeightMatrix gate_, up_, down_;
    FfnActivation activation_;
};

// Builds a mixture-of-experts layer (layer, n_embd, n_ff of one expert). The MoE module above
// this one supplies it (moe::expert_layer_loader), so that the model layer does not depend on it.
using ExpertLayerLoader = std::function<std::unique_ptr<FeedForward>(const gguf::GgufFile& file, int64_t layer,
                                                                     int64_t n_embd, int64_t n_ff)>;

// Builds the feed-forward layer `layer` of a file of family `arch`: through `experts` when it has
// blk.N.ffn_gate_exps.weight (Error(BadInput) without one), else dense, with the gate rows inside
// ffn_up for families that fuse.
std::unique_ptr<FeedForward> load_feed_forward(const gguf::GgufFile& file, const Architecture& arch, int64_t layer,
                                               int64_t n_embd, int64_t n_ff, const ExpertLayerLoader& experts);

}  // namespace dilmodeli::model
