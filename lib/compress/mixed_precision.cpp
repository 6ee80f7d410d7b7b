#include "compress/mixed_precision.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "common/enum_names.h"
#include "common/error.h"
#include "common/number_format.h"
#include "compress/tensor_roles.h"
#include "gguf/gguf_file.h"
#include "gguf/value.h"
#include "model/tensor_names.h"
#include "nash/budget.h"
#include "nash/budget_fill.h"
#include "nash/game_builder.h"
#include "nash/neighbours.h"

namespace dilmodeli::compress {
namespace {

using quant::TypeId;

uint64_t align_up(uint64_t x, uint64_t alignment) { return (x + alignment - 1) / alignment * alignment; }

uint64_t tensor_bytes(const gguf::TensorInfo& t, TypeId type) {
    const quant::TypeInfo& info = quant::type_info(type);
    return uint64_t(t.n_elements() / info.block_size) * info.block_bytes;
}

// "blk.12.ffn_down.weight" -> (12, "ffn_down"); "output.weight" -> (-1, "output").
std::pair<int32_t, std::string> layer_and_role(const std::string& name) {
    std::string stem = name;
    const std::string suffix = ".weight";
    if (stem.size() > suffix.size() && stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0) {
        if (const auto parsed = model::parse_tensor_name(name))
            return {int32_t(parsed->layer), std::string(model::tensor_stem(parsed->role))};
        stem.resize(stem.size() - suffix.size());
    }
    return {-1, stem};
}

// Serialized size of one metadata value's body, as gguf_writer encodes it.
uint64_t value_body_bytes(const gguf::Value& value) {
    return std::visit(
        [](const auto& v) -> uint64_t {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string>) {
                return 8 + v.size();
            } else if constexpr (std::is_same_v<T, gguf::Array>) {
                uint64_t n = 4 + 8;
                for (size_t i = 0; i < v.size(); ++i) n += value_body_bytes(v.at(i));
                return n;
            } else if constexpr (std::is_same_v<T, bool>) {
                return 1;
            } else {
                return sizeof(T);
            }
        },
        value.data);
}

const std::vector<float>* rounding_importance(const gguf::TensorInfo& t, const ActivationStats* stats) {
    if (!stats) return nullptr;
    auto it = stats->mean_square.find(t.name);
    if (it == stats->mean_square.end() || int64_t(it->second.size()) != t.row_length()) return nullptr;
    return &it->second;
}

struct PairResult {
    double error = 0;
    double signal = 0;
};

// D for one (tensor, type): the same row conversion as quantize_model, errors weighted.
PairResult measure_pair(const gguf::TensorInfo& t, TypeId target, const std::vector<float>* importance,
                        const ErrorWeights& weights, bool with_signal) {
    const quant::TypeInfo& from = t.type_info();
    const quant::TypeInfo& to = quant::type_info(target);
    const int64_t cols = t.row_length(), rows = t.n_rows();
    const size_t in_row_bytes = from.row_bytes(cols), out_row_bytes = to.row_bytes(cols);
    std::vector<double> row_error(size_t(rows), 0.0), row_signal(size_t(rows), 0.0);
    const float* rounding = importance ? importance->data() : nullptr;
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows, 16), [&](const tbb::blocked_range<int64_t>& r) {
        std::vector<float> source(static_cast<size_t>(cols)), back(static_cast<size_t>(cols));
        std::vector<uint8_t> packed(out_row_bytes);
        for (int64_t i = r.begin(); i < r.end(); ++i) {
            from.dequantize_row(t.data + size_t(i) * in_row_bytes, source.data(), cols);
            to.quantize_row(source.data(), packed.data(), cols, rounding);
            to.dequantize_row(packed.data(), back.data(), cols);
            double e = 0, s = 0;
            for (int64_t c = 0; c < cols; ++c) {
                const double w = weights.column.empty() ? 1.0 : double(weights.column[size_t(c)]);
                const double x = source[size_t(c)], d = double(back[size_t(c)]) - x;
                e += w * d * d;
                if (with_signal) s += w * x * x;
            }
            const double rw = weights.row.empty() ? 1.0 : double(weights.row[size_t(i)]);
            row_error[size_t(i)] = rw * e;
            row_signal[size_t(i)] = rw * s;
        }
    });
    PairResult result;
    for (int64_t i = 0; i < rows; ++i) {  // in row order: the same sum for any thread count
        result.error += row_error[size_t(i)];
        result.signal += row_signal[size_t(i)];
    }
    return result;
}

