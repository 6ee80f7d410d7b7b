#include "moe/moefy.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <random>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/mapped_file.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "kernels/matmul.h"
#include "model/model.h"
#include "model/model_config.h"
#include "model/tensor_names.h"
#include "model/weight_binding.h"
#include "moe/router_fit.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::moe {

namespace {

void normalise(float* v, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += double(v[i]) * v[i];
    if (s <= 0) return;
    const float inv = float(1.0 / std::sqrt(s));
    for (int64_t i = 0; i < n; ++i) v[i] *= inv;
}

std::vector<float> dequantize(const kernels::WeightMatrix& w) {
    std::vector<float> out(size_t(w.rows * w.cols));
    for (int64_t r = 0; r < w.rows; ++r) kernels::dequantize_row(w, r, out.data() + r * w.cols);
    return out;
}

// Captures the input of every layer's ffn_gate product: the FFN input x, n_embd per token.
class FfnInputRecorder : public model::MatmulObserver {
public:
    FfnInputRecorder(std::map<const uint8_t*, int64_t> gate_layer, int64_t n_layers, int64_t n_embd, int64_t limit)
        : gate_layer_(std::move(gate_layer)), inputs_(size_t(n_layers)), n_embd_(n_embd), limit_(limit) {}
    void on_matmul_input(const kernels::WeightMatrix& w, const float* x, int64_t n_tokens) override {
        auto it = gate_layer_.find(w.data);
        if (it == gate_layer_.end()) return;
        auto& rows = inputs_[size_t(it->second)];
        const int64_t have = int64_t(rows.size()) / n_embd_;
        const int64_t take = std::min(n_tokens, limit_ - have);
        if (take > 0) rows.insert(rows.end(), x, x + take * n_embd_);
    }
    const std::vector<float>& inputs(int64_t layer) const { return inputs_[size_t(layer)]; }

private:
    std::map<const uint8_t*, int64_t> gate_layer_;
    std::vector<std::vector<float>> inputs_;
    int64_t n_embd_, limit_;
};

// FFN inputs of every layer on up to `limit` tokens of the text, chunk by chunk from an empty cache.
std::vector<std::vector<float>> calibration_inputs(const std::string& model_path, const MoefyOptions& options) {
    auto model = model::Model::load(model_path);
    const auto& c = model->config();
    auto tokenizer = tokenizer::Tokenizer::from_gguf(model->file());
    MappedFile text(options.calibration_text);
    const auto tokens =
        tokenizer->encode(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), true);
    if (tokens.size() < 8)
        throw usage_error(options.calibration_text + ": too little calibration text (" +
                          std::to_string(tokens.size()) + " tokens)");
    std::map<const uint8_t*, int64_t> gate_layer;
    for (int64_t l = 0; l < c.n_layers; ++l)
        gate_layer[model->file().require_tensor(model::tensor_name(model::TensorRole::FfnGate, l)).data] = l;
    FfnInputRecorder recorder(gate_layer, c.n_layers, c.n_embd, options.calibration_tokens);
    model::SessionOptions so;
    so.context = std::min<int64_t>(128, c.context_length > 0 ? c.context_length : 128);
    so.threads = options.threads;
    so.max_batch = so.context;
    model::Session session(*model, so);
    session.set_observer(&recorder);
    int64_t done = 0;
    for (size_t at = 0; at < tokens.size() && done < options.calibration_tokens; at += size_t(so.context)) {
        const int64_t n = std::min<int64_t>(so.context, int64_t(tokens.size() - at));
        session.reset();
        session.decode(tokens.data() + at, n, false);
        done += n;
    }
    std::vector<std::vector<float>> inputs;
    for (int64_t l = 0; l < c.n_layers; ++l) inputs.push_back(recorder.inputs(l));
    return inputs;
}

struct LayerPlan {
    std::vector<int32_t> slots;  // (experts * expert_ff) channel or -1
    std::vector<float> router;   // (experts, n_embd)
};

// Centroid router: expert e's row is the mean gate row of its channels.
std::vector<float> centroid_router(const std::vector<float>& gate, const std::vector<int32_t>& slots, int64_t experts,
                                   int64_t d) {
    const int64_t m = int64_t(slots.size()) / experts;
    std::vector<float> router(size_t(experts * d), 0.0f);
    for (int64_t e = 0; e < experts; ++e) {
        int64_t members = 0;
        float* r = router.data() + e * d;
        for (int64_t j = 0; j < m; ++j) {
            const int32_t ch = slots[size_t(e * m + j)];
            if (ch < 0) continue;
            ++members;
            for (int64_t i = 0; i < d; ++i) r[i] += gate[size_t(int64_t(ch) * d + i)];
        }
        const float scale = float(1.0 / double(std::max<int64_t>(1, members)));
        for (int64_t i = 0; i < d; ++i) r[i] *= scale;
    }
    return router;
}

