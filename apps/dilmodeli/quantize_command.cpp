// `quantize`: one type for every matrix (--type), or a mixture chosen by the Nash-swarm engine
// under a size budget (--budget-bpw, --target-size), or a preset that prunes and then
// quantizes (--preset, --preset-file).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <limits.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <spdlog/spdlog.h>
#include <sstream>
#include <tbb/global_control.h>
#include <unistd.h>

#include "runtime/model_loader.h"
#include "command.h"
#include "common/atomic_file.h"
#include "common/error.h"
#include "common/mapped_file.h"
#include "compress/calibration.h"
#include "compress/mixed_precision.h"
#include "compress/mixed_sensitivity.h"
#include "compress/model_quantizer.h"
#include "compress/prune_saliency.h"
#include "compress/pruning.h"
#include "compress/tensor_roles.h"
#include "gguf/gguf_file.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::app {
namespace {

struct Options {
    std::string input, output, type;
    double budget_bpw = 0;
    std::string target_size;
    std::string preset, preset_file;
    std::string calib;
    int64_t calib_chunks = 32;
    int64_t calib_ctx = 0;
    std::string importance;  // empty: relative with --calib, output without
    int64_t sensitivity_chunks = 4;
    double cohesion = 0.001;
    std::string types;
    std::string probes = "Q3_K";
    bool uniform_output = false;
    int threads = 0;
    bool json = false;
};

// ---------------------------------------------------------------------------------------------
// Progress on stderr: a bar when stderr is a terminal, nothing otherwise.

std::function<void(size_t, size_t)> progress_bar(const std::string& what) {
    const bool terminal = ::isatty(STDERR_FILENO) && spdlog::get_level() <= spdlog::level::info;
    return [terminal, what](size_t done, size_t total) {
        if (!terminal || total == 0) return;
        const int width = 30, filled = int(width * done / total);
        std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu %s", filled, "##############################", width - filled, "",
                     done, total, what.c_str());
        if (done == total) std::fputc('\n', stderr);
        std::fflush(stderr);
    };
}

// "2500000", "2.5M", "800K", "1G": binary multiples (K = 1024).
uint64_t parse_size(const std::string& text) {
    const std::string bad = "--target-size '" + text + "' is not a size (bytes, or a number with K, M or G)";
    if (text.empty()) throw usage_error(bad);
    double multiplier = 1;
    std::string number = text;
    switch (std::toupper(uint8_t(text.back()))) {
        case 'K': multiplier = 1024.0; break;
        case 'M': multiplier = 1024.0 * 1024.0; break;
        case 'G': multiplier = 1024.0 * 1024.0 * 1024.0; break;
        default: break;
    }
    if (multiplier != 1) number.pop_back();
    if (number.empty() || number.find_first_not_of("0123456789.") != std::string::npos) throw usage_error(bad);
    size_t used = 0;
    double value = 0;
    try {
        value = std::stod(number, &used);
    } catch (const std::exception&) {
        throw usage_error(bad);
    }
    if (used != number.size() || !(value > 0) || !std::isfinite(value * multiplier) || value * multiplier > 1e18)
        throw usage_error(bad);
    return uint64_t(std::floor(value * multiplier));
}

// ---------------------------------------------------------------------------------------------
// Presets: configs/presets/NAME.json.

struct Preset {
    std::string path, description;
    bool prune = false;
    double sparsity = 0;
    std::string method = "nash", structure = "ffn";
    int64_t width_multiple = 0;
    double budget_bpw = 0;
    std::optional<double> cohesion;
    std::string importance;
};

