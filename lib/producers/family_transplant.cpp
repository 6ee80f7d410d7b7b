#include "producers/family_transplant.h"

#include <algorithm>
#include <array>
#include <map>
#include <cmath>
#include <deque>
#include <vector>

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "model/matmul_observer.h"
#include "model/model.h"
#include "model/model_config.h"
#include "runtime/sampler.h"
#include "model/tensor_names.h"
#include "producers/splitmix64.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::producers {

using namespace model;  // producers write files of the model layer's shapes and names
namespace {

// Uniform on [-1, 1), for small reproducible perturbations.
float next_uniform(uint64_t& state) {
    return float(splitmix64(state) >> 40) / float(1ull << 24) * 2.0f - 1.0f;
}

class Builder {
public:
    Builder(const gguf::GgufFile& in, uint64_t seed) : in_(in), state_(seed * 0x2545F4914F6CDD1Dull) {}

    std::vector<float> read(const std::string& name) const {
        const gguf::TensorInfo& t = in_.require_tensor(name);
        if (t.type != quant::TypeId::F32)
            throw input_error(in_.path(), "tensor '" + name + "' is " + t.type_info().name + ", expected F32");
        const float* data = reinterpret_cast<const float*>(t.data);
        return std::vector<float>(data, data + t.n_elements());
    }
    void add(std::string name, std::vector<int64_t> dims, std::vector<float> values) {
        storage_.push_back(std::move(values));
        gguf::TensorToWrite t;
        t.name = std::move(name);
        t.dims = std::move(dims);
        t.type = quant::TypeId::F32;
        t.data = storage_.back().data();
        tensors_.push_back(std::move(t));
    }
    void copy(const std::string& name) {
        const gguf::TensorInfo& t = in_.require_tensor(name);
        add(name, t.dims, read(name));
    }
    // center + spread * uniform(-1, 1): a near-neutral parameter the family adds.
    std::vector<float> around(int64_t n, float center, float spread) {
        std::vector<float> v(static_cast<size_t>(n));
        for (float& x : v) x = center + spread * next_uniform(state_);
        return v;
    }
    std::vector<gguf::TensorToWrite>& tensors() { return tensors_; }

private:
    const gguf::GgufFile& in_;
    uint64_t state_;
    std::deque<std::vector<float>> storage_;
    std::vector<gguf::TensorToWrite> tensors_;
};

// Rows of each head reordered so that NeoX rope (pairs i, i + d/2) rotates what llama's rope
// (pairs 2i, 2i + 1) rotated: row 2i goes to i, row 2i + 1 to i + d/2. Q and K are permuted
// alike, so their products are unchanged.
std::vector<float> neox_rows(const std::vector<float>& w, int64_t cols, int64_t heads, int64_t head_dim) {
    std::vector<float> out(w.size());
    for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < head_dim / 2; ++i)
            for (int64_t part = 0; part < 2; ++part) {
                const int64_t from = h * head_dim + 2 * i + part, to = h * head_dim + i + part * head_dim / 2;
                std::copy_n(&w[size_t(from * cols)], cols, &out[size_t(to * cols)]);
            }
    return out;
}

std::vector<float> scaled(std::vector<float> v, float factor) {
    for (float& x : v) x *= factor;
    return v;
}