// Per channel, its activation over the calibration tokens (hidden: n_tokens rows of ff), unit
// length.
std::vector<float> activation_features(const std::vector<float>& hidden, int64_t ff, int64_t n_tokens) {
    std::vector<float> features(size_t(ff * n_tokens));
    for (int64_t ch = 0; ch < ff; ++ch) {
        for (int64_t t = 0; t < n_tokens; ++t) features[size_t(ch * n_tokens + t)] = hidden[size_t(t * ff + ch)];
        normalise(features.data() + ch * n_tokens, n_tokens);
    }
    return features;
}

}  // namespace

const char* cluster_name(ClusterBy c) { return c == ClusterBy::GateRows ? "gate_rows" : "activations"; }
const char* router_kind_name(RouterKind r) { return r == RouterKind::Centroid ? "centroid" : "lsq"; }

ClusterBy parse_cluster(const std::string& name) {
    if (name == "gate_rows" || name == "gate") return ClusterBy::GateRows;
    if (name == "activations") return ClusterBy::Activations;
    throw usage_error("unknown clustering '" + name + "' (expected gate_rows or activations)");
}

RouterKind parse_router_kind(const std::string& name) {
    if (name == "centroid") return RouterKind::Centroid;
    if (name == "lsq") return RouterKind::LeastSquares;
    throw usage_error("unknown router fit '" + name + "' (expected centroid or lsq)");
}

std::vector<int32_t> balanced_kmeans(const std::vector<float>& points, int64_t n, int64_t dim, int64_t clusters,
                                     int64_t cluster_size, int32_t iterations, uint64_t seed) {
    if (clusters < 1 || cluster_size < 1 || clusters * cluster_size < n || n < clusters)
        throw usage_error("balanced k-means: " + std::to_string(n) + " points do not fit " +
                          std::to_string(clusters) + " clusters of " + std::to_string(cluster_size));
    std::vector<int32_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(seed);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<float> centroid(size_t(clusters * dim));
    for (int64_t e = 0; e < clusters; ++e)
        std::copy_n(points.data() + int64_t(order[size_t(e)]) * dim, dim, centroid.data() + e * dim);

    std::vector<int32_t> assign(size_t(n), -1), previous;
    std::vector<std::pair<float, int64_t>> pairs(size_t(n * clusters));
    for (int32_t it = 0; it < std::max(1, iterations); ++it) {
        for (int64_t c = 0; c < n; ++c) {
            const float* p = points.data() + c * dim;
            for (int64_t e = 0; e < clusters; ++e) {
                const float* q = centroid.data() + e * dim;
                float dot = 0;
                for (int64_t i = 0; i < dim; ++i) dot += p[i] * q[i];
                pairs[size_t(c * clusters + e)] = {dot, c * clusters + e};
            }
        }
        std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) {
            return a.first > b.first || (a.first == b.first && a.second < b.second);
        });
        std::fill(assign.begin(), assign.end(), -1);
        std::vector<int64_t> size(size_t(clusters), 0);
        for (const auto& [sim, id] : pairs) {
            const int64_t c = id / clusters, e = id % clusters;
            if (assign[size_t(c)] >= 0 || size[size_t(e)] >= cluster_size) continue;
            assign[size_t(c)] = int32_t(e);
            ++size[size_t(e)];
        }
        if (assign == previous) break;
        previous = assign;
        std::fill(centroid.begin(), centroid.end(), 0.0f);
        for (int64_t c = 0; c < n; ++c) {
            float* q = centroid.data() + int64_t(assign[size_t(c)]) * dim;
            const float* p = points.data() + c * dim;
            for (int64_t i = 0; i < dim; ++i) q[i] += p[i];
        }
        for (int64_t e = 0; e < clusters; ++e) normalise(centroid.data() + e * dim, dim);
    }
    std::vector<int32_t> slots(size_t(clusters * cluster_size), -1);
    std::vector<int64_t> fill(size_t(clusters), 0);
    for (int64_t c = 0; c < n; ++c) {
        const int64_t e = assign[size_t(c)];
        slots[size_t(e * cluster_size + fill[size_t(e)]++)] = int32_t(c);
    }
    return slots;
}

