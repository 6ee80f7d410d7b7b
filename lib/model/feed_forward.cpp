#include "model/feed_forward.h"

#include "common/error.h"
#include "common/thread_scratch.h"
#include "gguf/gguf_file.h"
#include "model/ops.h"
#include "model/weight_binding.h"
#include "moe/moe_feed_forward.h"

namespace dilmodeli::model {

DenseSwiGlu::DenseSwiGlu(kernels::WeightMatrix gate, kernels::WeightMatrix up, kernels::WeightMatrix down)
    : gate_(gate), up_(up), down_(down) {}

namespace {

// The hidden activations (2 x n_tokens x n_ff floats), shared by the layers run on a thread.
struct HiddenBuffers {
    std::vector<float> gate, up;
};

}  // namespace

void DenseSwiGlu::forward(const float* x, int64_t n_tokens, float* out, const ForwardHooks& hooks, int64_t layer) {
    const size_t n = size_t(n_tokens * gate_.rows);
    ThreadScratch<HiddenBuffers> s;
    if (s->gate.size() < n) {
        s->gate.resize(n);
        s->up.resize(n);
    }
    observed_matmuls(hooks, {{gate_, s->gate.data()}, {up_, s->up.data()}}, x, n_tokens);
    timed_op(hooks, "ffn_act", layer, n_tokens, [&] { silu_multiply(s->gate.data(), s->up.data(), int64_t(n)); });
    observed_matmul(hooks, down_, s->gate.data(), n_tokens, out);
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
