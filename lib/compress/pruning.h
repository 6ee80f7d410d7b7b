#pragma once
// Removing weights from a llama GGUF model: unstructured (zeros inside the matrices) or
// structured FFN pruning (whole channels: rows of ffn_gate/ffn_up and the matching columns of
// ffn_down, so the tensors and the file really shrink). Saliency by magnitude, by Wanda's
// |W_ij| * ||X_j||, or decided by the Nash-swarm engine (blocks as players, keep/prune, cohesion
// with the k nearest blocks, the sparsity target as the budget).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "compress/calibration.h"

namespace dilmodeli::gguf { class GgufFile; }

namespace dilmodeli::compress {

enum class PruneMethod { Magnitude, Wanda, Nash };
enum class PruneStructure { Unstructured, FfnChannels };

// "magnitude" | "wanda" | "nash", "unstructured" | "ffn"; Error(Usage) otherwise.
PruneMethod parse_prune_method(const std::string& name);
PruneStructure parse_prune_structure(const std::string& name);

struct PruneOptions {
    std::string output_path;
    double sparsity = 0.3;  // fraction of the prunable weights (or FFN channels) removed, in [0, 1)
    PruneMethod method = PruneMethod::Magnitude;
    PruneStructure structure = PruneStructure::Unstructured;
    const ActivationStats* stats = nullptr;  // required by Wanda and Nash
    int neighbours = 7;                      // Nash: k nearest blocks
    std::function<void(size_t done, size_t total)> progress;
};

struct PrunedTensor {
    std::string name;
    std::vector<int64_t> shape_before, shape_after;
    double zero_fraction = 0;  // of the tensor's elements after pruning
};

struct PruneReport {
    std::vector<PrunedTensor> tensors;
    std::vector<int64_t> ffn_widths;  // per layer, after pruning
    double achieved_sparsity = 0;
    uint64_t file_bytes = 0;
    double seconds = 0;
    // Nash only: the equilibrium found.
    double lagrange_price = 0;
    int sweeps = 0;
    bool converged = true;
    double largest_unilateral_gain = 0;
};

// Writes the pruned model (F32/F16 weights stay in their type; quantized inputs are refused
// with a message: prune first, then quantize). The input is never overwritten.
PruneReport prune_model(const gguf::GgufFile& input, const PruneOptions& options);

}  // namespace dilmodeli::compress
