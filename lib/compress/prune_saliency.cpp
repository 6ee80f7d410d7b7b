#include "compress/prune_saliency.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "common/error.h"
#include "common/mapped_file.h"
#include "gguf/gguf_file.h"
#include "model/model.h"
#include "model/matmul_observer.h"
#include "model/tensor_names.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::compress {
namespace {

// Accumulates H^T H for the input H (tokens x width) of every ffn_down, keyed by the weight's
// address in the mapping.
class GramObserver : public model::MatmulObserver {
public:
    explicit GramObserver(const gguf::GgufFile& file, int64_t n_layers) {
        gram_.gram.resize(size_t(n_layers));
        gram_.width.assign(size_t(n_layers), 0);
        for (int64_t l = 0; l < n_layers; ++l)
            if (const gguf::TensorInfo* t = file.find_tensor(model::tensor_name(model::TensorRole::FfnDown, l)))
                layer_of_.emplace(t->data, l);
    }

    void on_matmul_input(const kernels::WeightMatrix& w, const float* x, int64_t n_tokens) override {
        auto it = layer_of_.find(w.data);
        if (it == layer_of_.end()) return;
        const int64_t layer = it->second, n = w.cols;
        std::vector<double>& g = gram_.gram[size_t(layer)];
        if (g.empty()) {
            g.assign(size_t(n * n), 0.0);
            gram_.width[size_t(layer)] = n;
        }
        rows_[layer] += n_tokens;
        // Transposed (width x tokens) so that every entry is one contiguous dot product.
        std::vector<float> xt(size_t(n * n_tokens));
        for (int64_t t = 0; t < n_tokens; ++t)
            for (int64_t c = 0; c < n; ++c) xt[size_t(c * n_tokens + t)] = x[t * n + c];
        tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, 8), [&](const tbb::blocked_range<int64_t>& r) {
            for (int64_t a = r.begin(); a < r.end(); ++a) {
                const float* xa = &xt[size_t(a * n_tokens)];
                for (int64_t b = 0; b <= a; ++b) {
                    const float* xb = &xt[size_t(b * n_tokens)];
                    double s = 0;
                    for (int64_t t = 0; t < n_tokens; ++t) s += double(xa[t] * xb[t]);
                    g[size_t(a * n + b)] += s;
                }
            }
        });
    }

    FfnGram finish() {
        for (size_t l = 0; l < gram_.gram.size(); ++l) {
            std::vector<double>& g = gram_.gram[l];
            const int64_t n = gram_.width[l];
            const double scale = 1.0 / double(std::max<int64_t>(1, rows_[int64_t(l)]));
            for (int64_t a = 0; a < n; ++a)
                for (int64_t b = 0; b <= a; ++b) {
                    const double v = g[size_t(a * n + b)] * scale;
                    g[size_t(a * n + b)] = v;
                    g[size_t(b * n + a)] = v;
                }
        }
        return std::move(gram_);
    }

private:
    std::map<const uint8_t*, int64_t> layer_of_;
    std::map<int64_t, int64_t> rows_;
    FfnGram gram_;
};

}  // namespace

FfnGram collect_ffn_gram(model::Model& model, const std::string& text_path, const CalibrationOptions& options) {
    MappedFile text(text_path);
    auto tokenizer = tokenizer::Tokenizer::from_gguf(model.file());
    GramObserver observer(model.file(), model.config().n_layers);
    const int64_t tokens = run_calibration_chunks(
        model, *tokenizer, std::string(reinterpret_cast<const char*>(text.data()), text.size()), options, observer);
    FfnGram gram = observer.finish();
    gram.tokens = tokens;
    return gram;
}

std::vector<float> tensor_as_floats(const gguf::TensorInfo& t) {
    const quant::TypeInfo& type = t.type_info();
    if (!type.dequantize_row)
        throw usage_error("tensor '" + t.name + "' of type " + type.name + " cannot be read as numbers");
    const int64_t cols = t.row_length(), rows = t.n_rows();
    const size_t row_bytes = type.row_bytes(cols);
    std::vector<float> out(size_t(cols * rows));
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows, 16), [&](const tbb::blocked_range<int64_t>& r) {
        for (int64_t i = r.begin(); i < r.end(); ++i)
            type.dequantize_row(t.data + size_t(i) * row_bytes, &out[size_t(i * cols)], cols);
    });
    return out;
}

FfnWeights read_ffn_weights(const gguf::GgufFile& file, int64_t layer) {
    using model::TensorRole;
    const gguf::TensorInfo& gate = file.require_tensor(model::tensor_name(TensorRole::FfnGate, layer));
    const gguf::TensorInfo& up = file.require_tensor(model::tensor_name(TensorRole::FfnUp, layer));
    const gguf::TensorInfo& down = file.require_tensor(model::tensor_name(TensorRole::FfnDown, layer));
    FfnWeights w;
    w.n_embd = gate.row_length();
    w.width = gate.n_rows();
    if (gate.dims.size() != 2 || up.dims != gate.dims || down.dims.size() != 2 || down.dims[0] != w.width ||
        down.dims[1] != w.n_embd)
        throw input_error(file.path(), "layer " + std::to_string(layer) + " has FFN shapes gate " +
                                           gate.shape_string() + ", up " + up.shape_string() + ", down " +
                                           down.shape_string() + ": not a dense SwiGLU block");
    w.gate = tensor_as_floats(gate);
    w.up = tensor_as_floats(up);
    w.down = tensor_as_floats(down);
    return w;
}

