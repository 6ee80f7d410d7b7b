#include <cstdio>
#include <sstream>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <tbb/global_control.h>

#include "runtime/model_loader.h"
#include "command.h"
#include "common/atomic_file.h"
#include "common/error.h"
#include "compress/calibration.h"
#include "compress/prune_saliency.h"
#include "compress/pruning.h"
#include "gguf/gguf_file.h"
#include "model/model.h"

namespace dilmodeli::app {
namespace {

std::string number(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
}

nlohmann::json game_json(const compress::NashGameSummary& g) {
    return {{"name", g.name},         {"players", g.players},   {"edges", g.edges},
            {"price", g.price},       {"solves", g.solves},     {"sweeps", g.sweeps},
            {"moves", g.moves},       {"converged", g.converged}, {"largest_gain", g.largest_gain},
            {"is_equilibrium", g.is_equilibrium}, {"budget_bytes", g.budget_bytes}, {"bytes", g.bytes},
            {"adjusted", g.adjusted}};
}

nlohmann::json report_json(const compress::PruneReport& r, const std::string& method, const std::string& structure) {
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

std::string report_text(const compress::PruneReport& r) {
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

}  // namespace

void add_prune_command(CLI::App& root, Action& action) {
    struct Options {
        std::string input, output;
        double sparsity = 0.3;
        std::string method = "magnitude", structure = "unstructured", widths = "uniform";
        std::string calib;
        int64_t calib_chunks = 32;
        int64_t calib_ctx = 0;
        int neighbours = 7;
        double cohesion = 0.0;
        int64_t width_multiple = 0;
        int threads = 0;
        bool json = false;
    };
    auto o = std::make_shared<Options>();
    CLI::App* cmd = root.add_subcommand("prune", "Remove weights or whole FFN channels from a GGUF model");
    cmd->add_option("input", o->input, "GGUF model to read (F32, F16 or BF16 weights)")->required();
    cmd->add_option("output", o->output, "GGUF file to write (never the input)")->required();
    cmd->add_option("--sparsity", o->sparsity, "Fraction of the prunable weights (or FFN channels) to remove, in [0, 1)")
        ->capture_default_str();
    cmd->add_option("--method", o->method, "magnitude, wanda or nash")->capture_default_str();
    cmd->add_option("--calib", o->calib, "Calibration text (required by wanda and nash)");
    cmd->add_option("--calib-chunks", o->calib_chunks, "Calibration chunks (0: the whole text)")->capture_default_str();
    cmd->add_option("--calib-ctx", o->calib_ctx, "Tokens per calibration chunk (default: min(256, trained context))");
    cmd->add_option("--structured", o->structure,
                    "ffn: remove whole FFN channels so that the tensors shrink (default: unstructured zeros)");
    cmd->add_option("--ffn-widths", o->widths,
                    "uniform (one width for all layers: llama.cpp can load it) or per-layer (dilmodeli only)")
        ->capture_default_str();
    cmd->add_option("--ffn-multiple", o->width_multiple,
                    "Round FFN widths to a multiple of this (default: 32 when the widths are; 256 keeps K-quants)");
    cmd->add_option("--neighbours", o->neighbours, "Nash: neighbours per block (the flock's k)")->capture_default_str();
    cmd->add_option("--cohesion", o->cohesion, "Nash: cost of disagreeing with a neighbour, in saliencies")
        ->capture_default_str();
    cmd->add_option("-t,--threads", o->threads, "Threads (default: all)");
    cmd->add_flag("--json", o->json, "Print the report as one JSON object");
    cmd->callback([o, &action] {
        action = [o] {
            if (!(o->sparsity >= 0 && o->sparsity < 1))
                throw usage_error("--sparsity " + number(o->sparsity) + " is outside [0, 1)");
            const compress::PruneMethod method = compress::parse_prune_method(o->method);
            const compress::PruneStructure structure = compress::parse_prune_structure(o->structure);
            const compress::FfnWidths widths = compress::parse_ffn_widths(o->widths);
            if (method != compress::PruneMethod::Magnitude && o->calib.empty())
                throw usage_error("--method " + o->method + " needs calibration text: add --calib TEXT");
            if (o->calib_chunks < 0) throw usage_error("--calib-chunks must not be negative");
            if (o->calib_ctx < 0 || o->calib_ctx == 1) throw usage_error("--calib-ctx must be at least 2");
            if (o->threads < 0) throw usage_error("--threads must be positive");
            check_output_path(o->output, o->input);
            std::unique_ptr<tbb::global_control> limit;
            if (o->threads > 0)
                limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                              size_t(o->threads));

            compress::PruneOptions options;
            options.output_path = o->output;
            options.sparsity = o->sparsity;
            options.method = method;
            options.structure = structure;
            options.widths = widths;
            options.neighbours = o->neighbours;
            options.cohesion = o->cohesion;
            options.width_multiple = o->width_multiple;

            compress::ActivationStats stats;
            compress::FfnGram gram;
            std::unique_ptr<model::Model> model;
            std::unique_ptr<gguf::GgufFile> file;
            if (!o->calib.empty()) {
                model = runtime::load_model(o->input);
                compress::CalibrationOptions calibration;
                calibration.ctx = o->calib_ctx > 0 ? o->calib_ctx : std::min<int64_t>(256, model->config().context_length);
                calibration.max_chunks = o->calib_chunks;
                calibration.threads = o->threads;
                spdlog::info("calibrating on {} ({} chunks of {} tokens)", o->calib,
                             o->calib_chunks > 0 ? std::to_string(o->calib_chunks) : std::string("all"), calibration.ctx);
                stats = compress::collect_activation_stats_from_file(*model, o->calib, calibration);
                options.stats = &stats;
                if (structure == compress::PruneStructure::FfnChannels) {
                    gram = compress::collect_ffn_gram(*model, o->calib, calibration);
                    options.ffn_gram = &gram;
                }
            } else {
                file = gguf::GgufFile::open(o->input);
            }
            const gguf::GgufFile& input = model ? model->file() : *file;
            auto report = compress::prune_model(input, options);
            print_line(o->json ? json_text(report_json(report, o->method, o->structure)) : report_text(report));
        };
    });
}

}  // namespace dilmodeli::app
