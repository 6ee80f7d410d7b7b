#include "model/model_config.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "gguf/gguf_file.h"

namespace dilmodeli::model {
namespace {

// Which layers slide, as llama.cpp's set_swa_pattern and the per-layer array form of the key.
std::vector<bool> sliding_layers(const gguf::GgufFile& file, const std::string& key, int64_t n_layers,
                                 int64_t pattern) {
    std::vector<bool> slides(size_t(n_layers), false);
    if (const gguf::Value* v = file.find(key); v && v->as_array()) {
        const std::vector<int64_t> flags = file.get_int_array(key);
        if (int64_t(flags.size()) != n_layers)
            throw input_error(file.path(), "'" + key + "' has " + std::to_string(flags.size()) + " entries for " +
                                               std::to_string(n_layers) + " layers");
        for (size_t l = 0; l < flags.size(); ++l) slides[l] = flags[l] != 0;
        return slides;
    }
    pattern = file.get_int_or(key, pattern);
    if (pattern < 0) throw input_error(file.path(), "'" + key + "' = " + std::to_string(pattern) + " is negative");
    for (int64_t l = 0; l < n_layers; ++l) slides[size_t(l)] = pattern == 0 || l % pattern < pattern - 1;
    return slides;
}

}  // namespace

int64_t ModelConfig::max_ff() const {
    return n_ff.empty() ? 0 : *std::max_element(n_ff.begin(), n_ff.end());
}

ModelConfig ModelConfig::from_gguf(const gguf::GgufFile& file) {
    const std::string& path = file.path();
    ModelConfig c;
    c.architecture = file.get_string_or("general.architecture", "");
    if (c.architecture.empty())
        throw input_error(path, "no general.architecture: not a model file (a vocabulary-only GGUF?)");
    c.arch = find_architecture(c.architecture);
    if (!c.arch)
        throw input_error(path, "unsupported architecture '" + c.architecture +
                                    "' (supported: " + supported_architecture_names() + ")");
    if (file.tensors().empty())
        throw input_error(path, "contains no tensors: a vocabulary-only GGUF, not a model");
    const Architecture& a = *c.arch;
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
    if (c.n_heads % c.n_kv_heads != 0)
        throw input_error(path, "head_count " + std::to_string(c.n_heads) +
                                    " is not a multiple of head_count_kv " + std::to_string(c.n_kv_heads));
    const std::string key_length = p + "attention.key_length";
    if (!file.has(key_length) && c.n_embd % c.n_heads != 0)
        throw input_error(path, "embedding_length " + std::to_string(c.n_embd) +
                                    " is not a multiple of head_count " + std::to_string(c.n_heads) +
                                    " and there is no attention.key_length");
    c.head_dim = positive(key_length, file.get_int_or(key_length, c.n_embd / c.n_heads), 1 << 14);
    const std::string value_length = p + "attention.value_length";
    if (file.get_int_or(value_length, c.head_dim) != c.head_dim)
        throw input_error(path, "'" + value_length + "' = " + std::to_string(file.get_int(value_length)) +
                                    " differs from key_length " + std::to_string(c.head_dim) + " (unsupported)");
    c.n_rot = positive(p + "rope.dimension_count", file.get_int_or(p + "rope.dimension_count", c.head_dim),
                       c.head_dim);
    if (c.n_rot % 2 != 0)
        throw input_error(path, "rope.dimension_count " + std::to_string(c.n_rot) + " is odd");
    if (a.family == Family::Llama && c.n_rot != c.head_dim)
        throw input_error(path, "rope.dimension_count " + std::to_string(c.n_rot) + " differs from the head width " +
                                    std::to_string(c.head_dim));
    c.context_length = positive(p + "context_length", file.get_int_or(p + "context_length", 2048), 1 << 24);
    c.rms_epsilon = float(file.get_float_or(p + "attention.layer_norm_rms_epsilon", 1e-5));

    c.rope_freq_base = float(file.get_float_or(p + "rope.freq_base", 10000.0));
    // Gemma 2 slides with the global base unless the file names a local one; Gemma 3 with 10,000.
    c.rope_freq_base_swa = float(file.get_float_or(
        p + "rope.freq_base_swa", a.family == Family::Gemma2 ? double(c.rope_freq_base) : 10000.0));
    const std::string scaling = file.get_string_or(p + "rope.scaling.type", "linear");
    if (scaling != "none" && scaling != "linear" && scaling != "longrope")
        throw input_error(path, "rope.scaling.type '" + scaling + "' is not supported (none, linear, longrope)");
    double factor = file.get_float_or(p + "rope.scaling.factor", file.get_float_or(p + "rope.scale_linear", 0.0));
    if (scaling == "none") factor = 0.0;
    if (factor < 0 || !std::isfinite(factor))
        throw input_error(path, "rope.scaling.factor " + std::to_string(factor) + " is not positive");
    c.rope_freq_scale = factor == 0.0 ? 1.0f : float(1.0 / factor);
    c.rope_attn_factor = float(file.get_float_or(p + "rope.scaling.attn_factor", 1.0));
    if (!(c.rms_epsilon > 0) || !(c.rope_freq_base > 0) || !(c.rope_freq_base_swa > 0) || !(c.rope_attn_factor > 0))
        throw input_error(path, "rms epsilon, rope.freq_base and rope.scaling.attn_factor must be positive");

    // Gemma's largest models scale by the width over the head count instead (llama.cpp's
    // f_attention_scale for 27B Gemma 2/3).
    const bool gemma_27b = (a.family == Family::Gemma2 && c.n_layers == 46) ||
                           (a.family == Family::Gemma3 && c.n_layers == 62);
    c.attention_scale = 1.0f / std::sqrt(float(gemma_27b ? c.n_embd / c.n_heads : c.head_dim));
    if (a.attn_softcap) c.attn_softcap = float(file.get_float_or(p + "attn_logit_softcapping", 50.0));
    c.final_softcap = float(file.get_float_or(p + "final_logit_softcapping", a.default_final_softcap));
    if (c.attn_softcap < 0 || c.final_softcap < 0 || !std::isfinite(c.attn_softcap) || !std::isfinite(c.final_softcap))
        throw input_error(path, "logit soft-capping values must be positive or zero");
    if (a.scale_embedding) c.embedding_scale = std::sqrt(float(c.n_embd));

    c.layer_slides.assign(size_t(c.n_layers), false);
    if (a.swa_pattern > 0) {
        c.sliding_window = file.get_int_or(p + "attention.sliding_window", a.default_window);
        if (c.sliding_window < 0)
            throw input_error(path, "attention.sliding_window " + std::to_string(c.sliding_window) + " is negative");
        if (c.sliding_window > 0)
            c.layer_slides = sliding_layers(file, p + "attention.sliding_window_pattern", c.n_layers, a.swa_pattern);
    }

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