MoefyReport moefy(const std::string& input_path, const std::string& output_path, const MoefyOptions& options) {
    if (options.experts < 1) throw usage_error("--experts must be at least 1");
    if (options.top_k < 1 || options.top_k > options.experts)
        throw usage_error("--top-k must be in 1.." + std::to_string(options.experts));
    if (!(options.router_scale > 0) || !std::isfinite(options.router_scale))
        throw usage_error("router scale must be positive");
    auto file = gguf::GgufFile::open(input_path);
    const model::ModelConfig c = model::ModelConfig::from_gguf(*file);
    if (c.arch->family != model::Family::Llama)
        throw usage_error("moefy supports llama files only; " + input_path + " is a " + c.architecture +
                          " model (llama.cpp has no MoE form of it to load)");
    if (c.n_experts > 0 || file->find_tensor(model::tensor_name(model::TensorRole::FfnGateExps, 0)))
        throw usage_error(input_path + " is already a mixture-of-experts model");
    const int64_t E = options.experts, d = c.n_embd;

    const bool needs_calibration = options.cluster == ClusterBy::Activations || options.router == RouterKind::LeastSquares;
    if (needs_calibration && options.calibration_text.empty())
        throw usage_error(std::string("clustering by activations and the lsq router need calibration text (--calib)"));
    std::vector<std::vector<float>> calib;
    if (!options.calibration_text.empty()) calib = calibration_inputs(input_path, options);

    MoefyReport report;
    report.layers = c.n_layers;
    report.experts = E;
    report.top_k = options.top_k;
    report.calibrated = !calib.empty();
    report.cluster = options.cluster;
    report.router = options.router;
    std::vector<LayerPlan> plans(size_t(c.n_layers));
    std::vector<int64_t> expert_ff(size_t(c.n_layers));
    for (int64_t l = 0; l < c.n_layers; ++l) {
        auto tensor = [&](model::TensorRole role) { return model::matrix_of(file->require_tensor(model::tensor_name(role, l))); };
        const int64_t ff = c.n_ff[size_t(l)];
        if (ff < E)
            throw usage_error("layer " + std::to_string(l) + " has " + std::to_string(ff) + " FFN channels, fewer than " +
                              std::to_string(E) + " experts");
        const int64_t m = (ff + E - 1) / E;
        expert_ff[size_t(l)] = m;
        report.padding_channels += m * E - ff;
        const auto gate_w = tensor(model::TensorRole::FfnGate);
        const auto up_w = tensor(model::TensorRole::FfnUp);
        const auto gate = dequantize(gate_w);
        const std::vector<float>* x = report.calibrated ? &calib[size_t(l)] : nullptr;
        const int64_t n_tokens = x ? int64_t(x->size()) / d : 0;
        if (x && n_tokens < 1) throw usage_error(options.calibration_text + ": no calibration tokens reached layer " +
                                                 std::to_string(l));
        // The FFN's activations on the calibration tokens, for clustering and the router fit.
        const std::vector<float> hidden = x ? ffn_hidden(gate_w, up_w, *x, n_tokens) : std::vector<float>();

        std::vector<float> features;
        int64_t dim = d;
        if (options.cluster == ClusterBy::Activations) {
            features = activation_features(hidden, ff, n_tokens);
            dim = n_tokens;
        } else {
            features = gate;
            for (int64_t ch = 0; ch < ff; ++ch) normalise(features.data() + ch * d, d);
        }
        LayerPlan& plan = plans[size_t(l)];
        plan.slots = balanced_kmeans(features, ff, dim, E, m, options.iterations, options.seed + uint64_t(l));
        plan.router = centroid_router(gate, plan.slots, E, d);
        if (x) {
            const auto down = dequantize(tensor(model::TensorRole::FfnDown));
            const auto outputs = expert_outputs(hidden, down, d, plan.slots, E, n_tokens);
            LayerRouterReport lr;
            lr.centroid_error = reconstruction_error(plan.router, *x, outputs, n_tokens, d, E, options.top_k);
            lr.error = lr.centroid_error;
            if (options.router == RouterKind::LeastSquares) {
                RouterFit fit = fit_router(*x, outputs, n_tokens, d, E, options.top_k);
                plan.router = std::move(fit.weights);
                lr.error = fit.reconstruction_error;
                lr.oracle_error = fit.oracle_error;
                lr.sharpness = fit.sharpness;
            }
            report.routers.push_back(lr);
        }
        for (float& v : plan.router) v = float(v * options.router_scale);
    }
    report.dense_ff = c.n_ff.front();
    report.expert_ff = expert_ff.front();
    if (report.padding_channels > 0)
        spdlog::warn("{} experts do not divide the FFN width {}: each expert gets {} channels, {} of them zero padding "
                     "over all layers",
                     E, report.dense_ff, report.expert_ff, report.padding_channels);

    // Metadata: the input's, with the MoE keys set.
    std::vector<gguf::KeyValue> metadata;
    const bool uniform_ff = std::all_of(expert_ff.begin(), expert_ff.end(), [&](int64_t m) { return m == expert_ff[0]; });
    gguf::Value ff_value = gguf::Value(uint32_t(expert_ff[0]));
    if (!uniform_ff) {
        std::vector<gguf::Value> per_layer;
        for (int64_t m : expert_ff) per_layer.emplace_back(uint32_t(m));
        ff_value = gguf::Value::array(gguf::ValueType::U32, std::move(per_layer));
    }
    const std::map<std::string, gguf::Value> replaced = {
        {"llama.feed_forward_length", ff_value},
        {"llama.expert_count", gguf::Value(uint32_t(E))},
        {"llama.expert_used_count", gguf::Value(uint32_t(options.top_k))},
        {"dilmodeli.moefy.expert_scale", gguf::Value(float(options.top_k))},
        {"dilmodeli.moefy.source_ff", gguf::Value(uint32_t(report.dense_ff))},
        {"dilmodeli.moefy.clustering", gguf::Value::string(cluster_name(options.cluster))},
        {"dilmodeli.moefy.router", gguf::Value::string(router_kind_name(options.router))},
    };
    for (const auto& kv : file->metadata())
        if (!replaced.count(kv.key)) metadata.push_back(kv);
    for (const auto& [key, value] : replaced) metadata.push_back({key, value});

    std::vector<gguf::TensorToWrite> tensors;
    const float expert_scale = float(options.top_k);
    for (const auto& t : gguf::tensors_as_stored(*file)) {
        const std::string& name = t.name;
        const auto parsed = model::parse_tensor_name(name);
        const bool ffn_matrix = parsed && (parsed->role == model::TensorRole::FfnGate ||
                                           parsed->role == model::TensorRole::FfnUp ||
                                           parsed->role == model::TensorRole::FfnDown);
        if (!ffn_matrix) {
            tensors.push_back(t);
            continue;
        }
        using model::TensorRole;
        const int64_t l = parsed->layer;
        const LayerPlan* plan = &plans[size_t(l)];
        const int64_t m = expert_ff[size_t(l)];
        const gguf::TensorInfo* info = &file->require_tensor(name);
        if (parsed->role == TensorRole::FfnGate) {
            gguf::TensorToWrite router;
            router.name = model::tensor_name(TensorRole::FfnGateInp, l);
            router.dims = {d, E};
            router.type = quant::TypeId::F32;
            router.data = plan->router.data();
            tensors.push_back(router);
        }
        gguf::TensorToWrite out;
        if (parsed->role != TensorRole::FfnDown) {
            out.name = model::tensor_name(
                parsed->role == TensorRole::FfnGate ? TensorRole::FfnGateExps : TensorRole::FfnUpExps, l);
            out.dims = {d, m, E};
            out.type = info->type;
            out.produce = [info, plan](std::vector<uint8_t>& bytes) {
                const auto w = model::matrix_of(*info);
                for (int32_t ch : plan->slots) {
                    if (ch < 0)
                        bytes.insert(bytes.end(), w.row_bytes, uint8_t(0));
                    else
                        bytes.insert(bytes.end(), w.row(ch), w.row(ch) + w.row_bytes);
                }
            };
        } else {
            out.name = model::tensor_name(TensorRole::FfnDownExps, l);
            out.dims = {m, d, E};
            out.type = quant::TypeId::F32;
            out.produce = [info, plan, m, d, E, expert_scale](std::vector<uint8_t>& bytes) {
                const auto w = model::matrix_of(*info);  // (n_ff -> n_embd): d rows of n_ff
                const auto down = dequantize(w);
                std::vector<float> expert(size_t(d * m));
                for (int64_t e = 0; e < E; ++e) {
                    for (int64_t i = 0; i < d; ++i)
                        for (int64_t j = 0; j < m; ++j) {
                            const int32_t ch = plan->slots[size_t(e * m + j)];
                            expert[size_t(i * m + j)] = ch < 0 ? 0.0f : expert_scale * down[size_t(i * w.cols + ch)];
                        }
                    const auto* p = reinterpret_cast<const uint8_t*>(expert.data());
                    bytes.insert(bytes.end(), p, p + expert.size() * sizeof(float));
                }
            };
        }
        tensors.push_back(std::move(out));
    }
    gguf::WriteOptions wo;
    wo.refuse_overwrite_of = input_path;
    report.bytes_written = gguf::write_gguf(output_path, metadata, tensors, wo);
    return report;
}

}  // namespace dilmodeli::moe