std::vector<float> concatenated(std::vector<float> a, const std::vector<float>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// Root mean square of each layer's Q and K projections and of its attention and FFN outputs,
// measured while the llama model reads text of its own (greedy from BOS). The norms a family adds
// get these as weights, so that they hand on what the llama model computed at its usual scale.
struct OutputScales {
    enum Kind { Q, K, Attention, Ffn, kKinds };
    std::vector<std::array<double, kKinds>> rms;  // per layer
};

class OutputMeter : public MatmulObserver {
public:
    OutputMeter(const gguf::GgufFile& file, int64_t n_layers) : sums_(size_t(n_layers)), counts_(size_t(n_layers)) {
        for (int64_t l = 0; l < n_layers; ++l) {
            targets_[file.require_tensor(tensor_name(TensorRole::AttnQ, l)).data] = {l, OutputScales::Q};
            targets_[file.require_tensor(tensor_name(TensorRole::AttnK, l)).data] = {l, OutputScales::K};
            targets_[file.require_tensor(tensor_name(TensorRole::AttnOutput, l)).data] = {l, OutputScales::Attention};
            targets_[file.require_tensor(tensor_name(TensorRole::FfnDown, l)).data] = {l, OutputScales::Ffn};
        }
    }
    void on_matmul_input(const kernels::WeightMatrix& w, const float* x, int64_t n_tokens) override {
        const auto it = targets_.find(w.data);
        if (it == targets_.end()) return;
        std::vector<float> y(size_t(n_tokens * w.rows));
        kernels::matmul(w, x, n_tokens, y.data());
        const auto [layer, kind] = it->second;
        for (float v : y) sums_[size_t(layer)][size_t(kind)] += double(v) * v;
        counts_[size_t(layer)][size_t(kind)] += double(y.size());
    }
    OutputScales scales() const {
        OutputScales s;
        s.rms.resize(sums_.size());
        for (size_t l = 0; l < sums_.size(); ++l)
            for (size_t k = 0; k < OutputScales::kKinds; ++k)
                s.rms[l][k] = counts_[l][k] > 0 ? std::sqrt(sums_[l][k] / counts_[l][k]) : 1.0;
        return s;
    }

private:
    std::map<const uint8_t*, std::pair<int64_t, OutputScales::Kind>> targets_;
    std::vector<std::array<double, OutputScales::kKinds>> sums_, counts_;
};

OutputScales measure_output_scales(const std::string& path) {
    const auto m = Model::load(path, Residency::Mapped);
    const auto tok = tokenizer::Tokenizer::from_gguf(m->file());
    const int64_t length = std::min<int64_t>(128, m->config().context_length);
    std::vector<int32_t> text{tok->bos_id() >= 0 ? tok->bos_id() : 0};
    SessionOptions so;
    so.context = length;
    so.threads = 1;
    Session reader(*m, so);
    while (int64_t(text.size()) < length) {
        reader.decode(&text.back(), 1, false);
        text.push_back(runtime::argmax(reader.logits().data(), m->config().n_vocab));
    }
    Session measured(*m, so);
    OutputMeter meter(m->file(), m->config().n_layers);
    measured.set_observer(&meter);
    measured.decode(text.data(), int64_t(text.size()), false);
    return meter.scales();
}

}  // namespace

