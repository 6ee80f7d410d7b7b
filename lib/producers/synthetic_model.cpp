#include "producers/synthetic_model.h"

#include <cmath>
#include <cstring>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "compress/tensor_roles.h"
#include "gguf/gguf_writer.h"
#include "model/tensor_names.h"
#include "producers/splitmix64.h"

namespace dilmodeli::producers {

namespace {

// Approximately normal values (sum of four uniforms), scaled like a trained model's weights.
void fill_row(float* out, int64_t n, uint64_t seed, float stddev) {
    uint64_t state = seed;
    // The sum of 4 uniforms on [0,1) has variance 4/12.
    const float scale = stddev * std::sqrt(3.0f);
    for (int64_t i = 0; i < n; ++i) {
        const uint64_t r = splitmix64(state);
        const float s = float(r & 0xFFFF) + float((r >> 16) & 0xFFFF) + float((r >> 32) & 0xFFFF) + float(r >> 48);
        out[i] = (s / 65536.0f - 2.0f) * scale;
    }
}

}  // namespace

SyntheticShape parse_shape(const std::string& spec, model::Family family) {
    using model::Family;
    // {family, n_embd, layers, heads, kv heads, ff, context, head_dim, tied, rope base, local base,
    //  window, rope_freqs, eps}, from each model's published configuration.
    if (spec == "110M") return {Family::Llama, 768, 12, 12, 12, 2048, 1024};
    if (spec == "1B") return {Family::Llama, 2048, 22, 32, 4, 5632, 2048};
    if (spec == "qwen3-0.6b") return {Family::Qwen3, 1024, 28, 16, 8, 3072, 40960, 128, true, 1e6f, 1e4f, 0, false, 1e-6f};
    if (spec == "qwen2.5-0.5b") return {Family::Qwen2, 896, 24, 14, 2, 4864, 32768, 64, true, 1e6f, 1e4f, 0, false, 1e-6f};
    if (spec == "gemma3-270m")
        return {Family::Gemma3, 640, 18, 4, 1, 2048, 32768, 256, true, 1e6f, 1e4f, 512, false, 1e-6f};
    if (spec == "gemma3-1b") return {Family::Gemma3, 1152, 26, 4, 1, 6912, 32768, 256, true, 1e6f, 1e4f, 512, false, 1e-6f};
    if (spec == "phi3-mini") return {Family::Phi3, 3072, 32, 32, 32, 8192, 4096, 96, false, 1e4f, 1e4f, 0, false, 1e-5f};
    if (spec == "llama3.2-1b") return {Family::Llama, 2048, 16, 32, 8, 8192, 131072, 64, true, 5e5f, 1e4f, 0, true, 1e-5f};
    if (spec == "smollm2-135m") return {Family::Llama, 576, 30, 9, 3, 1536, 8192, 64, true, 1e5f, 1e4f, 0, false, 1e-5f};
    if (spec == "tiny") {
        // Six layers, so that Gemma 3 has a global layer; Qwen3 and Gemma heads wider than n_embd / heads.
        const bool wide_heads = model::architecture(family).qk_norm;
        const bool gemma = family == Family::Gemma2 || family == Family::Gemma3;
        return {family, 128, 6, 4, 2, 256, 256, wide_heads ? 48 : 32, family != Family::Phi3, 1e4f, 1e4f,
                gemma ? 16 : 0, false, 1e-6f};
    }
    const auto x = spec.find('x');
    if (x != std::string::npos) {
        try {
            SyntheticShape s;
            size_t used = 0;
            s.n_embd = std::stoll(spec.substr(0, x), &used);
            if (used != x) throw std::invalid_argument("dim");
            s.n_layers = std::stoll(spec.substr(x + 1), &used);
            if (used != spec.size() - x - 1) throw std::invalid_argument("layers");
            if (s.n_embd >= 64 && s.n_embd % 64 == 0 && s.n_layers > 0 && s.n_layers <= 256) {
                s.family = family;
                s.n_heads = s.n_kv_heads = s.n_embd / 64;
                s.n_ff = (s.n_embd * 8 / 3 + 255) / 256 * 256;
                if (family == Family::Gemma2 || family == Family::Gemma3) s.sliding_window = 512;
                return s;
            }
        } catch (const std::exception&) {
        }
    }
    throw usage_error("--shape '" + spec + "' is not one of " + shape_names() + " or DIMxLAYERS (DIM a multiple of 64)");
}

std::string shape_names() {
    return "110M, 1B, qwen3-0.6b, qwen2.5-0.5b, gemma3-270m, gemma3-1b, phi3-mini, llama3.2-1b, smollm2-135m, tiny";
}

SynthResult write_synthetic_model(const SynthOptions& o) {
    using model::TensorRole;
    const SyntheticShape& s = o.shape;
    const model::Architecture& arch = model::architecture(s.family);
    const quant::TypeInfo& type = quant::type_info(o.type);
    if (!type.quantize_row) throw usage_error(std::string("--type ") + type.name + " cannot be produced");
    const int64_t hd = s.head_dim > 0 ? s.head_dim : s.n_embd / s.n_heads;
    const int64_t q_dim = hd * s.n_heads, kv_dim = hd * s.n_kv_heads;

    auto vocab_file = gguf::GgufFile::open(o.vocab_path);
    const int64_t n_vocab = int64_t(vocab_file->require_string_array("tokenizer.ggml.tokens").size());

    std::vector<gguf::KeyValue> meta;
    const std::string p = std::string(arch.name) + ".";
    auto put = [&](std::string key, gguf::Value v) { meta.push_back({std::move(key), std::move(v)}); };
    auto u32 = [](int64_t v) { return gguf::Value(uint32_t(v)); };
    put("general.architecture", gguf::Value::string(arch.name));
    put("general.name", gguf::Value::string("synthetic " + std::string(arch.name) + " " + std::to_string(s.n_embd) +
                                            "x" + std::to_string(s.n_layers)));
    put(p + "context_length", u32(s.context));
    put(p + "embedding_length", u32(s.n_embd));
    put(p + "block_count", u32(s.n_layers));
    put(p + "feed_forward_length", u32(s.n_ff));
    put(p + "rope.dimension_count", u32(hd));
    put(p + "attention.head_count", u32(s.n_heads));
    put(p + "attention.head_count_kv", u32(s.n_kv_heads));
    put(p + "attention.key_length", u32(hd));
    put(p + "attention.value_length", u32(hd));
    put(p + "attention.layer_norm_rms_epsilon", gguf::Value(s.rms_epsilon));
    put(p + "rope.freq_base", gguf::Value(s.rope_base));
    if (s.sliding_window > 0) {
        put(p + "attention.sliding_window", u32(s.sliding_window));
        put(p + "rope.freq_base_swa", gguf::Value(s.rope_base_local));
    }
    for (const gguf::KeyValue& kv : vocab_file->metadata())
        if (kv.key.compare(0, 10, "tokenizer.") == 0) meta.push_back(kv);

    std::vector<gguf::TensorToWrite> tensors;
    SynthResult result;
    result.vocab = n_vocab;
    uint64_t tensor_seed = o.seed * 1000003ull;
    // As llama-quantize: a row that fits no block of the type takes its fallback.
    auto typed = [&](quant::TypeId wanted, int64_t cols) { return compress::fallback_type(wanted, cols); };
    auto matrix = [&](std::string name, int64_t cols, int64_t rows, quant::TypeId type_id) {
        gguf::TensorToWrite t;
        t.name = std::move(name);
        t.dims = {cols, rows};
        t.type = typed(type_id, cols);
        const uint64_t seed = ++tensor_seed;
        const float stddev = 0.02f;
        const quant::TypeInfo* info = &quant::type_info(t.type);
        t.produce = [=](std::vector<uint8_t>& out) {
            const size_t row_bytes = info->row_bytes(cols);
            out.resize(row_bytes * size_t(rows));
            tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows, 16), [&](const tbb::blocked_range<int64_t>& r) {
                std::vector<float> row(static_cast<size_t>(cols));
                for (int64_t i = r.begin(); i < r.end(); ++i) {
                    fill_row(row.data(), cols, seed * 0x100000001B3ull + uint64_t(i), stddev);
                    info->quantize_row(row.data(), out.data() + size_t(i) * row_bytes, cols, nullptr);
                }
            });
        };
        result.parameters += cols * rows;
        tensors.push_back(std::move(t));
    };
    // A 1-D F32 tensor: `center` plus noise of `spread` (norm weights, biases, rope factors).
    auto vector = [&](std::string name, int64_t n, float center, float spread) {
        gguf::TensorToWrite t;
        t.name = std::move(name);
        t.dims = {n};
        t.type = quant::TypeId::F32;
        const uint64_t seed = ++tensor_seed;
        t.produce = [=](std::vector<uint8_t>& out) {
            std::vector<float> values(static_cast<size_t>(n));
            fill_row(values.data(), n, seed, spread);
            for (float& v : values) v += center;
            out.resize(size_t(n) * 4);
            std::memcpy(out.data(), values.data(), out.size());
        };
        result.parameters += n;
        tensors.push_back(std::move(t));
    };
    const quant::TypeId head_type =
        o.uniform_output ? o.type : compress::fallback_type(compress::output_type_for(o.type), s.n_embd);
    // llama-quantize treats a tied embedding table as the output head.
    matrix(model::tensor_name(TensorRole::TokenEmbedding), s.n_embd, n_vocab, s.tied_output ? head_type : o.type);
    if (s.rope_freqs) vector(model::tensor_name(TensorRole::RopeFrequencies), hd / 2, 1.0f, 0.0f);
    for (int64_t l = 0; l < s.n_layers; ++l) {
        auto name = [l](TensorRole role) { return model::tensor_name(role, l); };
        vector(name(TensorRole::AttnNorm), s.n_embd, 1.0f, 0.0f);
        if (s.family == model::Family::Phi3) {
            matrix(name(TensorRole::AttnQkv), s.n_embd, q_dim + 2 * kv_dim, o.type);
        } else {
            matrix(name(TensorRole::AttnQ), s.n_embd, q_dim, o.type);
            matrix(name(TensorRole::AttnK), s.n_embd, kv_dim, o.type);
            matrix(name(TensorRole::AttnV), s.n_embd, kv_dim, o.type);
        }
        if (s.family == model::Family::Qwen2) {
            vector(name(TensorRole::AttnQBias), q_dim, 0.0f, 0.02f);
            vector(name(TensorRole::AttnKBias), kv_dim, 0.0f, 0.02f);
            vector(name(TensorRole::AttnVBias), kv_dim, 0.0f, 0.02f);
        }
        if (arch.qk_norm) {
            vector(name(TensorRole::AttnQNorm), hd, 1.0f, 0.0f);
            vector(name(TensorRole::AttnKNorm), hd, 1.0f, 0.0f);
        }
        matrix(name(TensorRole::AttnOutput), q_dim, s.n_embd, o.type);
        if (arch.post_norms) vector(name(TensorRole::AttnPostNorm), s.n_embd, 1.0f, 0.0f);
        vector(name(TensorRole::FfnNorm), s.n_embd, 1.0f, 0.0f);
        if (arch.fused_gate_up) {
            matrix(name(TensorRole::FfnUp), s.n_embd, 2 * s.n_ff, o.type);
        } else {
            matrix(name(TensorRole::FfnGate), s.n_embd, s.n_ff, o.type);
            matrix(name(TensorRole::FfnUp), s.n_embd, s.n_ff, o.type);
        }
        matrix(name(TensorRole::FfnDown), s.n_ff, s.n_embd, o.type);
        if (arch.post_norms) vector(name(TensorRole::FfnPostNorm), s.n_embd, 1.0f, 0.0f);
    }
    vector(model::tensor_name(TensorRole::OutputNorm), s.n_embd, 1.0f, 0.0f);
    // As llama-quantize does: the output head keeps more bits (Q6_K) under 2- to 5-bit types.
    if (!s.tied_output) matrix(model::tensor_name(TensorRole::Output), s.n_embd, n_vocab, head_type);

    gguf::WriteOptions wo;
    wo.refuse_overwrite_of = o.vocab_path;
    wo.progress = o.progress;
    result.bytes = gguf::write_gguf(o.output_path, meta, tensors, wo);
    return result;
}

}  // namespace dilmodeli::producers