std::vector<double> down_column_norms(const FfnWeights& w) {
    std::vector<double> out(size_t(w.width), 0.0);
    for (int64_t i = 0; i < w.n_embd; ++i) {
        const float* row = &w.down[size_t(i * w.width)];
        for (int64_t c = 0; c < w.width; ++c) out[size_t(c)] += double(row[c]) * double(row[c]);
    }
    return out;
}

std::vector<double> down_column_products(const FfnWeights& w) {
    const int64_t n = w.width;
    std::vector<float> columns(size_t(n * w.n_embd));  // (width x n_embd): W_down transposed
    for (int64_t i = 0; i < w.n_embd; ++i)
        for (int64_t c = 0; c < n; ++c) columns[size_t(c * w.n_embd + i)] = w.down[size_t(i * n + c)];
    std::vector<double> out(size_t(n * n));
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, 8), [&](const tbb::blocked_range<int64_t>& r) {
        for (int64_t a = r.begin(); a < r.end(); ++a)
            for (int64_t b = 0; b < n; ++b) {
                double s = 0;
                for (int64_t i = 0; i < w.n_embd; ++i)
                    s += double(columns[size_t(a * w.n_embd + i)]) * double(columns[size_t(b * w.n_embd + i)]);
                out[size_t(a * n + b)] = s;
            }
    });
    return out;
}

std::vector<double> channel_magnitude(const FfnWeights& w) {
    std::vector<double> out = down_column_norms(w);
    for (int64_t c = 0; c < w.width; ++c) {
        double s = 0;
        for (int64_t j = 0; j < w.n_embd; ++j) {
            const double g = w.gate[size_t(c * w.n_embd + j)], u = w.up[size_t(c * w.n_embd + j)];
            s += g * g + u * u;
        }
        out[size_t(c)] += s;
    }
    return out;
}

std::vector<double> channel_wanda(const FfnWeights& w, const std::vector<float>& input_mean_square,
                                  const std::vector<float>& hidden_mean_square) {
    if (int64_t(input_mean_square.size()) != w.n_embd || int64_t(hidden_mean_square.size()) != w.width)
        throw usage_error("calibration statistics do not match the FFN's shape (" +
                          std::to_string(input_mean_square.size()) + " and " +
                          std::to_string(hidden_mean_square.size()) + " columns for " + std::to_string(w.n_embd) +
                          " and " + std::to_string(w.width) + ")");
    std::vector<double> input_norm(size_t(w.n_embd));
    for (int64_t j = 0; j < w.n_embd; ++j) input_norm[size_t(j)] = std::sqrt(double(input_mean_square[size_t(j)]));
    std::vector<double> down_abs(size_t(w.width), 0.0);
    for (int64_t i = 0; i < w.n_embd; ++i)
        for (int64_t c = 0; c < w.width; ++c) down_abs[size_t(c)] += std::fabs(double(w.down[size_t(i * w.width + c)]));
    std::vector<double> out(size_t(w.width));
    for (int64_t c = 0; c < w.width; ++c) {
        double s = 0;
        for (int64_t j = 0; j < w.n_embd; ++j)
            s += (std::fabs(double(w.gate[size_t(c * w.n_embd + j)])) + std::fabs(double(w.up[size_t(c * w.n_embd + j)]))) *
                 input_norm[size_t(j)];
        out[size_t(c)] = s + down_abs[size_t(c)] * std::sqrt(double(hidden_mean_square[size_t(c)]));
    }
    return out;
}

std::vector<double> channel_energy(const FfnWeights& w, const std::vector<float>& hidden_mean_square) {
    if (int64_t(hidden_mean_square.size()) != w.width)
        throw usage_error("calibration statistics have " + std::to_string(hidden_mean_square.size()) +
                          " FFN channels, the layer has " + std::to_string(w.width));
    std::vector<double> out = down_column_norms(w);
    for (int64_t c = 0; c < w.width; ++c) out[size_t(c)] *= double(hidden_mean_square[size_t(c)]);
    return out;
}

RemovalError removal_error(const std::vector<double>& column_products, const std::vector<double>& gram,
                           const std::vector<uint8_t>& removed) {
    const size_t n = removed.size();
    RemovalError e;
    for (size_t a = 0; a < n; ++a)
        for (size_t b = 0; b < n; ++b) {
            const double v = column_products[a * n + b] * gram[a * n + b];
            e.whole += v;
            if (removed[a] && removed[b]) e.removed += v;
        }
    return e;
}

}  // namespace dilmodeli::compress