Error too_small(uint64_t target, uint64_t least) {
    return usage_error("a file of " + std::to_string(target) +
                       " bytes is not possible: the smallest (every matrix in its smallest type) takes " +
                       std::to_string(least) + " bytes");
}

}  // namespace

uint64_t smallest_file_bytes(const gguf::GgufFile& input, const std::vector<TypeId>& types) {
    if (types.empty()) throw usage_error("no quant types to choose from");
    std::vector<TensorChoice> plan;
    for (const gguf::TensorInfo& t : input.tensors()) {
        TensorChoice c{t.name, t.type, ""};
        if (is_quantizable(t)) {
            uint64_t best = UINT64_MAX;
            for (TypeId wanted : types) {
                const TypeId type = fallback_type(wanted, t.row_length());
                if (tensor_bytes(t, type) < best) best = tensor_bytes(t, type), c.type = type;
            }
        }
        plan.push_back(c);
    }
    return planned_file_bytes(input, plan, kFileTypeMixed);
}

void check_target_size(const gguf::GgufFile& input, const std::vector<TypeId>& types, uint64_t target) {
    const uint64_t least = smallest_file_bytes(input, types);
    if (target < least) throw too_small(target, least);
}

std::vector<TypeId> default_mixed_types() { return quant::quality_ladder(); }

std::vector<TypeId> parse_type_list(const std::string& list) {
    std::vector<TypeId> types;
    size_t start = 0;
    while (start <= list.size()) {
        size_t end = list.find(',', start);
        if (end == std::string::npos) end = list.size();
        const std::string name = list.substr(start, end - start);
        if (name.empty()) throw usage_error("empty type name in the list '" + list + "'");
        const quant::TypeInfo& info = quant::type_by_name(name);
        if (!info.quantize_row || !info.dequantize_row)
            throw usage_error(std::string("type ") + info.name + " cannot be produced");
        if (std::find(types.begin(), types.end(), info.id) == types.end()) types.push_back(info.id);
        start = end + 1;
    }
    return types;
}

size_t probe_index(const TensorCandidates& c, TypeId probe) {
    const double bits = quant::type_info(probe).bits_per_weight();
    size_t best = 0;
    for (size_t k = 1; k < c.types.size(); ++k)
        if (std::fabs(quant::type_info(c.types[k]).bits_per_weight() - bits) <
            std::fabs(quant::type_info(c.types[best]).bits_per_weight() - bits))
            best = k;
    return best;
}

constexpr EnumName<Importance> kImportances[] = {
    {Importance::Output, "output"}, {Importance::Relative, "relative"}, {Importance::Loss, "loss"}};

Importance parse_importance(const std::string& name) { return parse_enum(kImportances, name, "importance"); }

const char* importance_name(Importance importance) { return enum_name(kImportances, importance); }

double TensorSensitivity::at(double b) const {
    if (bits.empty()) return 1.0;
    if (b <= bits.front()) return alpha.front();
    if (b >= bits.back()) return alpha.back();
    size_t k = 1;
    while (bits[k] < b) ++k;
    const double f = (b - bits[k - 1]) / (bits[k] - bits[k - 1]);
    if (alpha[k - 1] <= 0 || alpha[k] <= 0) return (1 - f) * alpha[k - 1] + f * alpha[k];
    return std::exp((1 - f) * std::log(alpha[k - 1]) + f * std::log(alpha[k]));
}

