// quantize: one type, a mixture under a budget, or a preset (prune, then a mixture); prune.
#include "compress/pipeline.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <tbb/global_control.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/number_format.h"
#include "compress/calibrated_input.h"
#include "compress/tensor_roles.h"
#include "gguf/gguf_file.h"
#include "quant/quant_type.h"

namespace dilmodeli::compress {
namespace {

using Progress = std::function<void(size_t, size_t)>;

Progress progress_for(const QuantizeRequest& r, const std::string& what) {
    return r.progress ? r.progress(what) : Progress();
}

std::unique_ptr<tbb::global_control> thread_limit(int threads) {
    if (threads < 0) throw usage_error("--threads must be positive");
    if (threads == 0) return nullptr;
    return std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, size_t(threads));
}

CalibrationRequest calibration_request(const QuantizeRequest& r) {
    CalibrationRequest c;
    c.text_path = r.calib;
    c.chunks = r.calib_chunks;
    c.ctx = r.calib_ctx;
    c.threads = r.threads;
    c.tokens = true;
    if (r.progress && !r.calib.empty()) c.progress = r.progress("calibration chunks");
    return c;
}

QuantizeReport quantize_uniform(const QuantizeRequest& r) {
    const quant::TypeInfo& type = quant::type_by_name(r.type);
    if (!type.quantize_row) throw usage_error(std::string("--type ") + type.name + " cannot be produced");
    check_output_path(r.output, r.input);
    const CalibratedInput in = open_calibrated(r.input, calibration_request(r));
    const gguf::GgufFile& input = in.input();
    QuantizeJob job;
    job.output_path = r.output;
    job.plan = plan_uniform(input, type.id, r.uniform_output);
    job.file_type = llama_file_type(type.id);
    if (in.calibrated()) job.importance = &in.stats.mean_square;
    job.progress = progress_for(r, "tensors written");
    for (const auto& c : job.plan)
        if (!c.note.empty() && c.note.rfind("kept", 0) != 0) spdlog::debug("{}: {}", c.name, c.note);
    return quantize_model(input, job);
}

// A mixture of `input_path` into r.output; the target is a file size, or a bpw over the
// input's parameters when target_bytes == 0.
BudgetRun quantize_budget(const QuantizeRequest& r, const std::string& input_path, uint64_t target_bytes,
                          double budget_bpw) {
    const auto start = std::chrono::steady_clock::now();
    check_output_path(r.output, input_path);
    if (r.sensitivity_chunks < 1) throw usage_error("--sensitivity-chunks must be at least 1");
    const Importance importance = r.importance.empty()
                                      ? (r.calib.empty() ? Importance::Output : Importance::Relative)
                                      : parse_importance(r.importance);
    if (importance == Importance::Loss && r.calib.empty())
        throw usage_error("--importance loss measures the loss on calibration text: add --calib TEXT");
    const CalibrationRequest calibration = calibration_request(r);
    CalibratedInput in = open_for_calibration(input_path, calibration);
    const gguf::GgufFile& input = in.input();

    BudgetRun run;
    run.requested_bpw = budget_bpw;
    if (target_bytes == 0) {
        const double bytes = std::floor(budget_bpw * double(total_parameters(input)) / 8.0);
        if (!(bytes >= 1) || !std::isfinite(bytes)) throw usage_error("--budget-bpw must be > 0");
        target_bytes = uint64_t(bytes);
    }
    MeasureOptions measure;
    if (!r.types.empty()) measure.types = parse_type_list(r.types);
    check_target_size(input, measure.types, target_bytes);  // before any long work

    calibrate(in, calibration);
    if (in.calibrated()) {
        measure.stats = &in.stats;
        measure.token_counts = &in.token_counts;
    }
    run.calibration_tokens = in.stats.tokens;
    measure.progress = progress_for(r, "(tensor, type) pairs measured");
    spdlog::info("measuring the output error of every matrix in every allowed type");
    run.candidates = measure_candidates(input, measure);
    const auto& candidates = run.candidates;

    MixedPrecisionOptions options;
    options.target_file_bytes = target_bytes;
    options.cohesion = r.cohesion;
    options.importance = importance;
    run.importance = importance_name(importance);
    if (importance == Importance::Loss) {
        SensitivityOptions so;
        so.chunks = r.sensitivity_chunks;
        so.probes = parse_type_list(r.probes);
        so.ctx = in.ctx;
        so.threads = r.threads;
        so.stats = &in.stats;
        const size_t slash = r.output.find_last_of('/');
        so.scratch_dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : r.output.substr(0, slash));
        so.progress = progress_for(r, "matrices probed for loss sensitivity");
        spdlog::info("measuring each matrix's effect on the loss ({} chunks of {} tokens per matrix)",
                     std::min(so.chunks, int64_t(in.tokens.size()) / so.ctx), so.ctx);
        run.sensitivity = measure_sensitivity(input, in.tokens, in.bos_id, candidates, so);
        options.sensitivity = run.sensitivity->tensors;
    }
    spdlog::info("solving for the equilibrium under a file size of {} bytes", target_bytes);
    run.plan = plan_mixed_precision(input, candidates, options);