uint64_t transplant_llama_model(const TransplantOptions& o) {
    const auto in = gguf::GgufFile::open(o.input_path);
    const ModelConfig c = ModelConfig::from_gguf(*in);
    if (c.arch->family != Family::Llama || c.n_experts > 0)
        throw input_error(o.input_path, "is a '" + c.architecture + "' model; a dense llama model is needed");
    const Architecture& a = architecture(o.family);
    const std::string p = std::string(a.name) + ".";
    const bool neox = a.rope == RopeMode::NeoxHalves;
    const int64_t d = c.n_embd, hd = c.head_dim, q = c.q_dim(), kv = c.kv_dim();

    std::vector<gguf::KeyValue> meta;
    for (const gguf::KeyValue& kv_pair : in->metadata()) {
        if (kv_pair.key == "general.architecture")
            meta.push_back({kv_pair.key, gguf::Value::string(a.name)});
        else if (kv_pair.key.compare(0, 6, "llama.") == 0)
            meta.push_back({p + kv_pair.key.substr(6), kv_pair.value});
        else
            meta.push_back(kv_pair);
    }
    auto put = [&](const std::string& key, gguf::Value v) { meta.push_back({p + key, std::move(v)}); };
    put("attention.key_length", gguf::Value(uint32_t(hd)));
    put("attention.value_length", gguf::Value(uint32_t(hd)));
    // A window shorter than the test texts, so that sliding layers compute something else.
    const uint32_t window = uint32_t(std::max<int64_t>(16, c.context_length / 4));
    if (o.family == Family::Gemma2) {
        put("attention.sliding_window", gguf::Value(window));
        put("attn_logit_softcapping", gguf::Value(50.0f));
        put("final_logit_softcapping", gguf::Value(30.0f));
    }
    if (o.family == Family::Gemma3) {
        put("attention.sliding_window", gguf::Value(window));
        put("rope.freq_base_swa", gguf::Value(c.rope_freq_base));
        meta.erase(std::remove_if(meta.begin(), meta.end(),
                                  [&](const gguf::KeyValue& kv_pair) { return kv_pair.key == p + "rope.freq_base"; }),
                   meta.end());
        put("rope.freq_base", gguf::Value(c.rope_freq_base * 4.0f));  // global layers: another base
    }

    const OutputScales scales = a.qk_norm || a.post_norms ? measure_output_scales(o.input_path) : OutputScales{};
    Builder b(*in, o.seed);
    const std::string embedding = tensor_name(TensorRole::TokenEmbedding);
    const bool untied = !a.always_tied_output && in->find_tensor(tensor_name(TensorRole::Output)) != nullptr;
    // Gemma multiplies embeddings by sqrt(width): the table is divided by it, and the output norm
    // multiplied, so that both the input and (with a tied head) the logits stay as they were.
    const float embedding_scale = a.scale_embedding ? std::sqrt(float(d)) : 1.0f;
    // A family that always ties (Gemma 2) drops an untied head and predicts with the embedding
    // table: worse (tinystories-5M: perplexity 650 for 7.5), but far from uniform, and the other
    // way round (the head's rows as inputs) measured worse still (1,158).
    b.add(embedding, {d, c.n_vocab}, scaled(b.read(embedding), 1.0f / embedding_scale));
    if (o.family == Family::Llama) {
        // Llama 3's rope_freqs: the high frequencies as they are, the lowest slowed down 4x.
        std::vector<float> factors(size_t(c.n_rot / 2));
        for (size_t i = 0; i < factors.size(); ++i)
            factors[i] = 1.0f + 3.0f * float(i) / float(factors.size() - 1) * float(i) / float(factors.size() - 1);
        b.add(tensor_name(TensorRole::RopeFrequencies), {int64_t(factors.size())}, factors);
    }
    for (int64_t l = 0; l < c.n_layers; ++l) {
        auto name = [l](TensorRole role) { return tensor_name(role, l); };
        b.copy(name(TensorRole::AttnNorm));
        std::vector<float> wq = b.read(name(TensorRole::AttnQ)), wk = b.read(name(TensorRole::AttnK));
        if (neox) {
            wq = neox_rows(wq, d, c.n_heads, hd);
            wk = neox_rows(wk, d, c.n_kv_heads, hd);
        }
        std::vector<float> wv = b.read(name(TensorRole::AttnV));
        if (a.family == Family::Phi3) {
            b.add(name(TensorRole::AttnQkv), {d, q + 2 * kv}, concatenated(concatenated(wq, wk), wv));
        } else {
            b.add(name(TensorRole::AttnQ), {d, q}, wq);
            b.add(name(TensorRole::AttnK), {d, kv}, wk);
            b.add(name(TensorRole::AttnV), {d, kv}, wv);
        }
        if (a.family == Family::Qwen2) {
            b.add(name(TensorRole::AttnQBias), {q}, b.around(q, 0.0f, 0.05f));
            b.add(name(TensorRole::AttnKBias), {kv}, b.around(kv, 0.0f, 0.05f));
            b.add(name(TensorRole::AttnVBias), {kv}, b.around(kv, 0.0f, 0.05f));
        }
        auto scale_of = [&](OutputScales::Kind kind) { return float(scales.rms[size_t(l)][size_t(kind)]); };
        if (a.qk_norm) {
            b.add(name(TensorRole::AttnQNorm), {hd}, b.around(hd, scale_of(OutputScales::Q), 0.1f * scale_of(OutputScales::Q)));
            b.add(name(TensorRole::AttnKNorm), {hd}, b.around(hd, scale_of(OutputScales::K), 0.1f * scale_of(OutputScales::K)));
        }
        b.copy(name(TensorRole::AttnOutput));
        if (a.post_norms) {
            const float rms = scale_of(OutputScales::Attention);
            b.add(name(TensorRole::AttnPostNorm), {d}, b.around(d, rms, 0.1f * rms));
        }
        b.copy(name(TensorRole::FfnNorm));
        const int64_t ff = c.n_ff[size_t(l)];
        if (a.fused_gate_up) {
            b.add(name(TensorRole::FfnUp), {d, 2 * ff},
                  concatenated(b.read(name(TensorRole::FfnGate)), b.read(name(TensorRole::FfnUp))));
        } else {
            b.copy(name(TensorRole::FfnGate));
            b.copy(name(TensorRole::FfnUp));
        }
        b.copy(name(TensorRole::FfnDown));
        if (a.post_norms) {
            const float rms = scale_of(OutputScales::Ffn);
            b.add(name(TensorRole::FfnPostNorm), {d}, b.around(d, rms, 0.1f * rms));
        }
    }
    const std::string output_norm = tensor_name(TensorRole::OutputNorm);
    b.add(output_norm, {d}, scaled(b.read(output_norm), untied ? 1.0f : embedding_scale));
    if (untied) b.copy(tensor_name(TensorRole::Output));

    gguf::WriteOptions wo;
    wo.refuse_overwrite_of = o.input_path;
    return gguf::write_gguf(o.output_path, meta, b.tensors(), wo);
}

}  // namespace dilmodeli::producers