int64_t total_parameters(const gguf::GgufFile& input) {
    int64_t n = 0;
    for (const gguf::TensorInfo& t : input.tensors()) n += t.n_elements();
    return n;
}

ErrorWeights error_weights(const gguf::TensorInfo& tensor, const ActivationStats* stats,
                           const std::vector<double>* token_counts) {
    ErrorWeights w;
    if (const std::vector<float>* column = rounding_importance(tensor, stats)) {
        w.column = *column;
        return w;
    }
    // A lookup table (the token embedding, when it is not also the output head): row r is read
    // when token r occurs, so its error counts with the token's frequency. Without token counts
    // every row counts alike (weight 1, as every weight of every matrix does then).
    if (layer_and_role(tensor.name).second == "token_embd" && token_counts &&
        int64_t(token_counts->size()) == tensor.n_rows()) {
        double total = 0;
        for (double c : *token_counts) total += c;
        if (total > 0) {
            w.row.resize(token_counts->size());
            for (size_t r = 0; r < w.row.size(); ++r) w.row[r] = float((*token_counts)[r] / total);
        }
    }
    return w;
}

std::vector<TensorCandidates> measure_candidates(const gguf::GgufFile& input, const MeasureOptions& options) {
    if (options.types.empty()) throw usage_error("no quant types to choose from");
    const uint64_t alignment = input.alignment();
    std::vector<TensorCandidates> out;
    struct Pair {
        size_t candidate, type;
    };
    std::vector<Pair> pairs;
    for (size_t index = 0; index < input.tensors().size(); ++index) {
        const gguf::TensorInfo& t = input.tensors()[index];
        if (!is_quantizable(t)) continue;
        if (!t.type_info().dequantize_row)
            throw input_error(input.path(), "tensor '" + t.name + "' of type " + t.type_info().name + " cannot be read");
        TensorCandidates c;
        c.name = t.name;
        c.file_index = index;
        c.parameters = t.n_elements();
        std::tie(c.layer, c.role) = layer_and_role(t.name);
        for (TypeId wanted : options.types) {
            const TypeId type = fallback_type(wanted, t.row_length());
            if (std::find(c.types.begin(), c.types.end(), type) == c.types.end()) c.types.push_back(type);
        }
        std::stable_sort(c.types.begin(), c.types.end(), [](TypeId a, TypeId b) {
            return quant::type_info(a).bits_per_weight() < quant::type_info(b).bits_per_weight();
        });
        for (TypeId type : c.types) c.bytes.push_back(align_up(tensor_bytes(t, type), alignment));
        c.error.assign(c.types.size(), 0.0);
        for (size_t k = 0; k < c.types.size(); ++k) pairs.push_back({out.size(), k});
        out.push_back(std::move(c));
    }

    std::vector<ErrorWeights> weights(out.size());
    for (size_t i = 0; i < out.size(); ++i) {
        const gguf::TensorInfo& t = input.tensors()[out[i].file_index];
        weights[i] = error_weights(t, options.stats, options.token_counts);
        out[i].weighted = !weights[i].column.empty() || !weights[i].row.empty();
    }
    std::atomic<size_t> done{0};
    tbb::parallel_for(size_t(0), pairs.size(), [&](size_t p) {
        TensorCandidates& c = out[pairs[p].candidate];
        const gguf::TensorInfo& t = input.tensors()[c.file_index];
        const bool first = pairs[p].type == 0;
        const PairResult r = measure_pair(t, c.types[pairs[p].type], rounding_importance(t, options.stats),
                                          weights[pairs[p].candidate], first);
        c.error[pairs[p].type] = r.error;
        if (first) c.signal = r.signal;
        const size_t n = ++done;
        if (options.progress) options.progress(n, pairs.size());
    });
    return out;
}