    QuantizeJob job;
    job.output_path = r.output;
    job.plan = run.plan.plan;
    job.file_type = kFileTypeMixed;
    if (!r.calib.empty()) job.importance = &in.stats.mean_square;
    job.progress = progress_for(r, "tensors written");
    run.written = quantize_model(input, job);
    if (run.written.file_bytes != run.plan.planned_file_bytes)
        spdlog::warn("wrote {} bytes where {} were planned", run.written.file_bytes, run.plan.planned_file_bytes);
    if (run.written.file_bytes > target_bytes) {
        std::remove(r.output.c_str());
        throw io_error(r.output, "wrote " + std::to_string(run.written.file_bytes) + " bytes, over the target of " +
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
    Intermediate() = default;
    Intermediate(const Intermediate&) = delete;
    Intermediate& operator=(const Intermediate&) = delete;
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

QuantizeResult quantize_preset(const QuantizeRequest& r) {
    QuantizeResult result;
    const Preset& preset = result.preset.emplace(r.preset_file.empty() ? find_preset(r.preset)
                                                                       : load_preset_file(r.preset_file));
    const bool prune = preset.prune && preset.sparsity > 0;
    if (prune && parse_prune_method(preset.method) != PruneMethod::Magnitude && r.calib.empty())
        throw usage_error("preset " + preset.path + " prunes with " + preset.method +
                          ", which needs calibration text: add --calib TEXT");
    check_output_path(r.output, r.input);
    spdlog::info("preset {}: {}", preset.path, preset.description);
    QuantizeRequest q = r;
    if (preset.cohesion) q.cohesion = *preset.cohesion;
    if (!preset.importance.empty() && r.importance.empty()) q.importance = preset.importance;
    Intermediate pruned;
    std::string quantize_input = r.input;
    if (prune) {
        PruneOptions options;
        options.output_path = r.output + ".pruned-" + std::to_string(::getpid()) + ".gguf";
        pruned.name(options.output_path);
        options.sparsity = preset.sparsity;
        options.method = parse_prune_method(preset.method);
        options.structure = parse_prune_structure(preset.structure);
        options.width_multiple = preset.width_multiple;
        options.progress = progress_for(r, "tensors pruned");
        CalibrationRequest calibration = calibration_request(r);
        calibration.tokens = false;
        calibration.ffn_gram = options.structure == PruneStructure::FfnChannels;
        calibration.purpose = "pruning";
        CalibratedInput in = open_calibrated(r.input, calibration);
        if (in.calibrated()) options.stats = &in.stats;
        if (in.calibrated() && calibration.ffn_gram) options.ffn_gram = &in.gram;
        spdlog::info("pruning {:.0f}% ({} {}) before quantizing", 100 * preset.sparsity, preset.method,
                     preset.structure);
        result.pruned = prune_model(in.input(), options);
        in.close();
        quantize_input = pruned.detach();
    }
    result.budget = quantize_budget(q, quantize_input, 0, preset.budget_bpw);
    return result;
}

}  // namespace

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

QuantizeResult run_quantize(const QuantizeRequest& r) {
    auto limit = thread_limit(r.threads);
    if (r.calib_chunks < 0) throw usage_error("--calib-chunks must not be negative");
    if (r.calib_ctx < 0 || r.calib_ctx == 1) throw usage_error("--calib-ctx must be at least 2");
    QuantizeResult result;
    if (!r.type.empty()) {
        result.uniform = quantize_uniform(r);
        return result;
    }
    if (!r.preset.empty() || !r.preset_file.empty()) return quantize_preset(r);
    if (r.target_size.empty() && !(r.budget_bpw > 0)) {
        if (r.budget_bpw != 0) throw usage_error("--budget-bpw must be > 0");
        throw usage_error("give one of --type, --budget-bpw, --target-size, --preset, --preset-file");
    }
    const uint64_t target = r.target_size.empty() ? 0 : parse_size(r.target_size);
    result.budget = quantize_budget(r, r.input, target, r.budget_bpw);
    return result;
}

PruneReport run_prune(const PruneRequest& r) {
    if (!(r.sparsity >= 0 && r.sparsity < 1)) {
        throw usage_error("--sparsity " + format_number(r.sparsity) + " is outside [0, 1)");
    }
    PruneOptions options;
    options.method = parse_prune_method(r.method);
    options.structure = parse_prune_structure(r.structure);
    options.widths = parse_ffn_widths(r.widths);
    if (options.method != PruneMethod::Magnitude && r.calib.empty())
        throw usage_error("--method " + r.method + " needs calibration text: add --calib TEXT");
    if (r.calib_chunks < 0) throw usage_error("--calib-chunks must not be negative");
    if (r.calib_ctx < 0 || r.calib_ctx == 1) throw usage_error("--calib-ctx must be at least 2");
    if (r.threads < 0) throw usage_error("--threads must be positive");
    check_output_path(r.output, r.input);
    auto limit = thread_limit(r.threads);

    options.output_path = r.output;
    options.sparsity = r.sparsity;
    options.neighbours = r.neighbours;
    options.cohesion = r.cohesion;
    options.width_multiple = r.width_multiple;
    CalibrationRequest calibration;
    calibration.text_path = r.calib;
    calibration.chunks = r.calib_chunks;
    calibration.ctx = r.calib_ctx;
    calibration.threads = r.threads;
    calibration.ffn_gram = options.structure == PruneStructure::FfnChannels;
    const CalibratedInput in = open_calibrated(r.input, calibration);
    if (in.calibrated()) options.stats = &in.stats;
    if (in.calibrated() && calibration.ffn_gram) options.ffn_gram = &in.gram;
    return prune_model(in.input(), options);
}

}  // namespace dilmodeli::compress
