#include "profile/forward_profile.h"

#include <algorithm>

#include "gguf/gguf_file.h"
#include "model/model.h"
#include "model/tensor_names.h"

namespace dilmodeli::profile {
namespace {

// "blk.12.ffn_down.weight" -> {"ffn_down", 12}; "output.weight" -> {"output", -1}.
bool parse_tensor_name(const std::string& name, std::string& op, int64_t& layer) {
    const auto parsed = model::parse_tensor_name(name);
    if (!parsed) return false;
    layer = parsed->layer;
    // A tied output head multiplies by the embedding table.
    op = parsed->role == model::TensorRole::TokenEmbedding ? "output" : std::string(model::tensor_stem(parsed->role));
    return true;
}

}  // namespace

const std::vector<std::string>& forward_op_order() {
    static const std::vector<std::string> order = {
        "embedding", "attn_norm", "attn_q",  "attn_k",  "attn_v",   "rope",        "attention", "attn_output",
        "residual",  "ffn_norm",  "ffn_gate", "ffn_up", "ffn_act", "ffn_down",    "output_norm", "output",
        "sampling"};
    return order;
}

ForwardProfile::ForwardProfile(const model::Model& model, int kv_element_bytes)
    : n_layers_(model.config().n_layers) {
    for (const gguf::TensorInfo& t : model.file().tensors()) {
        TensorRole role;
        if (parse_tensor_name(t.name, role.op, role.layer)) roles_[t.data] = role;
        if (t.name == "token_embd.weight") embedding_row_bytes_ = t.type_info().row_bytes(t.row_length());
    }
    kv_bytes_per_position_ = 2 * uint64_t(model.config().kv_dim()) * uint64_t(kv_element_bytes);
    for (PhaseTotals& p : phases_) p.layer_seconds.assign(size_t(n_layers_ + 1), 0.0);
}

OpTotals& ForwardProfile::entry(const std::string& op) {
    std::vector<OpTotals>& ops = phases_[int(phase_)].ops;
    for (OpTotals& o : ops)
        if (o.op == op) return o;
    const std::vector<std::string>& order = forward_op_order();
    auto rank = [&](const std::string& name) {
        return size_t(std::find(order.begin(), order.end(), name) - order.begin());
    };
    OpTotals fresh;
    fresh.op = op;
    auto at = std::find_if(ops.begin(), ops.end(), [&](const OpTotals& o) { return rank(o.op) > rank(op); });
    return *ops.insert(at, fresh);
}

void ForwardProfile::add_layer_time(int64_t layer, double seconds) {
    std::vector<double>& layers = phases_[int(phase_)].layer_seconds;
    const size_t index = layer >= 0 && layer < n_layers_ ? size_t(layer) : size_t(n_layers_);
    layers[index] += seconds;
}

void ForwardProfile::add_time(const std::string& op, double seconds) {
    OpTotals& e = entry(op);
    e.seconds += seconds;
    e.calls += 1;
    add_layer_time(-1, seconds);
}

void ForwardProfile::on_matmul(const kernels::WeightMatrix& w, int64_t n_tokens, double seconds) {
    auto found = roles_.find(w.data);
    const TensorRole role = found != roles_.end() ? found->second : TensorRole{"matmul", -1};
    OpTotals& e = entry(role.op);
    e.is_matmul = true;
    e.seconds += seconds;
    e.calls += 1;
    e.tokens += n_tokens;
    e.weight_bytes += uint64_t(w.rows) * w.row_bytes;  // the kernels stream each matrix once per call
    e.flops += 2.0 * double(w.rows) * double(w.cols) * double(n_tokens);
    add_layer_time(role.layer, seconds);
}

void ForwardProfile::on_op(const char* op, int64_t layer, int64_t n_tokens, double seconds) {
    const std::string name = op;
    OpTotals& e = entry(name);
    e.seconds += seconds;
    e.calls += 1;
    e.tokens += n_tokens;
    if (name == "embedding") {
        // The first op of every batch: it fixes the positions that batch occupies.
        batch_start_ = next_position_;
        next_position_ += n_tokens;
        phases_[int(phase_)].forward_steps += 1;
        e.weight_bytes += uint64_t(n_tokens) * embedding_row_bytes_;
    } else if (name == "attention") {
        // Every query of the batch sees the cache up to its own position; the union is read.
        e.kv_bytes += uint64_t(batch_start_ + n_tokens) * kv_bytes_per_position_;
    }
    add_layer_time(layer, seconds);
}

}  // namespace dilmodeli::profile