uint64_t planned_header_bytes(const gguf::GgufFile& input, const std::vector<TensorChoice>& plan,
                              uint32_t /*file_type: always stored as a u32*/) {
    // quantize_model's metadata: the input's, with general.file_type and
    // general.quantization_version set (as u32, replaced in place or appended).
    uint64_t n = 4 + 4 + 8 + 8;
    bool has_file_type = false, has_version = false;
    for (const gguf::KeyValue& kv : input.metadata()) {
        uint64_t body = value_body_bytes(kv.value);
        if (kv.key == "general.file_type") has_file_type = true, body = 4;
        if (kv.key == "general.quantization_version") has_version = true, body = 4;
        n += 8 + kv.key.size() + 4 + body;
    }
    if (!has_file_type) n += 8 + std::string("general.file_type").size() + 4 + 4;
    if (!has_version) n += 8 + std::string("general.quantization_version").size() + 4 + 4;
    for (size_t i = 0; i < input.tensors().size(); ++i) {
        const gguf::TensorInfo& t = input.tensors()[i];
        if (i < plan.size() && plan[i].name != t.name)
            throw usage_error("quantization plan entry " + std::to_string(i) + " names '" + plan[i].name + "'");
        n += 8 + t.name.size() + 4 + 8 * t.dims.size() + 4 + 8;
    }
    return input.tensors().empty() ? n : align_up(n, input.alignment());
}

uint64_t planned_file_bytes(const gguf::GgufFile& input, const std::vector<TensorChoice>& plan, uint32_t file_type) {
    if (plan.size() != input.tensors().size())
        throw usage_error("quantization plan has " + std::to_string(plan.size()) + " entries for " +
                          std::to_string(input.tensors().size()) + " tensors");
    uint64_t n = planned_header_bytes(input, plan, file_type);
    for (size_t i = 0; i < plan.size(); ++i)
        n += align_up(tensor_bytes(input.tensors()[i], plan[i].type), input.alignment());
    return n;
}

