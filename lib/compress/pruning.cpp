#include "compress/pruning.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "model/architecture.h"
#include "model/tensor_names.h"

#include "common/atomic_file.h"
#include "common/enum_names.h"
#include "common/error.h"
#include "common/number_format.h"
#include "compress/prune_nash.h"
#include "compress/prune_saliency.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "model/model_config.h"

namespace dilmodeli::compress {
namespace {

constexpr int64_t kRunLength = 32;  // unstructured Nash: weights per block
constexpr int32_t kRunLevels = 8;   // unstructured Nash: a block prunes 0, 1/8, ..., 8/8 of itself

// The attention and FFN matrices of the repeating blocks; embeddings, the output head and the
// norms are never pruned.
bool is_prunable_name(const std::string& name) {
    const auto parsed = model::parse_tensor_name(name);
    return parsed && model::is_block_matrix_role(parsed->role);
}

void require_float(const gguf::TensorInfo& t) {
    if (!t.type_info().is_float)
        throw usage_error("tensor '" + t.name + "' is " + t.type_info().name +
                          ": prune before quantizing (pruning reads F32, F16 or BF16 weights; quantize the pruned "
                          "model afterwards)");
}

std::vector<float> mean_square_for(const ActivationStats& stats, const std::string& name, int64_t cols) {
    auto it = stats.mean_square.find(name);
    if (it == stats.mean_square.end())
        throw usage_error("calibration statistics have no entry for '" + name + "'");
    if (int64_t(it->second.size()) != cols)
        throw usage_error("calibration statistics for '" + name + "' have " + std::to_string(it->second.size()) +
                          " columns, the tensor has " + std::to_string(cols));
    return it->second;
}

// Per-weight saliency of one tensor, (rows x cols): |W| or Wanda's |W_ij| * ||X_j||.
std::vector<float> weight_saliency(const std::vector<float>& w, int64_t cols, const std::vector<float>* mean_square) {
    std::vector<float> s(w.size());
    std::vector<float> norm;
    if (mean_square) {
        norm.resize(size_t(cols));
        for (int64_t j = 0; j < cols; ++j) norm[size_t(j)] = std::sqrt((*mean_square)[size_t(j)]);
    }
    for (size_t i = 0; i < w.size(); ++i) s[i] = std::fabs(w[i]) * (mean_square ? norm[i % size_t(cols)] : 1.0f);
    return s;
}

// Marks the `count` least salient weights of every row (ties to the lower column).
std::vector<uint8_t> prune_per_row(const std::vector<float>& saliency, int64_t rows, int64_t cols, int64_t count) {
    std::vector<uint8_t> pruned(saliency.size(), 0);
    if (count <= 0) return pruned;
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows, 16), [&](const tbb::blocked_range<int64_t>& r) {
        std::vector<int32_t> order(static_cast<size_t>(cols));
        for (int64_t i = r.begin(); i < r.end(); ++i) {
            const float* s = &saliency[size_t(i * cols)];
            std::iota(order.begin(), order.end(), 0);
            std::nth_element(order.begin(), order.begin() + (count - 1), order.end(), [s](int32_t a, int32_t b) {
                return s[a] != s[b] ? s[a] < s[b] : a < b;
            });
            for (int64_t k = 0; k < count; ++k) pruned[size_t(i * cols + order[size_t(k)])] = 1;
        }
    });
    return pruned;
}

