#include "model/feed_forward.h"

#include "common/error.h"
#include "common/thread_scratch.h"
#include "gguf/gguf_file.h"
#include "model/ops.h"
#include "model/tensor_names.h"
#include "model/weight_binding.h"

namespace dilmodeli::model {

DenseGated::DenseGated(kernels::WeightMatrix gate, kernels::WeightMatrix up, kernels::WeightMatrix down,
                       FfnActivation activation)
    : gate_(gate), up_(up), down_(down), activation_(activation) {}

namespace {

// The hidden activations (2 x n_tokens x n_ff floats), shared by the layers run on a thread.
struct HiddenBuffers {
    std::vector<float> gate, up;
};

}  // namespace

void DenseGated::forward(const float* x, int64_t n_tokens, float* out, const ForwardHooks& hooks, int64_t layer) {
    const size_t n = size_t(n_tokens * gate_.rows);
    ThreadScratch<HiddenBuffers> s;
    if (s->gate.size() < n) {
        s->gate.resize(n);
        s->up.resize(n);
    }
    observed_matmuls(hooks, {{gate_, s->gate.data()}, {up_, s->up.data()}}, x, n_tokens);
    timed_op(hooks, "ffn_act", layer, n_tokens, [&] {
        if (activation_ == FfnActivation::GeluTanh)
            gelu_multiply(s->gate.data(), s->up.data(), int64_t(n));
        else
            silu_multiply(s->gate.data(), s->up.data(), int64_t(n));
    });
    observed_matmul(hooks, down_, s->gate.data(), n_tokens, out);
}

uint64_t DenseGated::weight_bytes_per_token() const {
    return uint64_t(gate_.rows) * gate_.row_bytes + uint64_t(up_.rows) * up_.row_bytes +
           uint64_t(down_.rows) * down_.row_bytes;
}

std::unique_ptr<FeedForward> load_feed_forward(const gguf::GgufFile& file, const Architecture& arch, int64_t layer,
                                               int64_t n_embd, int64_t n_ff, const ExpertLayerLoader& experts) {
    if (file.find_tensor(tensor_name(TensorRole::FfnGateExps, layer))) {
        if (!experts)
            throw input_error(file.path(), "layer " + std::to_string(layer) +
                                               " is a mixture of experts, which this loader was not given");
        return experts(file, layer, n_embd, n_ff);
    }
    const kernels::WeightMatrix down = bind_matrix(file, tensor_name(TensorRole::FfnDown, layer), n_ff, n_embd);
    if (arch.fused_gate_up) {
        const kernels::WeightMatrix gate_up = bind_matrix(file, tensor_name(TensorRole::FfnUp, layer), n_embd, 2 * n_ff);
        return std::make_unique<DenseGated>(row_view(gate_up, 0, n_ff), row_view(gate_up, n_ff, n_ff), down,
                                            arch.activation);
    }
    return std::make_unique<DenseGated>(bind_matrix(file, tensor_name(TensorRole::FfnGate, layer), n_embd, n_ff),
                                        bind_matrix(file, tensor_name(TensorRole::FfnUp, layer), n_embd, n_ff), down,
                                        arch.activation);
}

}  // namespace dilmodeli::model