MixedPrecisionPlan plan_mixed_precision(const gguf::GgufFile& input, const std::vector<TensorCandidates>& candidates,
                                        const MixedPrecisionOptions& options) {
    if (!(options.cohesion >= 0) || !std::isfinite(options.cohesion))
        throw usage_error("--cohesion must be a finite number >= 0, got " + format_number(options.cohesion));
    const auto& tensors = input.tensors();
    MixedPrecisionPlan result;
    result.target_file_bytes = options.target_file_bytes;
    result.parameters = total_parameters(input);

    // Every tensor that is not a player keeps its type.
    std::vector<int32_t> player_of(tensors.size(), -1);
    for (size_t p = 0; p < candidates.size(); ++p) {
        if (candidates[p].file_index >= tensors.size() || tensors[candidates[p].file_index].name != candidates[p].name)
            throw usage_error("measurements do not match the file: '" + candidates[p].name + "'");
        player_of[candidates[p].file_index] = int32_t(p);
    }
    result.plan.reserve(tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        result.plan.push_back({tensors[i].name, tensors[i].type, player_of[i] < 0 ? "kept (not a weight matrix)" : ""});
        if (player_of[i] < 0) result.fixed_bytes += align_up(tensors[i].n_bytes, input.alignment());
    }
    result.header_bytes = planned_header_bytes(input, result.plan, kFileTypeMixed);
    uint64_t least = result.header_bytes + result.fixed_bytes;
    for (const TensorCandidates& c : candidates) least += *std::min_element(c.bytes.begin(), c.bytes.end());
    if (options.target_file_bytes < least) throw too_small(options.target_file_bytes, least);
    result.budget_bytes = options.target_file_bytes - result.header_bytes - result.fixed_bytes;

    // Labels: every distinct type across players; the kernel is |bits(a) - bits(b)|.
    std::vector<TypeId> label_types;
    for (const TensorCandidates& c : candidates)
        for (TypeId t : c.types)
            if (std::find(label_types.begin(), label_types.end(), t) == label_types.end()) label_types.push_back(t);
    const int32_t num_labels = std::max<int32_t>(1, int32_t(label_types.size()));
    std::vector<double> table(size_t(num_labels) * size_t(num_labels), 0.0);
    for (size_t a = 0; a < label_types.size(); ++a)
        for (size_t b = 0; b < label_types.size(); ++b)
            table[a * size_t(num_labels) + b] = std::fabs(quant::type_info(label_types[a]).bits_per_weight() -
                                                          quant::type_info(label_types[b]).bits_per_weight());

    // alpha_i(t) for every candidate; the cohesion's unit.
    std::vector<std::vector<double>> alpha(candidates.size());
    std::vector<double> unit_cost(candidates.size(), 0.0);
    double unit_cost_sum = 0;
    for (size_t p = 0; p < candidates.size(); ++p) {
        const TensorCandidates& c = candidates[p];
        auto it = options.sensitivity.find(c.name);
        if (options.importance == Importance::Loss && it == options.sensitivity.end())
            throw usage_error("no measured sensitivity for '" + c.name + "'");
        for (TypeId t : c.types) {
            double a = 1.0;
            if (options.importance == Importance::Loss) a = it->second.at(quant::type_info(t).bits_per_weight());
            if (options.importance == Importance::Relative && c.signal > 0) a = double(c.parameters) / c.signal;
            if (!(a >= 0) || !std::isfinite(a))
                throw usage_error("sensitivity of '" + c.name + "' is " + format_number(a));
            alpha[p].push_back(a);
        }
        const size_t unit = probe_index(c, options.unit_type);
        unit_cost[p] = alpha[p][unit] * c.error[unit];
        unit_cost_sum += unit_cost[p];
    }
    // The game runs in units of the mean cost at the unit type, so that its numbers are near 1
    // whatever the model (the engine's tolerances are absolute as well as relative).
    double unit = candidates.empty() ? 1.0 : unit_cost_sum / double(candidates.size());
    if (!(unit > 0) || !std::isfinite(unit)) unit = 1.0;
    result.cost_unit = unit;
    result.cohesion_weight = options.cohesion;

    nash::GameBuilder builder(options.neighbours);
    for (size_t p = 0; p < candidates.size(); ++p) {
        const TensorCandidates& c = candidates[p];
        std::vector<double> cost, bytes;
        std::vector<int32_t> labels;
        for (size_t k = 0; k < c.types.size(); ++k) {
            cost.push_back(alpha[p][k] * c.error[k] / unit);
            bytes.push_back(double(c.bytes[k]));
            labels.push_back(int32_t(std::find(label_types.begin(), label_types.end(), c.types[k]) - label_types.begin()));
        }
        builder.add_player(cost);
        std::vector<double>& natural = result.costs[c.name];
        for (double x : cost) natural.push_back(x * unit);
        builder.set_bytes(int32_t(p), bytes);
        builder.set_labels(int32_t(p), labels);
    }
    const int32_t kernel = builder.add_kernel(num_labels, table);

    // Candidate neighbours by "distance": the same role one layer away first, then the
    // matrices of the same layer by how far apart they are in the file.
    nash::NeighbourLists directed;
    for (size_t p = 0; p < candidates.size(); ++p) {
        const TensorCandidates& c = candidates[p];
        for (size_t q = 0; q < candidates.size(); ++q) {
            if (q == p) continue;
            const TensorCandidates& d = candidates[q];
            double distance = -1;
            if (c.layer >= 0 && d.layer >= 0) {
                if (c.role == d.role && std::abs(c.layer - d.layer) == 1) distance = 1.0;
                else if (c.layer == d.layer)
                    distance = 2.0 + 1e-3 * std::fabs(double(c.file_index) - double(d.file_index));
            } else if (c.layer < 0 && d.layer < 0) {
                distance = 1.0;
            }
            if (distance < 0) continue;
            directed.index.push_back(int32_t(q));
            directed.distance.push_back(distance);
        }
        directed.begin.push_back(int64_t(directed.index.size()));
    }
    const nash::NeighbourLists lists = nash::symmetric_capped(directed, options.neighbours);
    for (int32_t p = 0; p < lists.num_points(); ++p)
        for (int64_t e = lists.begin[p]; e < lists.begin[p + 1]; ++e)
            if (lists.index[e] > p && options.cohesion > 0) {
                // mu relative to the pair's own scale: the geometric mean of their costs at the
                // unit type (in game units), so that a cheap tensor is not dragged by the
                // coupling more than by its own error, nor an expensive one less.
                const double scale = std::sqrt(unit_cost[p] * unit_cost[lists.index[e]]) / unit;
                if (scale > 0) builder.add_edge(p, lists.index[e], kernel, options.cohesion * scale);
            }
    const nash::Game game = builder.build();

    nash::BudgetOptions budget;
    budget.relative_tolerance = 1e-9;
    budget.max_solves = 400;
    nash::BudgetReport solved = nash::solve_with_budget(game, double(result.budget_bytes), budget);
    if (solved.binding) {
        // The bisection ends within 1e-9 of the critical price, where the tensor that tipped
        // the total over the budget is all but indifferent between its two types; one part in
        // a million more makes it strictly prefer the one that fits (largest gain exactly 0).
        nash::SolveOptions nudge = budget.solve;
        nudge.price = solved.price * (1 + 1e-6);
        nudge.initial = solved.equilibrium.strategy;
        nash::SolveReport settled = nash::solve_equilibrium(game, nudge);
        solved.solves++;
        if (settled.converged && settled.bytes <= double(result.budget_bytes)) {
            solved.price = nudge.price;
            solved.bytes = settled.bytes;
            solved.equilibrium = std::move(settled);
        }
    }
    const nash::SolveReport& eq = solved.equilibrium;
    // Spend what the price left: the profile becomes an equilibrium of the constrained game.
    const nash::FillReport filled =
        nash::fill_budget(game, eq.strategy, double(result.budget_bytes), budget.solve.tolerance);
    result.fill_bytes = uint64_t(std::max(0.0, filled.bytes - eq.bytes));
    result.fill_moves = filled.moves;
    result.largest_feasible_gain = filled.largest_feasible_gain * unit;
    result.is_constrained_equilibrium = filled.is_equilibrium;

    result.binding = solved.binding;
    result.price = solved.price * unit;
    result.solves = solved.solves;
    result.sweeps = eq.sweeps;
    result.moves = eq.moves;
    result.converged = solved.all_converged && eq.converged;
    result.potential = eq.potential * unit;
    result.largest_gain = eq.check.largest_gain * unit;
    result.is_equilibrium = eq.check.is_equilibrium;
    result.colours = eq.colours;

    uint64_t player_bytes = 0;
    for (size_t p = 0; p < candidates.size(); ++p) {
        const TensorCandidates& c = candidates[p];
        const size_t s = size_t(filled.strategy[p]);
        TensorChoice& choice = result.plan[c.file_index];
        choice.type = c.types[s];
        choice.note = "nash";
        MixedTensorResult r;
        r.name = c.name;
        r.type = c.types[s];
        r.bytes = tensor_bytes(tensors[c.file_index], r.type);
        r.bits_per_weight = 8.0 * double(r.bytes) / double(std::max<int64_t>(1, c.parameters));
        r.error = c.error[s];
        r.relative_error = c.signal > 0 ? std::sqrt(c.error[s] / c.signal) : 0.0;
        r.importance = alpha[p][s];
        r.cost = alpha[p][s] * c.error[s];
        r.neighbours = lists.degree(int32_t(p));
        result.total_cost += r.cost;
        player_bytes += c.bytes[s];
        result.tensors.push_back(r);
    }
    result.planned_file_bytes = result.header_bytes + result.fixed_bytes + player_bytes;
    result.planned_bits_per_weight =
        8.0 * double(result.planned_file_bytes) / double(std::max<int64_t>(1, result.parameters));
    return result;
}

}  // namespace dilmodeli::compress