// Unstructured Nash on one tensor. The players are runs of 32 weights of a row (the last run
// of a row may be shorter); a run's strategy is how many of its weights it prunes, in eighths,
// its least salient first. Saliency is Wanda's, over the row's mean (rows compete as Wanda's
// comparison groups do, but may give up more or less than the target where their weights
// differ more). Cohesion with the runs left and right (k >= 2) and above and below (k >= 4).
std::vector<uint8_t> prune_runs_nash(const std::vector<float>& saliency, int64_t rows, int64_t cols,
                                     size_t element_bytes, double sparsity, const PruneOptions& options,
                                     NashGameSummary& summary) {
    const int64_t runs_per_row = (cols + kRunLength - 1) / kRunLength;
    const int32_t levels = kRunLevels, strategies = kRunLevels + 1;
    auto pruned_at = [](int64_t length, int32_t level) { return (length * level + kRunLevels / 2) / kRunLevels; };
    BlockGame game;
    game.levels = levels;
    const size_t players = size_t(rows * runs_per_row);
    game.cost.resize(players * size_t(strategies));
    game.bytes.resize(players * size_t(strategies));
    game.group.assign(players, 0);
    std::vector<int32_t> orders(saliency.size());  // per row, run by run: least salient first
    double total_bytes = 0;
    for (int64_t i = 0; i < rows; ++i) {
        const float* s = &saliency[size_t(i * cols)];
        double row_sum = 0;
        for (int64_t j = 0; j < cols; ++j) row_sum += s[j];
        const double mean = row_sum > 0 ? row_sum / double(cols) : 1.0;
        for (int64_t q = 0; q < runs_per_row; ++q) {
            const int64_t begin = q * kRunLength, end = std::min(cols, begin + kRunLength), length = end - begin;
            int32_t* run = &orders[size_t(i * cols + begin)];
            std::iota(run, run + length, int32_t(begin));
            std::sort(run, run + length, [s](int32_t a, int32_t b) { return s[a] != s[b] ? s[a] < s[b] : a < b; });
            const size_t p = size_t(i * runs_per_row + q) * size_t(strategies);
            double sum = 0;
            int64_t done = 0;
            for (int32_t l = 0; l < strategies; ++l) {
                const int64_t count = pruned_at(length, l);
                for (; done < count; ++done) sum += double(s[run[done]]) / mean;
                game.cost[p + size_t(l)] = sum;
                game.bytes[p + size_t(l)] = double(size_t(length - count) * element_bytes);
            }
            total_bytes += game.bytes[p];
        }
    }
    const int32_t k = options.neighbours;
    const double cohesion = options.cohesion;
    auto edge = [&](int64_t a, int64_t b) {
        const double sa = game.whole(int32_t(a)), sb = game.whole(int32_t(b));
        game.edges.push_back({int32_t(a), int32_t(b), cohesion * std::sqrt(sa * sb), 0.0});
    };
    if (cohesion > 0)
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t q = 0; q < runs_per_row; ++q) {
                const int64_t p = i * runs_per_row + q;
                if (k >= 2 && q + 1 < runs_per_row) edge(p, p + 1);
                if (k >= 4 && i + 1 < rows) edge(p, p + runs_per_row);
            }
    BlockGameResult result = solve_block_game(game, (1.0 - sparsity) * total_bytes, k, nullptr);
    summary = result.summary;
    std::vector<uint8_t> pruned(saliency.size(), 0);
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t q = 0; q < runs_per_row; ++q) {
            const int64_t begin = q * kRunLength, length = std::min(cols, begin + kRunLength) - begin;
            const int64_t count = pruned_at(length, result.level[size_t(i * runs_per_row + q)]);
            const int32_t* run = &orders[size_t(i * cols + begin)];
            for (int64_t j = 0; j < count; ++j) pruned[size_t(i * cols + run[j])] = 1;
        }
    return pruned;
}

void merge_game(PruneReport& report, NashGameSummary game) {
    report.lagrange_price = std::max(report.lagrange_price, game.price);
    report.sweeps = std::max(report.sweeps, game.sweeps);
    report.converged = report.converged && game.converged;
    report.largest_unilateral_gain = std::max(report.largest_unilateral_gain, game.largest_gain);
    report.adjusted += game.adjusted;
    report.games.push_back(std::move(game));
}

// ---------------------------------------------------------------------------------------------
// Unstructured pruning: zeros inside the matrices, tensors keep their shapes.

