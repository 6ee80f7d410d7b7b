#include "compress/report.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "quant/quant_type.h"

namespace dilmodeli::compress {
namespace {

nlohmann::json uniform_json(const QuantizeReport& r) {
    nlohmann::json tensors = nlohmann::json::array();
    for (const auto& t : r.tensors)
        tensors.push_back({{"name", t.name}, {"shape", t.shape}, {"from", t.from_type}, {"type", t.to_type},
                           {"bytes", t.bytes}, {"bits_per_weight", t.bits_per_weight},
                           {"relative_rms_error", t.relative_rms_error}, {"note", t.note}});
    return {{"file_bytes", r.file_bytes}, {"parameters", r.parameters}, {"tensor_bytes", r.tensor_bytes},
            {"bits_per_weight", r.bits_per_weight},
            {"file_bits_per_weight", 8.0 * double(r.file_bytes) / double(std::max<int64_t>(1, r.parameters))},
            {"seconds", r.seconds}, {"tensors", tensors}};
}

std::string uniform_table(const QuantizeReport& r) {
    std::string out;
    char line[512];
    std::snprintf(line, sizeof line, "%-34s %-14s %-7s %-7s %6s %10s  %s\n", "tensor", "shape", "from", "to", "bpw",
                  "rel.error", "note");
    out += line;
    for (const auto& t : r.tensors) {
        std::string shape = nlohmann::json(t.shape).dump();
        std::snprintf(line, sizeof line, "%-34s %-14s %-7s %-7s %6.2f %10.5f  %s\n", t.name.c_str(), shape.c_str(),
                      t.from_type.c_str(), t.to_type.c_str(), t.bits_per_weight, t.relative_rms_error,
                      t.note.c_str());
        out += line;
    }
    std::snprintf(line, sizeof line, "file %llu bytes, %.3f bits per weight over %lld parameters, %.2f s",
                  static_cast<unsigned long long>(r.file_bytes), r.bits_per_weight,
                  static_cast<long long>(r.parameters), r.seconds);
    return out + line;
}

nlohmann::json budget_json(const BudgetRun& run) {
    const MixedPrecisionPlan& p = run.plan;
    const QuantizeReport& w = run.written;
    nlohmann::json tensors = nlohmann::json::array();
    for (size_t i = 0, player = 0; i < w.tensors.size(); ++i) {
        const TensorReport& t = w.tensors[i];
        nlohmann::json row = {{"name", t.name},
                              {"shape", t.shape},
                              {"from", t.from_type},
                              {"type", t.to_type},
                              {"bytes", t.bytes},
                              {"bits_per_weight", t.bits_per_weight},
                              {"relative_rms_error", t.relative_rms_error},
                              {"note", t.note}};
        if (player < p.tensors.size() && p.tensors[player].name == t.name) {
            const MixedTensorResult& m = p.tensors[player++];
            row["output_error"] = m.error;
            row["relative_output_error"] = m.relative_error;
            row["alpha"] = m.importance;
            row["cost"] = m.cost;
            row["neighbours"] = m.neighbours;
            if (run.sensitivity) {
                const TensorSensitivity& ts = run.sensitivity->tensors.at(t.name);
                row["sensitivity"] = {{"bits", ts.bits}, {"kl", ts.kl}, {"alpha", ts.alpha}};
            }
            nlohmann::json options = nlohmann::json::array();
            for (const TensorCandidates& c : run.candidates) {
                if (c.name != t.name) continue;
                for (size_t k = 0; k < c.types.size(); ++k)
                    options.push_back({{"type", quant::type_info(c.types[k]).name},
                                       {"bytes", c.bytes[k]},
                                       {"output_error", c.error[k]},
                                       {"cost", run.plan.costs.at(t.name)[k]}});
            }
            row["candidates"] = options;
        }
        tensors.push_back(row);
    }
    nlohmann::json out = {
        {"file_bytes", w.file_bytes},
        {"target_file_bytes", p.target_file_bytes},
        {"parameters", w.parameters},
        {"file_bits_per_weight", 8.0 * double(w.file_bytes) / double(std::max<int64_t>(1, w.parameters))},
        {"tensor_bits_per_weight", w.bits_per_weight},
        {"header_bytes", p.header_bytes},
        {"fixed_bytes", p.fixed_bytes},
        {"budget_bytes", p.budget_bytes},
        {"total_cost", p.total_cost},
        {"cohesion_weight", p.cohesion_weight},
        {"equilibrium",
         {{"binding", p.binding},
          {"price", p.price},
          {"solves", p.solves},
          {"sweeps", p.sweeps},
          {"moves", p.moves},
          {"converged", p.converged},
          {"potential", p.potential},
          {"largest_unilateral_gain", p.largest_gain},
          {"is_equilibrium", p.is_equilibrium},
          {"colours", p.colours}}},
        {"budget_fill",
         {{"moves", p.fill_moves},
          {"bytes", p.fill_bytes},
          {"largest_feasible_gain", p.largest_feasible_gain},
          {"is_constrained_equilibrium", p.is_constrained_equilibrium}}},
        {"calibration_tokens", run.calibration_tokens},
        {"importance", run.importance},
        {"seconds", run.seconds},
        {"tensors", tensors}};
    if (run.requested_bpw > 0) out["budget_bpw"] = run.requested_bpw;
    if (run.sensitivity)
        out["sensitivity"] = {{"tokens", run.sensitivity->tokens}, {"seconds", run.sensitivity->seconds}};
    return out;
}

std::string budget_table(const BudgetRun& run) {
    const MixedPrecisionPlan& p = run.plan;
    const QuantizeReport& w = run.written;
    std::string out;
    char line[640];
    std::snprintf(line, sizeof line, "%-28s %-12s %-6s %6s %9s %11s %9s %10s %11s  %s\n", "tensor", "shape", "type",
                  "bpw", "bytes", "out.error", "rel.out", "alpha", "cost", "note");
    out += line;
    for (size_t i = 0, player = 0; i < w.tensors.size(); ++i) {
        const TensorReport& t = w.tensors[i];
        const std::string shape = nlohmann::json(t.shape).dump();
        if (player < p.tensors.size() && p.tensors[player].name == t.name) {
            const MixedTensorResult& m = p.tensors[player++];
            std::snprintf(line, sizeof line, "%-28s %-12s %-6s %6.3f %9llu %11.4e %9.5f %10.4e %11.4e  %s\n",
                          t.name.c_str(), shape.c_str(), t.to_type.c_str(), t.bits_per_weight,
                          static_cast<unsigned long long>(t.bytes), m.error, m.relative_error, m.importance, m.cost,
                          t.note.c_str());
        } else {
            std::snprintf(line, sizeof line, "%-28s %-12s %-6s %6.3f %9llu %11s %9s %10s %11s  %s\n", t.name.c_str(),
                          shape.c_str(), t.to_type.c_str(), t.bits_per_weight,
                          static_cast<unsigned long long>(t.bytes), "-", "-", "-", "-", t.note.c_str());
        }
        out += line;
    }
    std::snprintf(line, sizeof line,
                  "file %llu bytes (target %llu: header %llu, kept tensors %llu, budget for matrices %llu), "
                  "%.4f bits per weight over %lld parameters\n",
                  static_cast<unsigned long long>(w.file_bytes), static_cast<unsigned long long>(p.target_file_bytes),
                  static_cast<unsigned long long>(p.header_bytes), static_cast<unsigned long long>(p.fixed_bytes),
                  static_cast<unsigned long long>(p.budget_bytes),
                  8.0 * double(w.file_bytes) / double(std::max<int64_t>(1, w.parameters)),
                  static_cast<long long>(w.parameters));
    out += line;
    std::snprintf(line, sizeof line,
                  "equilibrium: price %.6e per byte (%s), %d solves, %d sweeps, %lld moves, %s; largest unilateral "
                  "gain %.3g (%s); total cost %.6e; %.2f s",
                  p.price, p.binding ? "binding" : "budget not binding", p.solves, p.sweeps,
                  static_cast<long long>(p.moves), p.converged ? "converged" : "NOT converged", p.largest_gain,
                  p.is_equilibrium ? "Nash equilibrium" : "NOT an equilibrium", p.total_cost, run.seconds);
    out += line;
    std::snprintf(line, sizeof line,
                  "\nbudget fill: %lld moves spent %llu of the slack bytes; largest gain within the budget %.3g (%s)",
                  static_cast<long long>(p.fill_moves), static_cast<unsigned long long>(p.fill_bytes),
                  p.largest_feasible_gain,
                  p.is_constrained_equilibrium ? "equilibrium of the budget-constrained game" : "NOT an equilibrium");
    return out + line;
}

nlohmann::json game_json(const NashGameSummary& g) {
    return {{"name", g.name},         {"players", g.players},   {"edges", g.edges},
            {"price", g.price},       {"solves", g.solves},     {"sweeps", g.sweeps},
            {"moves", g.moves},       {"converged", g.converged}, {"largest_gain", g.largest_gain},
            {"is_equilibrium", g.is_equilibrium}, {"budget_bytes", g.budget_bytes}, {"bytes", g.bytes},
            {"adjusted", g.adjusted}};
}

}  // namespace

nlohmann::json quantize_json(const QuantizeResult& result) {
    if (result.uniform) return uniform_json(*result.uniform);
    nlohmann::json out = budget_json(*result.budget);
    if (result.preset) out["preset"] = {{"path", result.preset->path}, {"description", result.preset->description}};
    if (result.pruned) {
        const Preset& p = *result.preset;
        const PruneReport& r = *result.pruned;
        out["prune"] = {{"sparsity", p.sparsity},     {"method", p.method},
                        {"structure", p.structure},   {"achieved_sparsity", r.achieved_sparsity},
                        {"ffn_widths", r.ffn_widths}, {"file_bytes", r.file_bytes},
                        {"largest_unilateral_gain", r.largest_unilateral_gain}};
    }
    return out;
}

std::string quantize_text(const QuantizeResult& result) {
    if (result.uniform) return uniform_table(*result.uniform);
    std::string text;
    if (result.preset) text = "preset " + result.preset->path + ": " + result.preset->description + "\n";
    if (result.pruned)
        text += "pruned " + result.preset->structure + " by " + result.preset->method + ": achieved sparsity " +
                std::to_string(result.pruned->achieved_sparsity) + "\n";
    return text + budget_table(*result.budget);
}

nlohmann::json prune_json(const PruneReport& r, const std::string& method, const std::string& structure) {
    nlohmann::json tensors = nlohmann::json::array();
    for (const auto& t : r.tensors)
        tensors.push_back({{"name", t.name}, {"shape_before", t.shape_before}, {"shape_after", t.shape_after},
                           {"pruned", t.pruned}, {"zero_fraction", t.zero_fraction}});
    nlohmann::json j = {{"method", method},
                        {"structure", structure},
                        {"prunable", r.prunable},
                        {"pruned", r.pruned},
                        {"achieved_sparsity", r.achieved_sparsity},
                        {"file_bytes", r.file_bytes},
                        {"seconds", r.seconds},
                        {"ffn_widths", r.ffn_widths},
                        {"ffn_output_error", r.ffn_output_error},
                        {"tensors", tensors}};
    if (!r.games.empty()) {
        nlohmann::json games = nlohmann::json::array();
        for (const auto& g : r.games) games.push_back(game_json(g));
        j["nash"] = {{"lagrange_price", r.lagrange_price},
                     {"sweeps", r.sweeps},
                     {"converged", r.converged},
                     {"largest_unilateral_gain", r.largest_unilateral_gain},
                     {"adjusted", r.adjusted},
                     {"games", games}};
    }
    return j;
}

std::string prune_text(const PruneReport& r) {
    std::string out;
    char line[512];
    if (!r.ffn_widths.empty()) {
        out += "FFN widths:";
        for (int64_t w : r.ffn_widths) out += " " + std::to_string(w);
        out += "\n";
    }
    if (!r.ffn_output_error.empty()) {
        out += "FFN output error (relative energy):";
        for (double e : r.ffn_output_error) {
            std::snprintf(line, sizeof line, " %.4f", e);
            out += line;
        }
        out += "\n";
    }
    if (!r.games.empty()) {
        std::snprintf(line, sizeof line,
                      "nash: %zu game(s), price up to %.6g, sweeps up to %d, %s, largest unilateral gain %.3g, "
                      "%lld player(s) adjusted to meet widths\n",
                      r.games.size(), r.lagrange_price, r.sweeps, r.converged ? "converged" : "NOT converged",
                      r.largest_unilateral_gain, static_cast<long long>(r.adjusted));
        out += line;
    }
    std::snprintf(line, sizeof line, "pruned %lld of %lld (sparsity %.4f), file %llu bytes, %.2f s",
                  static_cast<long long>(r.pruned), static_cast<long long>(r.prunable), r.achieved_sparsity,
                  static_cast<unsigned long long>(r.file_bytes), r.seconds);
    return out + line;
}

}  // namespace dilmodeli::compress