std::string executable_directory() {
    char buffer[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
    if (n <= 0) return "";
    std::string path(buffer, size_t(n));
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

bool is_file(const std::string& path) {
    std::ifstream in(path);
    return in.good();
}

// configs/presets/NAME.json from the current directory, then from the source tree the
// executable was built in (build*/apps/dilmodeli/dilmodeli -> ../../../configs/presets).
std::string find_preset(const std::string& name) {
    if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
        throw usage_error("--preset '" + name + "' is not a preset name (low, balanced, high)");
    std::vector<std::string> places = {"configs/presets"};
    const std::string exe = executable_directory();
    if (!exe.empty()) places.push_back(exe + "/../../../configs/presets");
    for (const std::string& dir : places)
        if (is_file(dir + "/" + name + ".json")) return dir + "/" + name + ".json";
    throw usage_error("no preset '" + name + "' (looked for " + name + ".json in ./configs/presets" +
                      (exe.empty() ? std::string() : " and " + exe + "/../../../configs/presets") +
                      "; known: low, balanced, high)");
}

Preset load_preset(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in.good()) throw usage_error("--preset-file " + path + ": cannot read the file");
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::exception& e) {
        std::string what = e.what();
        for (char& c : what)
            if (c == '\n') c = ' ';
        throw usage_error("preset " + path + ": not valid JSON (" + what + ")");
    }
    auto bad = [&](const std::string& why) { return usage_error("preset " + path + ": " + why); };
    if (!j.is_object()) throw bad("the top level must be an object");
    Preset p;
    p.path = path;
    for (const auto& [key, value] : j.items()) {
        if (key == "description") {
            if (!value.is_string()) throw bad("\"description\" must be a string");
            p.description = value.get<std::string>();
        } else if (key == "prune") {
            if (value.is_null()) continue;
            if (!value.is_object()) throw bad("\"prune\" must be an object");
            p.prune = true;
            for (const auto& [k, v] : value.items()) {
                if (k == "sparsity") {
                    if (!v.is_number() || !(v.get<double>() >= 0 && v.get<double>() < 1))
                        throw bad("\"prune.sparsity\" must be a number in [0, 1)");
                    p.sparsity = v.get<double>();
                } else if (k == "method" || k == "structure") {
                    if (!v.is_string()) throw bad("\"prune." + k + "\" must be a string");
                    (k == "method" ? p.method : p.structure) = v.get<std::string>();
                } else if (k == "width_multiple") {
                    if (!v.is_number_integer() || v.get<int64_t>() < 0)
                        throw bad("\"prune.width_multiple\" must be an integer >= 0");
                    p.width_multiple = v.get<int64_t>();
                } else {
                    throw bad("unknown key \"prune." + k + "\" (sparsity, method, structure, width_multiple)");
                }
            }
            try {
                compress::parse_prune_method(p.method);
                compress::parse_prune_structure(p.structure);
            } catch (const Error& e) {
                throw bad(e.what());
            }
        } else if (key == "quantize") {
            if (!value.is_object()) throw bad("\"quantize\" must be an object");
            for (const auto& [k, v] : value.items()) {
                if (k == "budget_bpw") {
                    if (!v.is_number() || !(v.get<double>() > 0)) throw bad("\"quantize.budget_bpw\" must be > 0");
                    p.budget_bpw = v.get<double>();
                } else if (k == "importance") {
                    if (!v.is_string()) throw bad("\"quantize.importance\" must be a string");
                    try {
                        compress::parse_importance(v.get<std::string>());
                    } catch (const Error& e) {
                        throw bad(e.what());
                    }
                    p.importance = v.get<std::string>();
                } else if (k == "cohesion") {
                    if (!v.is_number() || !(v.get<double>() >= 0)) throw bad("\"quantize.cohesion\" must be >= 0");
                    p.cohesion = v.get<double>();
                } else {
                    throw bad("unknown key \"quantize." + k + "\" (budget_bpw, importance, cohesion)");
                }
            }
        } else {
            throw bad("unknown key \"" + key + "\" (description, prune, quantize)");
        }
    }
    if (!(p.budget_bpw > 0)) throw bad("\"quantize.budget_bpw\" is missing");
    return p;
}

// ---------------------------------------------------------------------------------------------
// Calibration: activation statistics, token counts and the token stream for sensitivity.

struct Calibration {
    compress::ActivationStats stats;
    std::vector<int32_t> tokens;
    std::vector<double> token_counts;
    int32_t bos_id = -1;
    int64_t ctx = 0;
    int64_t chunks = 0;
};

Calibration calibrate(model::Model& model, const Options& o) {
    Calibration c;
    auto tokenizer = tokenizer::Tokenizer::from_gguf(model.file());
    MappedFile text(o.calib);
    const std::string content(reinterpret_cast<const char*>(text.data()), text.size());
    compress::CalibrationOptions options;
    options.ctx = o.calib_ctx > 0 ? o.calib_ctx : std::min<int64_t>(256, model.config().context_length);
    options.max_chunks = o.calib_chunks;
    options.threads = o.threads;
    options.progress = progress_bar("calibration chunks");
    spdlog::info("calibrating on {} ({} chunks of {} tokens)", o.calib,
                 o.calib_chunks > 0 ? std::to_string(o.calib_chunks) : std::string("all"), options.ctx);
    c.stats = compress::collect_activation_stats(model, *tokenizer, content, options);
    c.tokens = tokenizer->encode(content, true);
    c.bos_id = tokenizer->bos_id();
    c.ctx = options.ctx;
    c.chunks = c.stats.tokens / options.ctx;
    c.token_counts = compress::count_tokens(c.tokens, model.config().n_vocab, c.stats.tokens);
    return c;
}

