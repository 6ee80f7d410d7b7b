#include "model/llama_model.h"

#include <algorithm>
#include <cmath>

#include "common/cpu_info.h"
#include "common/error.h"
#include "kernels/activation.h"
#include "model/attention.h"
#include "model/ops.h"
#include "model/weight_binding.h"

namespace dilmodeli::model {

KvCacheType parse_kv_cache_type(const std::string& name) {
    if (name == "f32" || name == "F32") return KvCacheType::F32;
    if (name == "f16" || name == "F16") return KvCacheType::F16;
    throw usage_error("--kv-type '" + name + "' is not f32 or f16");
}

const char* kv_cache_type_name(KvCacheType type) { return type == KvCacheType::F16 ? "f16" : "f32"; }

std::unique_ptr<LlamaModel> LlamaModel::load(const std::string& path, Residency residency) {
    std::unique_ptr<LlamaModel> m(new LlamaModel());
    m->file_ = gguf::GgufFile::open(path);
    gguf::GgufFile& f = *m->file_;
    m->config_ = LlamaConfig::from_gguf(f);
    const LlamaConfig& c = m->config_;

    const bool untied = f.find_tensor("output.weight") != nullptr;
    // Before any tensor is bound: the copy moves them. An untied embedding table is only read a
    // row per token, with read_bytes, so the copy leaves it out of memory.
    const std::vector<std::string> read_by_row =
        untied ? std::vector<std::string>{"token_embd.weight"} : std::vector<std::string>{};
    if (resolve_residency(residency, f.file_size()) == Residency::Copied) {
        f.copy_into_memory(read_by_row);
        // Otherwise each token whose row has left the page cache waits on the disk: measured
        // 0.1-0.4 ms a token on the 110M shape, 3-8% of generation on one thread.
        if (untied) f.read_ahead(read_by_row);
    } else {
        f.read_ahead();  // as llama.cpp does for its mapping: the first tokens do not fault page by page
    }
    m->read_embedding_rows_ = untied;
    m->token_embd_ = bind_matrix(f, "token_embd.weight", c.n_embd, c.n_vocab);
    m->output_norm_ = bind_vector(f, "output_norm.weight", c.n_embd, m->converted_vectors_);
    m->output_ = untied ? bind_matrix(f, "output.weight", c.n_embd, c.n_vocab) : m->token_embd_;
    m->layers_.resize(size_t(c.n_layers));
    for (int64_t l = 0; l < c.n_layers; ++l) {
        const std::string blk = "blk." + std::to_string(l) + ".";
        LlamaLayer& L = m->layers_[size_t(l)];
        L.attn_norm = bind_vector(f, blk + "attn_norm.weight", c.n_embd, m->converted_vectors_);
        L.wq = bind_matrix(f, blk + "attn_q.weight", c.n_embd, c.n_embd);
        L.wk = bind_matrix(f, blk + "attn_k.weight", c.n_embd, c.kv_dim());
        L.wv = bind_matrix(f, blk + "attn_v.weight", c.n_embd, c.kv_dim());
        L.wo = bind_matrix(f, blk + "attn_output.weight", c.n_embd, c.n_embd);
        L.ffn_norm = bind_vector(f, blk + "ffn_norm.weight", c.n_embd, m->converted_vectors_);
        L.ffn = load_feed_forward(f, l, c.n_embd, c.n_ff[size_t(l)]);
    }
    return m;
}

void LlamaModel::embed(int32_t token, float* out, std::vector<uint8_t>& row) const {
    if (!read_embedding_rows_) {
        kernels::dequantize_row(token_embd_, token, out);
        return;
    }
    row.resize(token_embd_.row_bytes);
    file_->read_bytes(token_embd_.row(token), token_embd_.row_bytes, row.data());
    kernels::WeightMatrix one_row = token_embd_;
    one_row.data = row.data();
    one_row.rows = 1;
    kernels::dequantize_row(one_row, 0, out);
}

uint64_t LlamaModel::weight_bytes_per_token() const {
    auto bytes = [](const kernels::WeightMatrix& w) { return uint64_t(w.rows) * w.row_bytes; };
    uint64_t total = bytes(output_) + uint64_t(token_embd_.row_bytes);
    for (const LlamaLayer& L : layers_)
        total += bytes(L.wq) + bytes(L.wk) + bytes(L.wv) + bytes(L.wo) + L.ffn->weight_bytes_per_token();
    return total;
}

Session::Session(LlamaModel& model, const SessionOptions& options)
    : model_(model),
      config_(model.config()),
      context_(options.context > 0 ? options.context : model.config().context_length),
      threads_(options.threads > 0 ? options.threads : physical_core_count()),
      max_batch_(options.max_batch > 0 ? options.max_batch : 512),
      arena_(threads_) {
    if (context_ > (int64_t(1) << 22)) throw usage_error("--ctx " + std::to_string(context_) + " is too large");
    const size_t cache = size_t(config_.n_layers) * size_t(context_) * size_t(config_.kv_dim());
    kv_type_ = options.kv_type;
    if (kv_type_ == KvCacheType::F16) {
        k_cache16_.assign(cache, 0);
        v_cache16_.assign(cache, 0);
    } else {
        k_cache_.assign(cache, 0.0f);
        v_cache_.assign(cache, 0.0f);
    }
}

uint64_t Session::kv_cache_bytes() const {
    return 2 * (4 * uint64_t(k_cache_.size()) + 2 * uint64_t(k_cache16_.size()));  // K and V
}

void Session::store_kv(int64_t layer, int64_t pos, const float* k, const float* v) {
    const int64_t hd = config_.head_dim;
    for (int64_t h = 0; h < config_.n_kv_heads; ++h) {
        const size_t at = ((size_t(layer) * size_t(config_.n_kv_heads) + size_t(h)) * size_t(context_) + size_t(pos)) *
                          size_t(hd);
        const float* k_head = k + h * hd;
        const float* v_head = v + h * hd;
        if (kv_type_ == KvCacheType::F16) {
            kernels::float_to_half(k_head, &k_cache16_[at], hd);
            kernels::float_to_half(v_head, &v_cache16_[at], hd);
        } else {
            std::copy_n(k_head, hd, &k_cache_[at]);
            std::copy_n(v_head, hd, &v_cache_[at]);
        }
    }
}

void Session::ensure_scratch(int64_t n) {
    const size_t rows = size_t(n);
    const size_t d = size_t(config_.n_embd), kv = size_t(config_.kv_dim());
    if (x_.size() >= rows * d) return;
    x_.resize(rows * d);
    xb_.resize(rows * d);
    q_.resize(rows * d);
    att_.resize(rows * d);
    tmp_.resize(rows * d);
    k_.resize(rows * kv);
    v_.resize(rows * kv);
    rope_cos_.resize(rows * size_t(config_.n_rot / 2));
    rope_sin_.resize(rope_cos_.size());
}

void Session::decode(const int32_t* tokens, int64_t n, bool all_logits) {
    if (n <= 0) throw usage_error("nothing to decode");
    if (n_past_ + n > context_)
        throw usage_error("context full: " + std::to_string(n_past_) + " tokens cached + " + std::to_string(n) +
                          " new exceed --ctx " + std::to_string(context_));
    for (int64_t i = 0; i < n; ++i)
        if (tokens[i] < 0 || tokens[i] >= config_.n_vocab)
            throw usage_error("token id " + std::to_string(tokens[i]) + " is outside the vocabulary of " +
                              std::to_string(config_.n_vocab));
    logits_.clear();
    arena_.execute([&] {
        for (int64_t start = 0; start < n; start += max_batch_) {
            const int64_t count = std::min(max_batch_, n - start);
            const bool last = start + count == n;
            forward_batch(tokens + start, count, all_logits, all_logits || last);
        }
    });
}

void Session::forward_batch(const int32_t* tokens, int64_t n, bool all_logits, bool want_logits) {
    const LlamaConfig& c = config_;
    const int64_t d = c.n_embd, kv = c.kv_dim();
    ensure_scratch(n);
    timed_op(hooks_, "embedding", -1, n, [&] {
        for (int64_t t = 0; t < n; ++t) model_.embed(tokens[t], &x_[size_t(t * d)], embedding_row_);
    });
    const int64_t pairs = c.n_rot / 2;
    timed_op(hooks_, "rope", -1, n, [&] {
        for (int64_t t = 0; t < n; ++t)
            rope_angles(n_past_ + t, c.n_rot, c.rope_freq_base, &rope_cos_[size_t(t * pairs)],
                        &rope_sin_[size_t(t * pairs)]);
    });

    for (int64_t l = 0; l < c.n_layers; ++l) {
        const LlamaLayer& L = model_.layers_[size_t(l)];
        timed_op(hooks_, "attn_norm", l, n, [&] {
            for (int64_t t = 0; t < n; ++t)
                rms_norm(&x_[size_t(t * d)], L.attn_norm, &xb_[size_t(t * d)], d, c.rms_epsilon);
        });
        observed_matmuls(hooks_, {{L.wq, q_.data()}, {L.wk, k_.data()}, {L.wv, v_.data()}}, xb_.data(), n);
        timed_op(hooks_, "rope", l, n, [&] {
            for (int64_t t = 0; t < n; ++t) {
                const float* cos = &rope_cos_[size_t(t * pairs)];
                const float* sin = &rope_sin_[size_t(t * pairs)];
                rope_rotate(&q_[size_t(t * d)], c.n_heads, c.head_dim, pairs, cos, sin);
                rope_rotate(&k_[size_t(t * kv)], c.n_kv_heads, c.head_dim, pairs, cos, sin);
                store_kv(l, n_past_ + t, &k_[size_t(t * kv)], &v_[size_t(t * kv)]);
            }
        });
        timed_op(hooks_, "attention", l, n, [&] { attention(l, n); });
        observed_matmul(hooks_, L.wo, att_.data(), n, tmp_.data());
        timed_op(hooks_, "residual", l, n, [&] { add_in_place(x_.data(), tmp_.data(), n * d); });

        timed_op(hooks_, "ffn_norm", l, n, [&] {
            for (int64_t t = 0; t < n; ++t)
                rms_norm(&x_[size_t(t * d)], L.ffn_norm, &xb_[size_t(t * d)], d, c.rms_epsilon);
        });
        L.ffn->forward(xb_.data(), n, tmp_.data(), hooks_, l);
        timed_op(hooks_, "residual", l, n, [&] { add_in_place(x_.data(), tmp_.data(), n * d); });
    }
    n_past_ += n;

    if (!want_logits) return;
    const int64_t first = all_logits ? 0 : n - 1;
    const int64_t rows = n - first;
    timed_op(hooks_, "output_norm", -1, rows, [&] {
        for (int64_t t = first; t < n; ++t)
            rms_norm(&x_[size_t(t * d)], model_.output_norm_, &xb_[size_t((t - first) * d)], d, c.rms_epsilon);
    });
    const size_t offset = logits_.size();
    logits_.resize(offset + size_t(rows * c.n_vocab));
    observed_matmul(hooks_, model_.output_, xb_.data(), rows, &logits_[offset]);
}

void Session::attention(int64_t layer, int64_t n) {
    const size_t at = size_t(layer) * size_t(context_) * size_t(config_.kv_dim());
    const LlamaConfig& c = config_;
    const AttentionArgs args{q_.data(), c.n_embd, n,       n_past_,     c.n_heads, c.n_kv_heads,
                             c.head_dim, context_, att_.data(), threads_ > 1};
    if (kv_type_ == KvCacheType::F16)
        attend(args, &k_cache16_[at], &v_cache16_[at]);
    else
        attend(args, &k_cache_[at], &v_cache_[at]);
}

}  // namespace dilmodeli::model
