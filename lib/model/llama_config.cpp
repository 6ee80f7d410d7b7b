#include "model/llama_config.h"

#include <algorithm>

#include "common/error.h"
#include "gguf/gguf_file.h"

namespace dilmodeli::model {

int64_t LlamaConfig::max_ff() const {
    return n_ff.empty() ? 0 : *std::max_element(n_ff.begin(), n_ff.end());
}

LlamaConfig LlamaConfig::from_gguf(const gguf::GgufFile& file) {
    const std::string& path = file.path();
    LlamaConfig c;
    c.architecture = file.get_string_or("general.architecture", "");
    if (c.architecture.empty())
        throw input_error(path, "no general.architecture: not a model file (a vocabulary-only GGUF?)");
    if (c.architecture != "llama")
        throw input_error(path, "unsupported architecture '" + c.architecture + "' (supported: llama)");
    if (file.tensors().empty())
        throw input_error(path, "contains no tensors: a vocabulary-only GGUF, not a model");
    const std::string p = c.architecture + ".";
    auto positive = [&](const std::string& key, int64_t v, int64_t limit) {
        if (v <= 0 || v > limit)
            throw input_error(path, "metadata key '" + key + "' = " + std::to_string(v) + " is out of range");
        return v;
    };
    c.n_embd = positive(p + "embedding_length", file.get_int(p + "embedding_length"), 1 << 20);
    c.n_layers = positive(p + "block_count", file.get_int(p + "block_count"), 4096);
    c.n_heads = positive(p + "attention.head_count", file.get_int(p + "attention.head_count"), 1 << 14);
    c.n_kv_heads = positive(p + "attention.head_count_kv",
                            file.get_int_or(p + "attention.head_count_kv", c.n_heads), 1 << 14);
    if (c.n_embd % c.n_heads != 0)
        throw input_error(path, "embedding_length " + std::to_string(c.n_embd) +
                                    " is not a multiple of head_count " + std::to_string(c.n_heads));
    if (c.n_heads % c.n_kv_heads != 0)
        throw input_error(path, "head_count " + std::to_string(c.n_heads) +
                                    " is not a multiple of head_count_kv " + std::to_string(c.n_kv_heads));
    c.head_dim = c.n_embd / c.n_heads;
    c.n_rot = positive(p + "rope.dimension_count", file.get_int_or(p + "rope.dimension_count", c.head_dim),
                       c.head_dim);
    if (c.n_rot % 2 != 0)
        throw input_error(path, "rope.dimension_count " + std::to_string(c.n_rot) + " is odd");
    c.context_length = positive(p + "context_length", file.get_int_or(p + "context_length", 2048), 1 << 24);
    c.rms_epsilon = float(file.get_float_or(p + "attention.layer_norm_rms_epsilon", 1e-5));
    c.rope_freq_base = float(file.get_float_or(p + "rope.freq_base", 10000.0));
    if (!(c.rms_epsilon > 0) || !(c.rope_freq_base > 0))
        throw input_error(path, "rms epsilon and rope.freq_base must be positive");

    const std::string ff_key = p + "feed_forward_length";
    const gguf::Value& ff = file.require(ff_key);
    if (ff.as_array()) {
        c.n_ff = file.get_int_array(ff_key);
        if (int64_t(c.n_ff.size()) != c.n_layers)
            throw input_error(path, "'" + ff_key + "' has " + std::to_string(c.n_ff.size()) +
                                        " entries for " + std::to_string(c.n_layers) + " layers");
    } else {
        c.n_ff.assign(size_t(c.n_layers), file.get_int(ff_key));
    }
    for (int64_t v : c.n_ff) positive(ff_key, v, 1 << 22);

    c.n_experts = file.get_int_or(p + "expert_count", 0);
    c.n_experts_used = file.get_int_or(p + "expert_used_count", 0);

    const gguf::TensorInfo& embd = file.require_tensor("token_embd.weight");
    if (embd.dims.size() != 2 || embd.dims[0] != c.n_embd)
        throw input_error(path, "token_embd.weight has shape " + embd.shape_string() +
                                    ", expected [" + std::to_string(c.n_embd) + ", vocab]");
    c.n_vocab = embd.dims[1];
    return c;
}

}  // namespace dilmodeli::model