std::vector<gguf::TensorToWrite> plan_unstructured(const gguf::GgufFile& input, const PruneOptions& options,
                                                   PruneReport& report) {
    std::vector<gguf::TensorToWrite> out = gguf::tensors_as_stored(input);
    for (size_t i = 0; i < input.tensors().size(); ++i) {
        const gguf::TensorInfo& t = input.tensors()[i];
        if (!is_prunable_name(t.name) || t.dims.size() != 2) continue;
        require_float(t);
        const int64_t cols = t.row_length(), rows = t.n_rows();
        PrunedTensor entry;
        entry.name = t.name;
        entry.shape_before = entry.shape_after = t.dims;
        report.prunable += t.n_elements();
        const size_t slot = report.tensors.size();
        if (options.sparsity == 0) {  // written as stored, bit for bit
            const std::vector<float> w = tensor_as_floats(t);
            entry.zero_fraction = double(std::count(w.begin(), w.end(), 0.0f)) / double(std::max<size_t>(1, w.size()));
            report.tensors.push_back(entry);
            continue;
        }
        report.tensors.push_back(entry);
        std::vector<float> mean_square;
        if (options.method != PruneMethod::Magnitude) mean_square = mean_square_for(*options.stats, t.name, cols);
        out[i].data = nullptr;
        out[i].produce = [&t, &options, &report, slot, rows, cols, stats = std::move(mean_square)](
                             std::vector<uint8_t>& bytes) {
            const std::vector<float> w = tensor_as_floats(t);
            const std::vector<float> saliency =
                weight_saliency(w, cols, options.method == PruneMethod::Magnitude ? nullptr : &stats);
            std::vector<uint8_t> pruned;
            if (options.method == PruneMethod::Nash) {
                NashGameSummary summary;
                pruned = prune_runs_nash(saliency, rows, cols, t.type_info().block_bytes, options.sparsity, options,
                                         summary);
                summary.name = t.name;
                merge_game(report, std::move(summary));
            } else {
                pruned = prune_per_row(saliency, rows, cols, std::llround(options.sparsity * double(cols)));
            }
            // F32, F16 and BF16 store +0 as all-zero bytes: zero the elements in place.
            const size_t element = t.type_info().block_bytes;
            bytes.insert(bytes.end(), t.data, t.data + t.n_bytes);
            uint8_t* base = bytes.data() + (bytes.size() - t.n_bytes);
            int64_t count = 0, zeros = 0;
            for (size_t e = 0; e < pruned.size(); ++e) {
                if (pruned[e]) {
                    std::memset(base + e * element, 0, element);
                    ++count;
                    ++zeros;
                } else if (w[e] == 0.0f) {
                    ++zeros;
                }
            }
            PrunedTensor& entry = report.tensors[slot];
            entry.pruned = count;
            entry.zero_fraction = double(zeros) / double(std::max<size_t>(1, pruned.size()));
        };
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Structured pruning: whole FFN channels, tensors shrink.

// Largest-remainder rounding of per-layer widths to multiples of m with a fixed total: each
// layer keeps between min(m, n) and n channels.
std::vector<int64_t> round_widths(const std::vector<int64_t>& kept, const std::vector<int64_t>& full, int64_t m,
                                  int64_t total) {
    const size_t layers = kept.size();
    std::vector<int64_t> out(layers);
    std::vector<int64_t> remainder(layers);
    int64_t sum = 0;
    for (size_t l = 0; l < layers; ++l) {
        const int64_t lo = std::min(m, full[l]);
        const int64_t base = std::clamp(kept[l] / m * m, lo, full[l]);
        out[l] = base;
        remainder[l] = kept[l] - base;
        sum += base;
    }
    std::vector<size_t> order(layers);
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return remainder[a] > remainder[b]; });
    for (bool progress = true; sum + m <= total && progress;) {
        progress = false;
        for (size_t l : order) {
            if (sum + m > total) break;
            if (out[l] + m <= full[l]) {
                out[l] += m;
                sum += m;
                progress = true;
            }
        }
    }
    return out;
}

