#include "model/feed_forward.h"

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "model/ops.h"
#include "model/weight_binding.h"
#include "moe/moe_feed_forward.h"

namespace dilmodeli::model {

DenseSwiGlu::DenseSwiGlu(kernels::WeightMatrix gate, kernels::WeightMatrix up, kernels::WeightMatrix down)
    : gate_(gate), up_(up), down_(down) {}

void DenseSwiGlu::forward(const float* x, int64_t n_tokens, float* out, const ForwardHooks& hooks, int64_t layer) {
    const size_t n = size_t(n_tokens * gate_.rows);
    if (gate_out_.size() < n) {
        gate_out_.resize(n);
        up_out_.resize(n);
    }
    observed_matmul(hooks, gate_, x, n_tokens, gate_out_.data());
    observed_matmul(hooks, up_, x, n_tokens, up_out_.data());
    timed_op(hooks, "ffn_act", layer, n_tokens, [&] { silu_multiply(gate_out_.data(), up_out_.data(), int64_t(n)); });
    observed_matmul(hooks, down_, gate_out_.data(), n_tokens, out);
}

uint64_t DenseSwiGlu::weight_bytes_per_token() const {
    return uint64_t(gate_.rows) * gate_.row_bytes + uint64_t(up_.rows) * up_.row_bytes +
           uint64_t(down_.rows) * down_.row_bytes;
}

std::unique_ptr<FeedForward> load_feed_forward(const gguf::GgufFile& file, int64_t layer, int64_t n_embd,
                                               int64_t n_ff) {
    const std::string blk = "blk." + std::to_string(layer) + ".";
    if (file.find_tensor(blk + "ffn_gate_exps.weight"))
        return moe::load_moe_feed_forward(file, layer, n_embd, n_ff);
    return std::make_unique<DenseSwiGlu>(bind_matrix(file, blk + "ffn_gate.weight", n_embd, n_ff),
                                         bind_matrix(file, blk + "ffn_up.weight", n_embd, n_ff),
                                         bind_matrix(file, blk + "ffn_down.weight", n_ff, n_embd));
}

}  // namespace dilmodeli::model
