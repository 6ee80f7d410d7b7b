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

struct FfnGram;  // prune_saliency.h

enum class PruneMethod { Magnitude, Wanda, Nash };
enum class PruneStructure { Unstructured, FfnChannels };
// Structured pruning: one FFN width for every layer (what llama.cpp's llama architecture can
// load: it reads a per-layer feed_forward_length array but creates every layer's FFN tensors
// with layer 0's width), or a width per layer (dilmodeli reads it; llama.cpp refuses the file).
enum class FfnWidths { Uniform, PerLayer };

// "magnitude" | "wanda" | "nash", "unstructured" | "ffn", "uniform" | "per-layer";
// Error(Usage) otherwise.
PruneMethod parse_prune_method(const std::string& name);
PruneStructure parse_prune_structure(const std::string& name);
FfnWidths parse_ffn_widths(const std::string& name);
const char* prune_method_name(PruneMethod method);

struct PruneOptions {
    std::string output_path;
    double sparsity = 0.3;  // fraction of the prunable weights (or FFN channels) removed, in [0, 1)
    PruneMethod method = PruneMethod::Magnitude;
    PruneStructure structure = PruneStructure::Unstructured;
    const ActivationStats* stats = nullptr;  // required by Wanda and Nash
    int neighbours = 7;                      // Nash: k nearest blocks
    // Nash: weight of the cohesion term (a disagreeing neighbour costs cohesion * the geometric
    // mean of the two saliencies); 0 leaves only the measured pair terms.
    double cohesion = 0.0;
    // Structured: FFN widths are rounded to a multiple of this (0: 32 when every layer's width
    // is a multiple of 32, else 1). 32 keeps the 32-blocks (Q4_0, Q8_0, IQ4_NL) possible for
    // ffn_down; 256 keeps the K-quants possible.
    int64_t width_multiple = 0;
    FfnWidths widths = FfnWidths::Uniform;
    // Nash, structured: E[h h^T] of every FFN hidden state (collect_ffn_gram); required there.
    const FfnGram* ffn_gram = nullptr;
    std::function<void(size_t done, size_t total)> progress;
};

// One game the Nash method solved (a layer's or a tensor's blocks, or every FFN channel).
struct NashGameSummary {
    std::string name;
    int32_t players = 0;
    int64_t edges = 0;
    double price = 0;  // lambda, in mean saliencies per byte
    int32_t solves = 0;  // equilibria computed by the price bisection
    int32_t sweeps = 0;  // best-response sweeps of the final equilibrium
    int64_t moves = 0;
    bool converged = true;
    double largest_gain = 0;  // of any unilateral deviation at the equilibrium: 0
    bool is_equilibrium = true;
    double budget_bytes = 0, bytes = 0;  // kept bytes after `adjusted`
    int32_t adjusted = 0;  // players switched after the equilibrium to meet a width exactly
};

struct PrunedTensor {
    std::string name;
    std::vector<int64_t> shape_before, shape_after;
    double zero_fraction = 0;  // of the tensor's elements after pruning
    int64_t pruned = 0;        // elements this run set to zero or removed
};

struct PruneReport {
    std::vector<PrunedTensor> tensors;
    std::vector<int64_t> ffn_widths;  // per layer, after pruning
    // Structured, with an FFN Gram: per layer, E||removed part of the FFN output||^2 over
    // E||FFN output||^2 on the calibration tokens (all cross terms included).
    std::vector<double> ffn_output_error;
    int64_t prunable = 0;           // weights (or FFN channels) the method chose among
    int64_t pruned = 0;             // of them, removed
    double achieved_sparsity = 0;   // pruned / prunable
    uint64_t file_bytes = 0;
    double seconds = 0;
    // Nash only: the equilibrium found. With several games (one per layer or per tensor):
    // the largest price, the most sweeps, whether all converged, the largest gain.
    double lagrange_price = 0;
    int sweeps = 0;
    bool converged = true;
    double largest_unilateral_gain = 0;
    int64_t adjusted = 0;  // players switched after the equilibria to meet the widths exactly
    std::vector<NashGameSummary> games;
};

// Writes the pruned model (F32/F16/BF16 weights stay in their type; quantized weight matrices
// are refused with Error(Usage): prune first, then quantize). The input is never overwritten,
// and a failure leaves no output file.
PruneReport prune_model(const gguf::GgufFile& input, const PruneOptions& options);

}  // namespace dilmodeli::compress