int64_t uniform_width(int64_t full, double sparsity, int64_t m) {
    if (sparsity == 0) return full;
    const int64_t w = std::llround((1.0 - sparsity) * double(full) / double(m)) * m;
    return std::clamp(w, std::min(m, full), full);
}

// Keeps the `width` highest scores (ties to the lower channel).
std::vector<uint8_t> keep_top(const std::vector<double>& score, int64_t width) {
    std::vector<int32_t> order(score.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return score[size_t(a)] > score[size_t(b)]; });
    std::vector<uint8_t> pruned(score.size(), 1);
    for (int64_t i = 0; i < width && i < int64_t(order.size()); ++i) pruned[size_t(order[size_t(i)])] = 0;
    return pruned;
}

struct LayerPlan {
    int64_t full = 0;
    std::vector<double> score;
    std::vector<uint8_t> pruned;
    std::vector<int64_t> kept;  // channel indices, increasing
};

std::vector<gguf::TensorToWrite> plan_structured(const gguf::GgufFile& input, const PruneOptions& options,
                                                 PruneReport& report, std::vector<gguf::KeyValue>& metadata) {
    const model::ModelConfig config = model::ModelConfig::from_gguf(input);
    if (config.n_experts > 0) throw usage_error("structured FFN pruning needs dense FFN layers, not experts");
    const int64_t layers = config.n_layers;
    if (options.method == PruneMethod::Nash && !options.ffn_gram)
        throw usage_error("nash structured pruning needs the FFN Gram matrices (collect_ffn_gram)");
    const FfnGram* gram = options.ffn_gram;
    if (gram && int64_t(gram->gram.size()) != layers)
        throw usage_error("the FFN Gram has " + std::to_string(gram->gram.size()) + " layers, the model " +
                          std::to_string(layers));

    std::vector<LayerPlan> plan(static_cast<size_t>(layers));
    bool all_multiple_32 = true;
    BlockGame game;  // nash: every channel of every layer
    for (int64_t l = 0; l < layers; ++l) {
        using model::TensorRole;
        for (TensorRole role : {TensorRole::FfnGate, TensorRole::FfnUp, TensorRole::FfnDown})
            require_float(input.require_tensor(model::tensor_name(role, l)));
        const FfnWeights w = read_ffn_weights(input, l);
        LayerPlan& p = plan[size_t(l)];
        p.full = w.width;
        all_multiple_32 = all_multiple_32 && w.width % 32 == 0;
        report.prunable += w.width;
        switch (options.method) {
            case PruneMethod::Magnitude: p.score = channel_magnitude(w); break;
            case PruneMethod::Wanda:
                p.score = channel_wanda(w, mean_square_for(*options.stats, model::tensor_name(TensorRole::FfnGate, l), w.n_embd),
                                        mean_square_for(*options.stats, model::tensor_name(TensorRole::FfnDown, l), w.width));
                break;
            case PruneMethod::Nash: {
                const std::vector<double>& g = gram->gram[size_t(l)];
                if (gram->width[size_t(l)] != w.width)
                    throw usage_error("the FFN Gram of layer " + std::to_string(l) + " has width " +
                                      std::to_string(gram->width[size_t(l)]) + ", the layer " +
                                      std::to_string(w.width));
                const std::vector<double> products = down_column_products(w);
                std::vector<double> interaction(products.size());
                p.score.resize(size_t(w.width));
                for (int64_t a = 0; a < w.width; ++a) {
                    p.score[size_t(a)] = products[size_t(a * w.width + a)] * g[size_t(a * w.width + a)];
                    for (int64_t b = 0; b < w.width; ++b)
                        interaction[size_t(a * w.width + b)] =
                            a == b ? 0.0 : 2.0 * products[size_t(a * w.width + b)] * g[size_t(a * w.width + b)];
                }
                const int32_t offset = game.players();
                const size_t element = input.require_tensor(model::tensor_name(TensorRole::FfnGate, l)).type_info().block_bytes;
                for (int64_t c = 0; c < w.width; ++c)
                    game.add_block(std::max(0.0, p.score[size_t(c)]), double(3 * w.n_embd) * double(element), int32_t(l));
                add_strongest_edges(game, offset, int32_t(w.width), interaction, options.neighbours, options.cohesion);
                break;
            }
        }
    }
    int64_t m = options.width_multiple > 0 ? options.width_multiple : (all_multiple_32 ? 32 : 1);

    // Widths: fixed in advance (uniform) or from where the channels' choices land (per layer).
    std::vector<int64_t> full(static_cast<size_t>(layers));
    int64_t total_full = 0;
    for (int64_t l = 0; l < layers; ++l) total_full += full[size_t(l)] = plan[size_t(l)].full;
    std::vector<int64_t> uniform(static_cast<size_t>(layers));
    for (int64_t l = 0; l < layers; ++l) uniform[size_t(l)] = uniform_width(full[size_t(l)], options.sparsity, m);
    const int64_t total_target =
        options.sparsity == 0 ? total_full
                              : std::clamp<int64_t>(std::llround((1.0 - options.sparsity) * double(total_full) / double(m)) * m,
                                                    0, total_full);
    auto widths_for = [&](const std::vector<int64_t>& kept) {
        return options.widths == FfnWidths::Uniform ? uniform : round_widths(kept, full, m, total_target);
    };

    if (options.method == PruneMethod::Nash) {
        // Uniform widths: one game per layer, each with its own budget; per-layer widths: one game
        // over every channel, so that layers trade channels at one price.
        if (options.widths == FfnWidths::Uniform) {
            for (int64_t l = 0; l < layers; ++l) {
                BlockGame one;
                const size_t begin = size_t(std::accumulate(full.begin(), full.begin() + l, int64_t(0)));
                const size_t end = begin + size_t(full[size_t(l)]);
                one.cost.assign(game.cost.begin() + 2 * begin, game.cost.begin() + 2 * end);
                one.bytes.assign(game.bytes.begin() + 2 * begin, game.bytes.begin() + 2 * end);
                one.group.assign(end - begin, 0);
                for (const BlockGame::Edge& e : game.edges)
                    if (size_t(e.a) >= begin && size_t(e.a) < end)
                        one.edges.push_back({int32_t(e.a - begin), int32_t(e.b - begin), e.cohesion, e.pair});
                const double budget = double(uniform[size_t(l)]) * one.bytes.front();
                const int64_t width = uniform[size_t(l)];
                BlockGameResult r = solve_block_game(one, budget, options.neighbours,
                                                     [width](const std::vector<int64_t>&) { return std::vector<int64_t>{width}; });
                r.summary.name = "blk." + std::to_string(l) + ".ffn";
                plan[size_t(l)].pruned.assign(r.level.begin(), r.level.end());
                merge_game(report, std::move(r.summary));
            }
        } else {
            double budget = 0;
            {
                // The per-layer byte cost of a channel may differ; budget the target fraction.
                double all = 0;
                for (int32_t i = 0; i < game.players(); ++i) all += game.bytes[size_t(2 * i)];
                budget = all * double(total_target) / double(total_full);
            }
            BlockGameResult r = solve_block_game(game, budget, options.neighbours, widths_for);
            r.summary.name = "ffn";
            size_t at = 0;
            for (int64_t l = 0; l < layers; ++l) {
                plan[size_t(l)].pruned.assign(r.level.begin() + at, r.level.begin() + at + size_t(full[size_t(l)]));
                at += size_t(full[size_t(l)]);
            }
            merge_game(report, std::move(r.summary));
        }
    } else if (options.widths == FfnWidths::Uniform) {
        for (int64_t l = 0; l < layers; ++l)
            plan[size_t(l)].pruned = keep_top(plan[size_t(l)].score, uniform[size_t(l)]);
    } else {
        // One ranking over every layer, then widths rounded to the multiple.
        std::vector<std::pair<double, int64_t>> all;
        for (int64_t l = 0; l < layers; ++l)
            for (int64_t c = 0; c < full[size_t(l)]; ++c) all.push_back({plan[size_t(l)].score[size_t(c)], l});
        std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
        std::vector<int64_t> kept(static_cast<size_t>(layers), 0);
        for (int64_t i = 0; i < total_target; ++i) kept[size_t(all[size_t(i)].second)]++;
        const std::vector<int64_t> widths = widths_for(kept);
        for (int64_t l = 0; l < layers; ++l) plan[size_t(l)].pruned = keep_top(plan[size_t(l)].score, widths[size_t(l)]);
    }

    for (LayerPlan& p : plan) {
        for (int64_t c = 0; c < p.full; ++c)
            if (!p.pruned[size_t(c)]) p.kept.push_back(c);
        report.ffn_widths.push_back(int64_t(p.kept.size()));
        report.pruned += p.full - int64_t(p.kept.size());
    }
    if (gram) {
        for (int64_t l = 0; l < layers; ++l) {
            const FfnWeights w = read_ffn_weights(input, l);
            const RemovalError e = removal_error(down_column_products(w), gram->gram[size_t(l)], plan[size_t(l)].pruned);
            report.ffn_output_error.push_back(e.whole > 0 ? e.removed / e.whole : 0.0);
        }
    }

    // Metadata: the widths, as a scalar when they are equal and were stored as one.
    const std::string key = config.architecture + ".feed_forward_length";
    const bool equal = std::adjacent_find(report.ffn_widths.begin(), report.ffn_widths.end(),
                                          std::not_equal_to<int64_t>()) == report.ffn_widths.end();
    for (gguf::KeyValue& kv : metadata) {
        if (kv.key != key) continue;
        if (equal && !kv.value.as_array()) {
            const uint64_t w = uint64_t(report.ffn_widths.front());
            switch (kv.value.type()) {
                case gguf::ValueType::U64: kv.value = gguf::Value(uint64_t(w)); break;
                case gguf::ValueType::I64: kv.value = gguf::Value(int64_t(w)); break;
                case gguf::ValueType::I32: kv.value = gguf::Value(int32_t(w)); break;
                default: kv.value = gguf::Value(uint32_t(w)); break;
            }
        } else {
            std::vector<gguf::Value> values;
            for (int64_t w : report.ffn_widths) values.push_back(gguf::Value(uint32_t(w)));
            kv.value = gguf::Value::array(gguf::ValueType::U32, std::move(values));
        }
    }

    // Tensors: rows of gate/up and columns of down, copied as stored (no conversion).
    std::vector<gguf::TensorToWrite> out = gguf::tensors_as_stored(input);
    for (size_t i = 0; i < input.tensors().size(); ++i) {
        const gguf::TensorInfo& t = input.tensors()[i];
        const auto parsed = model::parse_tensor_name(t.name);
        if (!parsed) continue;
        const int64_t layer = parsed->layer;
        const bool rows = parsed->role == model::TensorRole::FfnGate || parsed->role == model::TensorRole::FfnUp;
        if (!rows && parsed->role != model::TensorRole::FfnDown) continue;
        const LayerPlan& p = plan[size_t(layer)];
        PrunedTensor entry;
        entry.name = t.name;
        entry.shape_before = t.dims;
        entry.shape_after = t.dims;
        entry.shape_after[rows ? 1 : 0] = int64_t(p.kept.size());
        entry.pruned = (p.full - int64_t(p.kept.size())) * (rows ? t.dims[0] : t.dims[1]);
        report.tensors.push_back(entry);
        if (int64_t(p.kept.size()) == p.full) continue;  // unchanged: as stored
        out[i].dims = entry.shape_after;
        out[i].data = nullptr;
        out[i].produce = [&t, kept = p.kept, rows](std::vector<uint8_t>& bytes) {
            const size_t element = t.type_info().block_bytes;
            const size_t row_bytes = size_t(t.row_length()) * element;
            if (rows) {
                for (int64_t c : kept)
                    bytes.insert(bytes.end(), t.data + size_t(c) * row_bytes, t.data + size_t(c + 1) * row_bytes);
            } else {
                for (int64_t i = 0; i < t.n_rows(); ++i) {
                    const uint8_t* row = t.data + size_t(i) * row_bytes;
                    for (int64_t c : kept)
                        bytes.insert(bytes.end(), row + size_t(c) * element, row + size_t(c + 1) * element);
                }
            }
        };
    }
    return out;
}

}  // namespace

