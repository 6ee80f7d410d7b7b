#pragma once
// The feed-forward half of a transformer block, behind one interface so that dense SwiGLU and
// mixture-of-experts layers are separate files rather than branches in the forward pass.
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/matmul.h"
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
};

// w_down(silu(w_gate x) * w_up x), llama's SwiGLU.
class DenseSwiGlu : public FeedForward {
public:
    DenseSwiGlu(kernels::WeightMatrix gate, kernels::WeightMatrix up, kernels::WeightMatrix down);
    void forward(const float* x, int64_t n_tokens, float* out, const ForwardHooks& hooks, int64_t layer) override;
    uint64_t weight_bytes_per_token() const override;

private:
    kernels::WeightMatrix gate_, up_, down_;
};

// Builds the feed-forward layer `layer` of a llama-family file: dense when the file has
// blk.N.ffn_gate.weight, MoE when it has blk.N.ffn_gate_exps.weight.
std::unique_ptr<FeedForward> load_feed_forward(const gguf::GgufFile& file, int64_t layer,
                                               int64_t n_embd, int64_t n_ff);

}  // namespace dilmodeli::model
