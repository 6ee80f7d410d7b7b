#include "model/synthetic_model.h"

#include <cmath>
#include <cstring>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "compress/tensor_roles.h"
#include "gguf/gguf_writer.h"

namespace dilmodeli::model {
namespace {

// splitmix64: a tiny, fast generator whose stream depends only on its seed, so each row can be
// produced independently (and in parallel) with identical results.
uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

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

SyntheticShape parse_shape(const std::string& spec) {
    if (spec == "110M") return {768, 12, 12, 12, 2048, 1024};
    if (spec == "1B") return {2048, 22, 32, 4, 5632, 2048};
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
                s.n_heads = s.n_kv_heads = s.n_embd / 64;
                s.n_ff = (s.n_embd * 8 / 3 + 255) / 256 * 256;
                return s;
            }
        } catch (const std::exception&) {
        }
    }
    throw usage_error("--shape '" + spec + "' is not 110M, 1B or DIMxLAYERS (DIM a multiple of 64)");
}

SynthResult write_synthetic_model(const SynthOptions& o) {
    const SyntheticShape& s = o.shape;
    const quant::TypeInfo& type = quant::type_info(o.type);
    if (!type.quantize_row) throw usage_error(std::string("--type ") + type.name + " cannot be produced");
    if (s.n_embd % type.block_size != 0 || s.n_ff % type.block_size != 0)
        throw usage_error(std::string("--type ") + type.name + ": rows of this shape are not a multiple of its block");

    auto vocab_file = gguf::GgufFile::open(o.vocab_path);
    const auto tokens = vocab_file->get_string_array("tokenizer.ggml.tokens");
    const int64_t n_vocab = int64_t(tokens.size());

    std::vector<gguf::KeyValue> meta;
    auto put = [&](std::string key, gguf::Value v) { meta.push_back({std::move(key), std::move(v)}); };
    put("general.architecture", gguf::Value::string("llama"));
    put("general.name", gguf::Value::string("synthetic " + std::to_string(s.n_embd) + "x" + std::to_string(s.n_layers)));
    put("llama.context_length", gguf::Value(uint32_t(s.context)));
    put("llama.embedding_length", gguf::Value(uint32_t(s.n_embd)));
    put("llama.block_count", gguf::Value(uint32_t(s.n_layers)));
    put("llama.feed_forward_length", gguf::Value(uint32_t(s.n_ff)));
    put("llama.rope.dimension_count", gguf::Value(uint32_t(s.n_embd / s.n_heads)));
    put("llama.attention.head_count", gguf::Value(uint32_t(s.n_heads)));
    put("llama.attention.head_count_kv", gguf::Value(uint32_t(s.n_kv_heads)));
    put("llama.attention.layer_norm_rms_epsilon", gguf::Value(1e-5f));
    put("llama.rope.freq_base", gguf::Value(10000.0f));
    for (const gguf::KeyValue& kv : vocab_file->metadata())
        if (kv.key.compare(0, 10, "tokenizer.") == 0) meta.push_back(kv);

    const int64_t kv_dim = s.n_embd / s.n_heads * s.n_kv_heads;
    std::vector<gguf::TensorToWrite> tensors;
    SynthResult result;
    result.vocab = n_vocab;
    uint64_t tensor_seed = o.seed * 1000003ull;
    auto matrix = [&](std::string name, int64_t cols, int64_t rows, quant::TypeId type_id) {
        gguf::TensorToWrite t;
        t.name = std::move(name);
        t.dims = {cols, rows};
        t.type = type_id;
        const uint64_t seed = ++tensor_seed;
        const float stddev = 0.02f;
        const quant::TypeInfo* info = &quant::type_info(type_id);
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
    auto norm = [&](std::string name, int64_t n) {
        gguf::TensorToWrite t;
        t.name = std::move(name);
        t.dims = {n};
        t.type = quant::TypeId::F32;
        t.produce = [n](std::vector<uint8_t>& out) {
            std::vector<float> ones(static_cast<size_t>(n), 1.0f);
            out.resize(size_t(n) * 4);
            std::memcpy(out.data(), ones.data(), out.size());
        };
        result.parameters += n;
        tensors.push_back(std::move(t));
    };
    matrix("token_embd.weight", s.n_embd, n_vocab, o.type);
    for (int64_t l = 0; l < s.n_layers; ++l) {
        const std::string blk = "blk." + std::to_string(l) + ".";
        norm(blk + "attn_norm.weight", s.n_embd);
        matrix(blk + "attn_q.weight", s.n_embd, s.n_embd, o.type);
        matrix(blk + "attn_k.weight", s.n_embd, kv_dim, o.type);
        matrix(blk + "attn_v.weight", s.n_embd, kv_dim, o.type);
        matrix(blk + "attn_output.weight", s.n_embd, s.n_embd, o.type);
        norm(blk + "ffn_norm.weight", s.n_embd);
        matrix(blk + "ffn_gate.weight", s.n_embd, s.n_ff, o.type);
        matrix(blk + "ffn_up.weight", s.n_embd, s.n_ff, o.type);
        matrix(blk + "ffn_down.weight", s.n_ff, s.n_embd, o.type);
    }
    norm("output_norm.weight", s.n_embd);
    // As llama-quantize does: the output head keeps more bits (Q6_K) under 2- to 5-bit types.
    matrix("output.weight", s.n_embd, n_vocab,
           o.uniform_output ? o.type : compress::fallback_type(compress::output_type_for(o.type), s.n_embd));

    gguf::WriteOptions wo;
    wo.refuse_overwrite_of = o.vocab_path;
    wo.progress = o.progress;
    result.bytes = gguf::write_gguf(o.output_path, meta, tensors, wo);
    return result;
}

}  // namespace dilmodeli::model