constexpr EnumName<PruneMethod> kPruneMethods[] = {
    {PruneMethod::Magnitude, "magnitude"}, {PruneMethod::Wanda, "wanda"}, {PruneMethod::Nash, "nash"}};
constexpr EnumName<PruneStructure> kPruneStructures[] = {{PruneStructure::FfnChannels, "ffn"},
                                                         {PruneStructure::Unstructured, "unstructured"}};
constexpr EnumName<FfnWidths> kFfnWidths[] = {{FfnWidths::Uniform, "uniform"}, {FfnWidths::PerLayer, "per-layer"}};

PruneMethod parse_prune_method(const std::string& name) { return parse_enum(kPruneMethods, name, "pruning method"); }

PruneStructure parse_prune_structure(const std::string& name) {
    return parse_enum(kPruneStructures, name, "pruning structure");
}

FfnWidths parse_ffn_widths(const std::string& name) { return parse_enum(kFfnWidths, name, "FFN widths"); }

const char* prune_method_name(PruneMethod method) { return enum_name(kPruneMethods, method); }

PruneReport prune_model(const gguf::GgufFile& input, const PruneOptions& options) {
    const auto start = std::chrono::steady_clock::now();
    if (!(options.sparsity >= 0 && options.sparsity < 1))
        throw usage_error("sparsity " + format_number(options.sparsity) + " is outside [0, 1)");
    if (options.output_path.empty()) throw usage_error("no output path for the pruned model");
    if (options.output_path == input.path() || same_file(options.output_path, input.path()))
        throw usage_error(options.output_path + ": output would overwrite the input file; choose another path");
    if (options.method != PruneMethod::Magnitude && !options.stats)
        throw usage_error(std::string(prune_method_name(options.method)) +
                          " pruning needs calibration statistics (--calib TEXT)");
    if (options.neighbours < 0 || options.neighbours > 64)
        throw usage_error("neighbours " + std::to_string(options.neighbours) + " is outside [0, 64]");
    if (!(options.cohesion >= 0) || !std::isfinite(options.cohesion))
        throw usage_error("cohesion must be a finite number >= 0");
    if (options.width_multiple < 0) throw usage_error("the FFN width multiple must not be negative");

    if (input.tensors().empty())
        throw input_error(input.path(), "contains no tensors: a vocabulary-only GGUF, not a model");
    PruneReport report;
    std::vector<gguf::KeyValue> metadata = input.metadata();
    std::vector<gguf::TensorToWrite> tensors;
    if (options.structure == PruneStructure::FfnChannels) {
        const std::string family = input.get_string_or("general.architecture", "");
        if (const model::Architecture* a = model::find_architecture(family); a && a->fused_gate_up)
            throw usage_error("--structured ffn is not supported for " + family +
                              " files (their gate and up rows share one tensor); prune unstructured instead");
        tensors = plan_structured(input, options, report, metadata);
    } else {
        tensors = plan_unstructured(input, options, report);
    }

    gguf::WriteOptions write;
    write.refuse_overwrite_of = input.path();
    write.progress = options.progress;
    report.file_bytes = gguf::write_gguf(options.output_path, metadata, tensors, write);

    if (options.structure == PruneStructure::Unstructured)
        for (const PrunedTensor& t : report.tensors) report.pruned += t.pruned;
    report.achieved_sparsity = report.prunable > 0 ? double(report.pruned) / double(report.prunable) : 0.0;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

}  // namespace dilmodeli::compress