// ---------------------------------------------------------------------------------------------
// Reports.

nlohmann::json uniform_json(const compress::QuantizeReport& r) {
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

std::string uniform_table(const compress::QuantizeReport& r) {
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

struct BudgetRun {
    compress::MixedPrecisionPlan plan;
    std::vector<compress::TensorCandidates> candidates;
    compress::QuantizeReport written;
    std::optional<compress::SensitivityReport> sensitivity;
    int64_t calibration_tokens = 0;
    double requested_bpw = 0;  // 0: --target-size
    std::string importance;
    double seconds = 0;
};

nlohmann::json budget_json(const BudgetRun& run) {
    const compress::MixedPrecisionPlan& p = run.plan;
    const compress::QuantizeReport& w = run.written;
    nlohmann::json tensors = nlohmann::json::array();
    for (size_t i = 0, player = 0; i < w.tensors.size(); ++i) {
        const compress::TensorReport& t = w.tensors[i];
        nlohmann::json row = {{"name", t.name},
                              {"shape", t.shape},
                              {"from", t.from_type},
                              {"type", t.to_type},
                              {"bytes", t.bytes},
                              {"bits_per_weight", t.bits_per_weight},
                              {"relative_rms_error", t.relative_rms_error},
                              {"note", t.note}};
        if (player < p.tensors.size() && p.tensors[player].name == t.name) {
            const compress::MixedTensorResult& m = p.tensors[player++];
            row["output_error"] = m.error;
            row["relative_output_error"] = m.relative_error;
            row["alpha"] = m.importance;
            row["cost"] = m.cost;
            row["neighbours"] = m.neighbours;
            if (run.sensitivity) {
                const compress::TensorSensitivity& ts = run.sensitivity->tensors.at(t.name);
                row["sensitivity"] = {{"bits", ts.bits}, {"kl", ts.kl}, {"alpha", ts.alpha}};
            }
            nlohmann::json options = nlohmann::json::array();
            for (const compress::TensorCandidates& c : run.candidates) {
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
    const compress::MixedPrecisionPlan& p = run.plan;
    const compress::QuantizeReport& w = run.written;
    std::string out;
    char line[640];
    std::snprintf(line, sizeof line, "%-28s %-12s %-6s %6s %9s %11s %9s %10s %11s  %s\n", "tensor", "shape", "type",
                  "bpw", "bytes", "out.error", "rel.out", "alpha", "cost", "note");
    out += line;
    for (size_t i = 0, player = 0; i < w.tensors.size(); ++i) {
        const compress::TensorReport& t = w.tensors[i];
        const std::string shape = nlohmann::json(t.shape).dump();
        if (player < p.tensors.size() && p.tensors[player].name == t.name) {
            const compress::MixedTensorResult& m = p.tensors[player++];
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

// ---------------------------------------------------------------------------------------------
// The runs.

std::unique_ptr<tbb::global_control> thread_limit(int threads) {
    if (threads < 0) throw usage_error("--threads must be positive");
    if (threads == 0) return nullptr;
    return std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, size_t(threads));
}

void run_uniform(const Options& o) {
    const quant::TypeInfo& type = quant::type_by_name(o.type);
    if (!type.quantize_row) throw usage_error(std::string("--type ") + type.name + " cannot be produced");
    check_output_path(o.output, o.input);
    std::unique_ptr<model::Model> model;
    std::unique_ptr<gguf::GgufFile> file;
    Calibration calibration;
    if (!o.calib.empty()) {
        model = runtime::load_model(o.input);
        calibration = calibrate(*model, o);
    } else {
        file = gguf::GgufFile::open(o.input);
    }
    const gguf::GgufFile& input = model ? model->file() : *file;
    compress::QuantizeJob job;
    job.output_path = o.output;
    job.plan = compress::plan_uniform(input, type.id, o.uniform_output);
    job.file_type = compress::llama_file_type(type.id);
    if (!o.calib.empty()) job.importance = &calibration.stats.mean_square;
    job.progress = progress_bar("tensors written");
    for (const auto& c : job.plan)
        if (!c.note.empty() && c.note.rfind("kept", 0) != 0) spdlog::debug("{}: {}", c.name, c.note);
    auto report = compress::quantize_model(input, job);
    print_line(o.json ? json_text(uniform_json(report)) : uniform_table(report));
}

// Budgeted mixed precision of `input_path` into o.output; the target is a file size, or a bpw
// over the input's parameters when target_bytes == 0.
BudgetRun run_budget(const Options& o, const std::string& input_path, uint64_t target_bytes, double budget_bpw) {
    const auto start = std::chrono::steady_clock::now();
    check_output_path(o.output, input_path);
    if (o.sensitivity_chunks < 1) throw usage_error("--sensitivity-chunks must be at least 1");
    const compress::Importance importance =
        o.importance.empty() ? (o.calib.empty() ? compress::Importance::Output : compress::Importance::Relative)
                             : compress::parse_importance(o.importance);
    if (importance == compress::Importance::Loss && o.calib.empty())
        throw usage_error("--importance loss measures the loss on calibration text: add --calib TEXT");
    std::unique_ptr<model::Model> model;
    std::unique_ptr<gguf::GgufFile> file;
    if (!o.calib.empty()) model = runtime::load_model(input_path);
    else file = gguf::GgufFile::open(input_path);
    const gguf::GgufFile& input = model ? model->file() : *file;

    BudgetRun run;
    run.requested_bpw = budget_bpw;
    if (target_bytes == 0) {
        const double bytes = std::floor(budget_bpw * double(compress::total_parameters(input)) / 8.0);
        if (!(bytes >= 1) || !std::isfinite(bytes)) throw usage_error("--budget-bpw must be > 0");
        target_bytes = uint64_t(bytes);
    }
    compress::MeasureOptions measure;
    if (!o.types.empty()) measure.types = compress::parse_type_list(o.types);
    compress::check_target_size(input, measure.types, target_bytes);  // before any long work

    Calibration calibration;
    if (model) {
        calibration = calibrate(*model, o);
        measure.stats = &calibration.stats;
        measure.token_counts = &calibration.token_counts;
    }
    run.calibration_tokens = calibration.stats.tokens;
    measure.progress = progress_bar("(tensor, type) pairs measured");
    spdlog::info("measuring the output error of every matrix in every allowed type");
    run.candidates = compress::measure_candidates(input, measure);
    const auto& candidates = run.candidates;

    compress::MixedPrecisionOptions options;
    options.target_file_bytes = target_bytes;
    options.cohesion = o.cohesion;
    options.importance = importance;
    run.importance = compress::importance_name(importance);
    if (importance == compress::Importance::Loss) {
        compress::SensitivityOptions so;
        so.chunks = o.sensitivity_chunks;
        so.probes = compress::parse_type_list(o.probes);
        so.ctx = calibration.ctx;
        so.threads = o.threads;
        so.stats = &calibration.stats;
        const size_t slash = o.output.find_last_of('/');
        so.scratch_dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : o.output.substr(0, slash));
        so.progress = progress_bar("matrices probed for loss sensitivity");
        spdlog::info("measuring each matrix's effect on the loss ({} chunks of {} tokens per matrix)",
                     std::min(so.chunks, int64_t(calibration.tokens.size()) / so.ctx), so.ctx);
        run.sensitivity = compress::measure_sensitivity(input, calibration.tokens, calibration.bos_id, candidates, so);
        options.sensitivity = run.sensitivity->tensors;
    }
    spdlog::info("solving for the equilibrium under a file size of {} bytes", target_bytes);
    run.plan = compress::plan_mixed_precision(input, candidates, options);

    compress::QuantizeJob job;
    job.output_path = o.output;
    job.plan = run.plan.plan;
    job.file_type = compress::kFileTypeMixed;
    if (!o.calib.empty()) job.importance = &calibration.stats.mean_square;
    job.progress = progress_bar("tensors written");
    run.written = compress::quantize_model(input, job);
    if (run.written.file_bytes != run.plan.planned_file_bytes)
        spdlog::warn("wrote {} bytes where {} were planned", run.written.file_bytes, run.plan.planned_file_bytes);
    if (run.written.file_bytes > target_bytes) {
        std::remove(o.output.c_str());
        throw io_error(o.output, "wrote " + std::to_string(run.written.file_bytes) + " bytes, over the target of " +
                                     std::to_string(target_bytes) + " (removed)");
    }
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return run;
}

// The pruned intermediate of a preset: removed when it goes out of scope, and from the moment
// it is complete kept only as an open descriptor (/proc/self/fd/N), so that not even an
// interrupted run leaves it behind.
class Intermediate {
public:
    ~Intermediate() {
        if (fd_ >= 0) ::close(fd_);
        if (!path_.empty()) std::remove(path_.c_str());
    }
    void name(const std::string& path) { path_ = path; }
    // Opens the finished file and unlinks it; returns the path that still reaches it.
    std::string detach() {
        fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) throw io_error(path_, "cannot reopen the pruned model");
        std::remove(path_.c_str());
        path_.clear();
        return "/proc/self/fd/" + std::to_string(fd_);
    }

private:
    std::string path_;
    int fd_ = -1;
};

void run_preset(const Options& o) {
    const Preset preset = load_preset(o.preset_file.empty() ? find_preset(o.preset) : o.preset_file);
    if (preset.prune && preset.sparsity > 0 && compress::parse_prune_method(preset.method) != compress::PruneMethod::Magnitude &&
        o.calib.empty())
        throw usage_error("preset " + preset.path + " prunes with " + preset.method +
                          ", which needs calibration text: add --calib TEXT");
    check_output_path(o.output, o.input);
    spdlog::info("preset {}: {}", preset.path, preset.description);
    Options q = o;
    if (preset.cohesion) q.cohesion = *preset.cohesion;
    if (!preset.importance.empty() && o.importance.empty()) q.importance = preset.importance;
    nlohmann::json prune_json;
    Intermediate pruned;
    std::string quantize_input = o.input;
    if (preset.prune && preset.sparsity > 0) {
        const compress::PruneMethod method = compress::parse_prune_method(preset.method);
        compress::PruneOptions options;
        options.output_path = o.output + ".pruned-" + std::to_string(::getpid()) + ".gguf";
        pruned.name(options.output_path);
        options.sparsity = preset.sparsity;
        options.method = method;
        options.structure = compress::parse_prune_structure(preset.structure);
        options.width_multiple = preset.width_multiple;
        options.progress = progress_bar("tensors pruned");
        compress::ActivationStats stats;
        compress::FfnGram gram;
        std::unique_ptr<model::Model> model;
        std::unique_ptr<gguf::GgufFile> file;
        if (!o.calib.empty()) {
            model = runtime::load_model(o.input);
            compress::CalibrationOptions calibration;
            calibration.ctx = o.calib_ctx > 0 ? o.calib_ctx : std::min<int64_t>(256, model->config().context_length);
            calibration.max_chunks = o.calib_chunks;
            calibration.threads = o.threads;
            calibration.progress = progress_bar("calibration chunks");
            spdlog::info("calibrating on {} for pruning", o.calib);
            stats = compress::collect_activation_stats_from_file(*model, o.calib, calibration);
            options.stats = &stats;
            if (options.structure == compress::PruneStructure::FfnChannels) {
                gram = compress::collect_ffn_gram(*model, o.calib, calibration);
                options.ffn_gram = &gram;
            }
        } else {
            file = gguf::GgufFile::open(o.input);
        }
        spdlog::info("pruning {:.0f}% ({} {}) before quantizing", 100 * preset.sparsity, preset.method,
                     preset.structure);
        const compress::PruneReport report = compress::prune_model(model ? model->file() : *file, options);
        prune_json = {{"sparsity", preset.sparsity},           {"method", preset.method},
                      {"structure", preset.structure},         {"achieved_sparsity", report.achieved_sparsity},
                      {"ffn_widths", report.ffn_widths},       {"file_bytes", report.file_bytes},
                      {"largest_unilateral_gain", report.largest_unilateral_gain}};
        model.reset();
        file.reset();
        quantize_input = pruned.detach();
    }
    BudgetRun run = run_budget(q, quantize_input, 0, preset.budget_bpw);
    if (o.json) {
        nlohmann::json out = budget_json(run);
        out["preset"] = {{"path", preset.path}, {"description", preset.description}};
        if (!prune_json.is_null()) out["prune"] = prune_json;
        print_line(json_text(out));
    } else {
        std::string text = "preset " + preset.path + ": " + preset.description + "\n";
        if (!prune_json.is_null())
            text += "pruned " + preset.structure + " by " + preset.method + ": achieved sparsity " +
                    std::to_string(prune_json["achieved_sparsity"].get<double>()) + "\n";
        print_line(text + budget_table(run));
    }
}

}  // namespace

void add_quantize_command(CLI::App& root, Action& action) {
    auto o = std::make_shared<Options>();
    CLI::App* cmd = root.add_subcommand(
        "quantize", "Re-encode a GGUF model's weight matrices: one type, or a mixture chosen under a size budget");
    cmd->add_option("input", o->input, "GGUF model to read")->required();
    cmd->add_option("output", o->output, "GGUF file to write (never the input)")->required();
    auto* type = cmd->add_option(
        "--type", o->type,
        "One type for every matrix: Q8_0, Q5_1, Q5_0, Q4_1, Q4_0, IQ4_NL, Q6_K, Q5_K, Q4_K, Q3_K, Q2_K, TQ2_0, "
        "TQ1_0, F16, BF16, F32");
    auto* bpw = cmd->add_option("--budget-bpw", o->budget_bpw,
                                "Mixed precision: file bytes x 8 / all parameters (norms included) at most this");
    auto* size = cmd->add_option("--target-size", o->target_size,
                                 "Mixed precision: the whole output file at most this many bytes (K, M, G: x1024)");
    auto* preset = cmd->add_option("--preset", o->preset,
                                   "low, balanced or high: prune, then mixed precision (configs/presets/NAME.json)");
    auto* preset_file = cmd->add_option("--preset-file", o->preset_file, "A preset JSON file");
    type->excludes(bpw)->excludes(size)->excludes(preset)->excludes(preset_file);
    bpw->excludes(size)->excludes(preset)->excludes(preset_file);
    size->excludes(preset)->excludes(preset_file);
    preset->excludes(preset_file);
    cmd->add_option("--calib", o->calib, "Calibration text: importance-weighted rounding and errors");
    cmd->add_option("--calib-chunks", o->calib_chunks, "Calibration chunks (0: the whole text)")->capture_default_str();
    cmd->add_option("--calib-ctx", o->calib_ctx, "Tokens per calibration chunk (default: min(256, trained context))");
    cmd->add_option("--importance", o->importance,
                    "Mixed precision: how output error turns into cost: relative (relative output error per weight; the "
                    "default with --calib), loss (measured KL per matrix; slower) or output (raw; the default "
                    "without --calib)");
    cmd->add_option("--sensitivity-chunks", o->sensitivity_chunks,
                    "--importance loss: calibration chunks per matrix and probe for measuring its effect on the loss")
        ->capture_default_str();
    cmd->add_option("--sensitivity-probes", o->probes,
                    "--importance loss: types at which each matrix's effect on the loss is measured")
        ->capture_default_str();
    cmd->add_option("--cohesion", o->cohesion,
                    "Mixed precision: cost per bit of difference between neighbouring matrices, in units of an "
                    "average matrix's cost at Q3_K")
        ->capture_default_str();
    cmd->add_option("--types", o->types, "Mixed precision: allowed types (default TQ1_0,Q2_K,Q3_K,Q4_0,Q4_K,Q5_K,Q6_K,Q8_0,F16)");
    cmd->add_flag("--uniform-output", o->uniform_output,
                  "--type: give output.weight the same type (llama.cpp gives it Q6_K for 2- to 5-bit types)");
    cmd->add_option("-t,--threads", o->threads, "Threads (default: all)");
    cmd->add_flag("--json", o->json, "Print the report as one JSON object");
    cmd->callback([o, &action] {
        action = [o] {
            auto limit = thread_limit(o->threads);
            if (o->calib_chunks < 0) throw usage_error("--calib-chunks must not be negative");
            if (o->calib_ctx < 0 || o->calib_ctx == 1) throw usage_error("--calib-ctx must be at least 2");
            if (!o->type.empty()) return run_uniform(*o);
            if (!o->preset.empty() || !o->preset_file.empty()) return run_preset(*o);
            if (o->target_size.empty() && !(o->budget_bpw > 0)) {
                if (o->budget_bpw != 0) throw usage_error("--budget-bpw must be > 0");
                throw usage_error("give one of --type, --budget-bpw, --target-size, --preset, --preset-file");
            }
            const uint64_t target = o->target_size.empty() ? 0 : parse_size(o->target_size);
            BudgetRun run = run_budget(*o, o->input, target, o->budget_bpw);
            print_line(o->json ? json_text(budget_json(run)) : budget_table(run));
        };
    });
}

}  // namespace dilmodeli::app
