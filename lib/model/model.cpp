#include "model/model.h"

#include <algorithm>
#include <cmath>

#include <tbb/parallel_for.h>

#include "common/cpu_info.h"
#include "common/error.h"
#include "kernels/activation.h"
#include "model/attention.h"
#include "model/ops.h"
#include "model/tensor_names.h"
#include "model/weight_binding.h"

namespace dilmodeli::model {

KvCacheType parse_kv_cache_type(const std::string& name) {
    if (name == "f32" || name == "F32") return KvCacheType::F32;
    if (name == "f16" || name == "F16") return KvCacheType::F16;
    throw usage_error("--kv-type '" + name + "' is not f32 or f16");
}

const char* kv_cache_type_name(KvCacheType type) { return type == KvCacheType::F16 ? "f16" : "f32"; }

namespace {

// A block's weights, named as llama.cpp names them, with the optional parts the file has.
Layer load_layer(const gguf::GgufFile& f, const ModelConfig& c, int64_t l, const ExpertLayerLoader& experts,
                 std::vector<std::vector<float>>& vectors) {
    const Architecture& a = *c.arch;
    auto name = [l](TensorRole role) { return tensor_name(role, l); };
    auto vector = [&](TensorRole role, int64_t n) { return bind_vector(f, name(role), n, vectors); };
    auto optional_vector = [&](TensorRole role, int64_t n) { return bind_optional_vector(f, name(role), n, vectors); };
    const int64_t q = c.q_dim(), kv = c.kv_dim();
    Layer L;
    L.attn_norm = vector(TensorRole::AttnNorm, c.n_embd);
    if (f.find_tensor(name(TensorRole::AttnQkv))) {
        const kernels::WeightMatrix qkv = bind_matrix(f, name(TensorRole::AttnQkv), c.n_embd, q + 2 * kv);
        L.wq = row_view(qkv, 0, q);
        L.wk = row_view(qkv, q, kv);
        L.wv = row_view(qkv, q + kv, kv);
        if (const float* b = optional_vector(TensorRole::AttnQkvBias, q + 2 * kv)) {
            L.bq = b;
            L.bk = b + q;
            L.bv = b + q + kv;
        }
    } else {
        L.wq = bind_matrix(f, name(TensorRole::AttnQ), c.n_embd, q);
        L.wk = bind_matrix(f, name(TensorRole::AttnK), c.n_embd, kv);
        L.wv = bind_matrix(f, name(TensorRole::AttnV), c.n_embd, kv);
    }
    if (!L.bq) {
        L.bq = optional_vector(TensorRole::AttnQBias, q);
        L.bk = optional_vector(TensorRole::AttnKBias, kv);
        L.bv = optional_vector(TensorRole::AttnVBias, kv);
    }
    if (a.qk_norm) {
        L.q_norm = vector(TensorRole::AttnQNorm, c.head_dim);
        L.k_norm = vector(TensorRole::AttnKNorm, c.head_dim);
    }
    L.wo = bind_matrix(f, name(TensorRole::AttnOutput), q, c.n_embd);
    L.bo = optional_vector(TensorRole::AttnOutputBias, c.n_embd);
    L.ffn_norm = vector(TensorRole::FfnNorm, c.n_embd);
    if (a.post_norms) {
        L.attn_post_norm = vector(TensorRole::AttnPostNorm, c.n_embd);
        L.ffn_post_norm = vector(TensorRole::FfnPostNorm, c.n_embd);
    }
    L.ffn = load_feed_forward(f, a, l, c.n_embd, c.n_ff[size_t(l)], experts);
    L.slides = c.layer_slides[size_t(l)];
    return L;
}

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& path, const LoadOptions& options) {
    const Residency residency = options.residency;
    std::unique_ptr<Model> m(new Model());
    m->file_ = gguf::GgufFile::open(path);
    gguf::GgufFile& f = *m->file_;
    m->config_ = ModelConfig::from_gguf(f);
    const ModelConfig& c = m->config_;

    const std::string embedding_name = tensor_name(TensorRole::TokenEmbedding);
    const bool untied = !c.arch->always_tied_output && f.find_tensor(tensor_name(TensorRole::Output)) != nullptr;
    // Before any tensor is bound: the copy moves them. An untied embedding table is only read a
    // row per token, with read_bytes, so the copy leaves it out of memory.
    const std::vector<std::string> read_by_row = untied ? std::vector<std::string>{embedding_name}
                                                        : std::vector<std::string>{};
    if (resolve_residency(residency, f.file_size()) == Residency::Copied) {
        f.copy_into_memory(read_by_row);
        // Otherwise each token whose row has left the page cache waits on the disk: measured
        // 0.1-0.4 ms a token on the 110M shape, 3-8% of generation on one thread.
        if (untied) f.read_ahead(read_by_row);
    } else {
        f.read_ahead();  // as llama.cpp does for its mapping: the first tokens do not fault page by page
    }
    m->read_embedding_rows_ = untied;
    m->token_embd_ = bind_matrix(f, embedding_name, c.n_embd, c.n_vocab);
    m->output_norm_ = bind_vector(f, tensor_name(TensorRole::OutputNorm), c.n_embd, m->converted_vectors_);
    m->output_ = untied ? bind_matrix(f, tensor_name(TensorRole::Output), c.n_embd, c.n_vocab) : m->token_embd_;
    const int64_t pairs = c.n_rot / 2;
    m->rope_freqs_ = bind_optional_vector(f, tensor_name(TensorRole::RopeFrequencies), pairs, m->converted_vectors_);
    m->rope_short_ = bind_optional_vector(f, "rope_factors_short.weight", pairs, m->converted_vectors_);
    m->rope_long_ = bind_optional_vector(f, "rope_factors_long.weight", pairs, m->converted_vectors_);
    m->rope_original_context_ =
        f.get_int_or(c.architecture + ".rope.scaling.original_context_length", c.context_length);
    m->layers_.reserve(size_t(c.n_layers));
    for (int64_t l = 0; l < c.n_layers; ++l) m->layers_.push_back(load_layer(f, c, l, options.expert_layers, m->converted_vectors_));
    if (options.interleave) m->interleave_matrices();
    return m;
}

void Model::interleave_matrices() {
    // Views of one fused tensor (attn_qkv, ffn_up with the gate) are disjoint rows, each
    // interleaved on its own. A tied output head is the embedding table, read a row at a time.
    std::vector<kernels::WeightMatrix*> matrices;
    for (Layer& L : layers_) {
        for (kernels::WeightMatrix* w : {&L.wq, &L.wk, &L.wv, &L.wo}) matrices.push_back(w);
        for (kernels::WeightMatrix* w : L.ffn->dense_matrices()) matrices.push_back(w);
    }
    if (output_.data != token_embd_.data) matrices.push_back(&output_);
    std::vector<kernels::WeightMatrix*> chosen;
    std::vector<gguf::GgufFile::Span> spans;
    for (kernels::WeightMatrix* w : matrices) {
        if (!kernels::prefers_interleaved(*w)) continue;
        chosen.push_back(w);
        spans.push_back({w->data, size_t(w->rows) * w->row_bytes});
    }
    interleaved_matrices_ = int64_t(chosen.size());
    if (chosen.empty()) return;
    const uint8_t* start = file_->bytes();
    file_->rewrite(spans, [&](uint8_t* bytes) {
        tbb::parallel_for(size_t(0), chosen.size(), [&](size_t i) {
            kernels::WeightMatrix& w = *chosen[i];
            kernels::interleave_rows(w, bytes + (w.data - start));
        });
    });
}

void Model::embed(int32_t token, float* out, std::vector<uint8_t>& row) const {
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

uint64_t Model::weight_bytes_per_token() const {
    auto bytes = [](const kernels::WeightMatrix& w) { return uint64_t(w.rows) * w.row_bytes; };
    uint64_t total = bytes(output_) + uint64_t(token_embd_.row_bytes);
    for (const Layer& L : layers_)
        total += bytes(L.wq) + bytes(L.wk) + bytes(L.wv) + bytes(L.wo) + L.ffn->weight_bytes_per_token();
    return total;
}

Session::Session(Model& model, const SessionOptions& options)
    : model_(model),
      config_(model.config()),
      context_(options.context > 0 ? options.context : std::min(model.config().context_length, kDefaultContext)),
      threads_(options.threads > 0 ? options.threads : physical_core_count()),
      max_batch_(options.max_batch > 0 ? options.max_batch : 512),
      arena_(threads_) {
    if (context_ > (int64_t(1) << 22)) throw usage_error("--ctx " + std::to_string(context_) + " is too large");
    if (options.sequences < 1 || options.sequences > 256)
        throw usage_error("--parallel " + std::to_string(options.sequences) + " is not between 1 and 256");
    n_past_.assign(size_t(options.sequences), 0);
    const size_t cache = size_t(config_.n_layers) * size_t(options.sequences) * size_t(context_) *
                         size_t(config_.kv_dim());
    kv_type_ = options.kv_type;
    output_ = options.output;
    rope_factors_ = model.rope_freqs_ ? model.rope_freqs_
                    : context_ > model.rope_original_context_ ? model.rope_long_ : model.rope_short_;
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

void Session::truncate(int sequence, int64_t keep) {
    int64_t& past = n_past_.at(size_t(sequence));
    past = std::clamp<int64_t>(keep, 0, past);
}

size_t Session::cache_offset(int64_t layer, int sequence) const {
    return (size_t(layer) * n_past_.size() + size_t(sequence)) * size_t(config_.n_kv_heads) * size_t(context_) *
           size_t(config_.head_dim);
}

void Session::store_kv(int64_t layer, int sequence, int64_t pos, const float* k, const float* v) {
    const int64_t hd = config_.head_dim;
    const size_t base = cache_offset(layer, sequence);
    for (int64_t h = 0; h < config_.n_kv_heads; ++h) {
        const size_t at = base + (size_t(h) * size_t(context_) + size_t(pos)) * size_t(hd);
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
    const size_t d = size_t(config_.n_embd), q = size_t(config_.q_dim()), kv = size_t(config_.kv_dim());
    if (x_.size() >= rows * d) return;
    x_.resize(rows * d);
    xb_.resize(rows * d);
    q_.resize(rows * q);
    att_.resize(rows * q);
    tmp_.resize(rows * d);
    k_.resize(rows * kv);
    v_.resize(rows * kv);
    positions_.resize(rows);
    const size_t angles = rows * size_t(config_.n_rot / 2);
    for (std::vector<float>* table : {&rope_cos_, &rope_sin_, &rope_cos_local_, &rope_sin_local_})
        table->resize(angles);
}

void Session::decode(const int32_t* tokens, int64_t n, bool all_logits) {
    if (n <= 0) throw usage_error("nothing to decode");
    if (!all_logits) {
        decode({SequenceTokens{0, tokens, n, true}});
        return;
    }
    check_fits(0, n);
    std::vector<int32_t> flat(tokens, tokens + n);
    decode_entries(flat, std::vector<int>(size_t(n), 0), std::vector<uint8_t>(size_t(n), 1));
}

void Session::decode(const std::vector<SequenceTokens>& batch) {
    std::vector<int32_t> tokens;
    std::vector<int> sequences;
    std::vector<uint8_t> wants_logits;
    std::vector<uint8_t> seen(n_past_.size(), 0);
    for (const SequenceTokens& part : batch) {
        if (part.sequence < 0 || size_t(part.sequence) >= n_past_.size())
            throw usage_error("sequence " + std::to_string(part.sequence) + " is not one of the session's " +
                              std::to_string(n_past_.size()));
        if (seen[size_t(part.sequence)]++) throw usage_error("sequence " + std::to_string(part.sequence) + " appears twice in a batch");
        if (part.n <= 0) throw usage_error("nothing to decode for sequence " + std::to_string(part.sequence));
        check_fits(part.sequence, part.n);
        tokens.insert(tokens.end(), part.tokens, part.tokens + part.n);
        sequences.insert(sequences.end(), size_t(part.n), part.sequence);
        wants_logits.insert(wants_logits.end(), size_t(part.n), 0);
        wants_logits.back() = part.logits;
    }
    if (tokens.empty()) throw usage_error("nothing to decode");
    decode_entries(tokens, sequences, wants_logits);
}

void Session::check_fits(int sequence, int64_t n) const {
    const int64_t past = n_past_[size_t(sequence)];
    if (past + n > context_)
        throw usage_error("context full: " + std::to_string(past) + " tokens cached + " + std::to_string(n) +
                          " new exceed --ctx " + std::to_string(context_));
}

void Session::decode_entries(const std::vector<int32_t>& tokens, const std::vector<int>& sequences,
                             const std::vector<uint8_t>& wants_logits) {
    for (int32_t token : tokens)
        if (token < 0 || token >= config_.n_vocab)
            throw usage_error("token id " + std::to_string(token) + " is outside the vocabulary of " +
                              std::to_string(config_.n_vocab));
    logits_.clear();
    hidden_.clear();
    const int64_t n = int64_t(tokens.size());
    arena_.execute([&] {
        std::vector<Run> runs;
        std::vector<int64_t> logit_rows;
        for (int64_t start = 0; start < n; start += max_batch_) {
            const int64_t count = std::min(max_batch_, n - start);
            runs.clear();
            logit_rows.clear();
            for (int64_t t = start; t < start + count; ++t) {
                const int sequence = sequences[size_t(t)];
                if (runs.empty() || runs.back().sequence != sequence)
                    runs.push_back({sequence, t - start, 0, n_past_[size_t(sequence)]});
                ++runs.back().count;
                ++n_past_[size_t(sequence)];
                if (wants_logits[size_t(t)]) logit_rows.push_back(t - start);
            }
            forward_batch(tokens.data() + start, count, runs, logit_rows);
        }
    });
}

void Session::forward_batch(const int32_t* tokens, int64_t n, const std::vector<Run>& runs,
                            const std::vector<int64_t>& logit_rows) {
    const ModelConfig& c = config_;
    const int64_t d = c.n_embd, qd = c.q_dim(), kv = c.kv_dim(), hd = c.head_dim;
    ensure_scratch(n);
    for (const Run& run : runs)
        for (int64_t t = 0; t < run.count; ++t) positions_[size_t(run.first + t)] = run.position + t;
    timed_op(hooks_, "embedding", -1, n, [&] {
        for (int64_t t = 0; t < n; ++t) model_.embed(tokens[t], &x_[size_t(t * d)], embedding_row_);
        if (c.embedding_scale != 1.0f)
            for (int64_t i = 0; i < n * d; ++i) x_[size_t(i)] *= c.embedding_scale;
    });
    const int64_t pairs = c.n_rot / 2;
    const bool any_slides = std::find(c.layer_slides.begin(), c.layer_slides.end(), true) != c.layer_slides.end();
    timed_op(hooks_, "rope", -1, n, [&] {
        RopeParams rope{c.n_rot, c.rope_freq_base, c.rope_freq_scale, c.rope_attn_factor, rope_factors_};
        for (int64_t t = 0; t < n; ++t)
            rope_angles(positions_[size_t(t)], rope, &rope_cos_[size_t(t * pairs)], &rope_sin_[size_t(t * pairs)]);
        if (!any_slides) return;
        rope.freq_base = c.rope_freq_base_swa;
        for (int64_t t = 0; t < n; ++t)
            rope_angles(positions_[size_t(t)], rope, &rope_cos_local_[size_t(t * pairs)], &rope_sin_local_[size_t(t * pairs)]);
    });
    const bool neox = c.arch->rope == RopeMode::NeoxHalves;

    for (int64_t l = 0; l < c.n_layers; ++l) {
        const Layer& L = model_.layers_[size_t(l)];
        timed_op(hooks_, "attn_norm", l, n, [&] {
            for (int64_t t = 0; t < n; ++t)
                rms_norm(&x_[size_t(t * d)], L.attn_norm, &xb_[size_t(t * d)], d, c.rms_epsilon);
        });
        observed_matmuls(hooks_, {{L.wq, q_.data()}, {L.wk, k_.data()}, {L.wv, v_.data()}}, xb_.data(), n);
        if (L.bq)
            timed_op(hooks_, "bias", l, n, [&] {
                for (int64_t t = 0; t < n; ++t) {
                    add_in_place(&q_[size_t(t * qd)], L.bq, qd);
                    add_in_place(&k_[size_t(t * kv)], L.bk, kv);
                    add_in_place(&v_[size_t(t * kv)], L.bv, kv);
                }
            });
        if (L.q_norm)
            timed_op(hooks_, "qk_norm", l, n, [&] {
                for (int64_t h = 0; h < n * c.n_heads; ++h)
                    rms_norm(&q_[size_t(h * hd)], L.q_norm, &q_[size_t(h * hd)], hd, c.rms_epsilon);
                for (int64_t h = 0; h < n * c.n_kv_heads; ++h)
                    rms_norm(&k_[size_t(h * hd)], L.k_norm, &k_[size_t(h * hd)], hd, c.rms_epsilon);
            });
        timed_op(hooks_, "rope", l, n, [&] {
            const std::vector<float>& cos_table = L.slides ? rope_cos_local_ : rope_cos_;
            const std::vector<float>& sin_table = L.slides ? rope_sin_local_ : rope_sin_;
            for (const Run& run : runs)
                for (int64_t t = run.first; t < run.first + run.count; ++t) {
                    const float* cos = &cos_table[size_t(t * pairs)];
                    const float* sin = &sin_table[size_t(t * pairs)];
                    float* q = &q_[size_t(t * qd)];
                    rope_rotate(q, c.n_heads, hd, pairs, cos, sin, neox);
                    rope_rotate(&k_[size_t(t * kv)], c.n_kv_heads, hd, pairs, cos, sin, neox);
                    if (c.arch->query_prescaled)
                        for (int64_t i = 0; i < qd; ++i) q[i] *= c.attention_scale;
                    store_kv(l, run.sequence, positions_[size_t(t)], &k_[size_t(t * kv)], &v_[size_t(t * kv)]);
                }
            });
        timed_op(hooks_, "attention", l, n, [&] {
            for (const Run& run : runs) attention(l, run);
        });
        observed_matmul(hooks_, L.wo, att_.data(), n, tmp_.data());
        finish_residual(l, n, L.bo, L.attn_post_norm);

        timed_op(hooks_, "ffn_norm", l, n, [&] {
            for (int64_t t = 0; t < n; ++t)
                rms_norm(&x_[size_t(t * d)], L.ffn_norm, &xb_[size_t(t * d)], d, c.rms_epsilon);
        });
        L.ffn->forward(xb_.data(), n, tmp_.data(), hooks_, l);
        finish_residual(l, n, nullptr, L.ffn_post_norm);
    }

    if (logit_rows.empty()) return;
    const int64_t rows = int64_t(logit_rows.size());
    float* normed = xb_.data();
    if (output_ == DecodeOutput::Hidden) {
        hidden_.resize(hidden_.size() + size_t(rows * d));
        normed = &hidden_[hidden_.size() - size_t(rows * d)];
    }
    timed_op(hooks_, "output_norm", -1, rows, [&] {
        for (int64_t i = 0; i < rows; ++i)
            rms_norm(&x_[size_t(logit_rows[size_t(i)] * d)], model_.output_norm_, &normed[size_t(i * d)], d,
                     c.rms_epsilon);
    });
    if (output_ == DecodeOutput::Hidden) return;
    const size_t offset = logits_.size();
    logits_.resize(offset + size_t(rows * c.n_vocab));
    observed_matmul(hooks_, model_.output_, xb_.data(), rows, &logits_[offset]);
    if (c.final_softcap > 0.0f)
        timed_op(hooks_, "softcap", -1, rows, [&] {
            soft_cap(&logits_[offset], rows * c.n_vocab, c.final_softcap);
        });
}

void Session::finish_residual(int64_t layer, int64_t n, const float* bias, const float* post_norm) {
    const int64_t d = config_.n_embd;
    timed_op(hooks_, "residual", layer, n, [&] {
        for (int64_t t = 0; t < n; ++t) {
            float* row = &tmp_[size_t(t * d)];
            if (bias) add_in_place(row, bias, d);
            if (post_norm) rms_norm(row, post_norm, row, d, config_.rms_epsilon);
        }
        add_in_place(x_.data(), tmp_.data(), n * d);
    });
}

void Session::attention(int64_t layer, const Run& run) {
    const size_t at = cache_offset(layer, run.sequence);
    const ModelConfig& c = config_;
    const size_t row = size_t(run.first * c.q_dim());
    AttentionArgs args{&q_[row],   c.q_dim(), run.count,  run.position, c.n_heads, c.n_kv_heads,
                       c.head_dim, context_,  &att_[row], threads_ > 1};
    args.scale = c.arch->query_prescaled ? 1.0f : c.attention_scale;
    args.softcap = c.attn_softcap;
    if (model_.layers_[size_t(layer)].slides) args.window = c.sliding_window;
    if (kv_type_ == KvCacheType::F16)
        attend(args, &k_cache16_[at], &v_cache16_[at]);
    else
        attend(args, &k_cache_[at], &v_cache_[at]);
}

}  // namespace dilmodeli::model
