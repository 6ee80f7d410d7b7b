#pragma once
// What `quantize` and `prune` do, flags in, reports out: one call each. The requests hold the
// commands' flags with their defaults; the results hold everything the reports print
// (compress/report.h).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "compress/mixed_precision.h"
#include "compress/mixed_sensitivity.h"
#include "compress/model_quantizer.h"
#include "compress/preset.h"
#include "compress/pruning.h"

namespace dilmodeli::compress {

// A progress callback for the stage named `what` ("tensors written", ...); may return an empty
// function.
using ProgressFactory = std::function<std::function<void(size_t done, size_t total)>(const std::string& what)>;

struct QuantizeRequest {
    std::string input, output;
    // One of: a type for every matrix; a budget in bits per weight; a file size ("2.5M", K/M/G
    // x1024); a preset by name or by file.
    std::string type;
    bool uniform_output = false;  // --type: output.weight too
    double budget_bpw = 0;
    std::string target_size;
    std::string preset, preset_file;
    std::string calib;  // calibration text; empty: none
    int64_t calib_chunks = 32;
    int64_t calib_ctx = 0;
    std::string importance;  // empty: relative with calib, output without
    int64_t sensitivity_chunks = 4;
    double cohesion = 0.001;
    std::string types;  // allowed types of a mixture; empty: the default list
    std::string probes = "Q3_K";
    int threads = 0;  // 0: all
    ProgressFactory progress;
};

// A mixture under a budget, as planned and as written.
struct BudgetRun {
    MixedPrecisionPlan plan;
    std::vector<TensorCandidates> candidates;
    QuantizeReport written;
    std::optional<SensitivityReport> sensitivity;
    int64_t calibration_tokens = 0;
    double requested_bpw = 0;  // 0: the target was a file size
    std::string importance;
    double seconds = 0;
};

struct QuantizeResult {
    std::optional<QuantizeReport> uniform;  // --type
    std::optional<BudgetRun> budget;        // every other mode
    std::optional<Preset> preset;           // --preset, --preset-file
    std::optional<PruneReport> pruned;      // a preset that pruned first
};

// Quantizes request.input into request.output. Error(Usage) for flags that do not fit, as the
// command reports them; the output is written whole or not at all.
QuantizeResult run_quantize(const QuantizeRequest& request);

// "2500000", "2.5M", "800K", "1G": binary multiples (K = 1024). Error(Usage) otherwise.
uint64_t parse_size(const std::string& text);

struct PruneRequest {
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
};

// Prunes request.input into request.output. Error(Usage) for flags that do not fit.
PruneReport run_prune(const PruneRequest& request);

}  // namespace dilmodeli::compress
