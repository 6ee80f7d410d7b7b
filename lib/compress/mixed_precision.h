#pragma once
// Budgeted mixed precision, solved by the Nash-swarm engine (docs nash-swarm.md, Application 1).
//
// Players are the weight matrices; a player's strategies are the quant types it may take
// (after llama.cpp's fallback for its row length). A tensor i in type t costs
//
//   alpha_i * D_i(t)  +  lambda * bytes_i(t)  +  mu * sum_{j in N(i)} |bits(t) - bits(t_j)|
//
// - D_i(t) is the measured output error: sum_r sum_j E[x_j^2] (W_rj - Q_t(W)_rj)^2, the expected
//   squared error of y = W x for one token, with E[x_j^2] from calibration. The token embedding
//   is a lookup, not a product: its rows are weighted by how often each token occurs in the
//   calibration text. Without calibration every weight counts alike: D_i = ||W - Q_t(W)||^2.
// - alpha_i says how much the model's loss depends on tensor i's output error (Importance):
//   * loss (--importance loss; slower): alpha_i is the measured KL divergence of the model's
//     next-token distribution when tensor i alone is quantized to a probe type, divided by
//     D_i(probe) (mixed_sensitivity.h). Then alpha_i * D_i(t) is a second-order estimate of the
//     KL that type t costs; KLs of different tensors add up to the model's (checked: within 5%).
//   * relative (the default with calibration): alpha_i = parameters_i / E||y_i||^2, so
//     alpha_i * D_i is the tensor's relative output error counted once per weight: error spread
//     evenly, steered by activations. On tinystories-5M it beats `loss` from 2.8 to 4.8 bpw
//     (docs/results/quantize.md), where the measured KLs are small and noisy; it fails at
//     2.5 bpw, where ternary types enter and error stops being small (use loss there).
//   * output (the default without calibration): alpha_i = 1, the raw expected squared output
//     error. Outputs of different matrices live in different spaces (a query vs the residual
//     stream), so with calibration this is a poor ranking; without it D_i = ||dW||^2.
// - bytes_i(t) are the tensor's bytes in the file, alignment padding included, so that the
//   budget is the file size exactly: B = target - header - the tensors that stay as they are.
// - mu (the cohesion) is relative to the two players' own costs at Q3_K (see
//   MixedPrecisionOptions::cohesion); it keeps neighbours from isolated precision cliffs.
// - Neighbours (at most k = 7): the same role in the layers above and below, then the other
//   matrices of the same layer, nearest in file order first, made symmetric by
//   nash::symmetric_capped. Tensors outside the blocks (token_embd, output) neighbour each other.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "compress/calibration.h"
#include "compress/model_quantizer.h"
#include "quant/quant_type.h"

namespace dilmodeli::gguf {
class GgufFile;
struct TensorInfo;
}  // namespace dilmodeli::gguf

namespace dilmodeli::compress {

// The registry's quality ladder (quant::quality_ladder): Q2_K, Q3_K, Q4_0, Q4_K, Q5_K, Q6_K,
// Q8_0, F16 (the doc's list), and TQ1_0 (ternary, 1.69 bits) as a last resort: without it no budget below about 2.7 bits per weight could be met, and
// a tensor only takes it when the price of bytes is high enough to justify its large error.
// (TQ2_0 has the same values as TQ1_0 in more bytes: it could never be chosen.)
std::vector<quant::TypeId> default_mixed_types();
// "Q2_K,Q4_K,..." (any case); Error(Usage) for an unknown type or one that cannot be produced.
std::vector<quant::TypeId> parse_type_list(const std::string& list);

// How a quantizable tensor does in every type it may take.
struct TensorCandidates {
    std::string name;
    size_t file_index = 0;  // in the input's tensor list
    int64_t parameters = 0;
    int32_t layer = -1;     // blk.N; -1 outside the blocks
    std::string role;       // "attn_q", "ffn_down", "token_embd", ...
    std::vector<quant::TypeId> types;  // distinct, after fallback, in increasing bits
    std::vector<uint64_t> bytes;       // in the file, padded to the alignment
    std::vector<double> error;         // D_i(t): weighted squared output error (see above)
    double signal = 0;                 // the same weighting applied to W itself: E||y||^2
    bool weighted = false;             // D uses calibration statistics
};

// The candidate of `c` nearest in bits per weight to `probe` (the lower on ties).
size_t probe_index(const TensorCandidates& c, quant::TypeId probe);

// Per-row and per-column weights used for D_i, as chosen above. Exposed for tests.
struct ErrorWeights {
    std::vector<float> column;  // empty: 1 for every column
    std::vector<float> row;     // empty: 1 for every row
};

struct MeasureOptions {
    std::vector<quant::TypeId> types = default_mixed_types();
    const ActivationStats* stats = nullptr;            // null: unweighted
    const std::vector<double>* token_counts = nullptr;  // per vocabulary entry, for token_embd
    std::function<void(size_t done, size_t total)> progress;  // (tensor, type) pairs measured
};

// Quantizes every quantizable tensor to every allowed type (TBB over pairs and rows; results
// do not depend on the thread count) and measures D. Nothing is cached or written.
std::vector<TensorCandidates> measure_candidates(const gguf::GgufFile& input, const MeasureOptions& options);

// The rounding importance quantize_model and the measurement share: stats.mean_square.
ErrorWeights error_weights(const gguf::TensorInfo& tensor, const ActivationStats* stats,
                           const std::vector<double>* token_counts);

// Exact size of the GGUF that quantize_model writes for `input` with `plan` and `file_type`:
// header (metadata as quantize_model rewrites it, tensor infos, padding) plus every tensor's
// data padded to the alignment.
uint64_t planned_file_bytes(const gguf::GgufFile& input, const std::vector<TensorChoice>& plan, uint32_t file_type);
// The header alone: everything before the tensor data, padding included.
uint64_t planned_header_bytes(const gguf::GgufFile& input, const std::vector<TensorChoice>& plan, uint32_t file_type);
// The smallest file the types allow (every matrix in its smallest type, after fallback), and
// Error(Usage) naming it when `target` is below it: the check that needs no measurement.
uint64_t smallest_file_bytes(const gguf::GgufFile& input, const std::vector<quant::TypeId>& types);
void check_target_size(const gguf::GgufFile& input, const std::vector<quant::TypeId>& types, uint64_t target);
// All parameters of the file (norms included), as llama.cpp counts them for bits per weight.
int64_t total_parameters(const gguf::GgufFile& input);

// alpha_i as measured at one or more probe types (mixed_sensitivity.h): between probes, log
// alpha is interpolated linearly in bits per weight; outside them the nearest probe's holds.
struct TensorSensitivity {
    std::vector<double> bits;   // of each probe type, increasing
    std::vector<double> alpha;  // KL / D_i(probe)
    std::vector<double> kl;     // the measured KL, nats per token
    double at(double bits_per_weight) const;
};

enum class Importance { Output, Relative, Loss };
// "output" | "relative" | "loss"; Error(Usage) otherwise.
Importance parse_importance(const std::string& name);
const char* importance_name(Importance importance);

struct MixedPrecisionOptions {
    uint64_t target_file_bytes = 0;  // the whole output file must fit
    Importance importance = Importance::Output;
    // Importance::Loss: alpha_i by tensor name (every player must have one).
    std::map<std::string, TensorSensitivity> sensitivity;
    // mu, relative: a bit of difference between neighbours i and j costs mu * sqrt(u_i * u_j),
    // where u_i = alpha_i * D_i at i's type nearest `unit_type`. So mu = 0.001 means that one
    // bit of disagreement costs 0.1% of what the pair typically loses at Q3_K.
    double cohesion = 0.001;
    quant::TypeId unit_type = quant::TypeId::Q3_K;
    int32_t neighbours = 7;
};

struct MixedTensorResult {
    std::string name;
    quant::TypeId type;
    uint64_t bytes = 0;
    double bits_per_weight = 0;  // bytes x 8 / parameters of the tensor
    double error = 0;            // D_i(chosen)
    double relative_error = 0;   // sqrt(D_i / signal_i)
    double importance = 1;       // alpha_i at the chosen type
    double cost = 0;             // alpha_i * D_i(chosen), nats per token with sensitivity
    int32_t neighbours = 0;
};

struct MixedPrecisionPlan {
    std::vector<TensorChoice> plan;  // one entry per input tensor, for quantize_model
    std::vector<MixedTensorResult> tensors;  // the players, in file order
    std::map<std::string, std::vector<double>> costs;  // every player's alpha_i(t) * D_i(t), per candidate
    uint64_t target_file_bytes = 0;
    uint64_t header_bytes = 0;
    uint64_t fixed_bytes = 0;         // tensors that are not players, padded
    uint64_t budget_bytes = 0;        // for the players: target - header - fixed
    uint64_t planned_file_bytes = 0;  // header + fixed + the players' choices
    int64_t parameters = 0;
    double planned_bits_per_weight = 0;  // planned file bytes x 8 / parameters
    double total_cost = 0;               // sum of alpha_i * D_i over players
    double cost_unit = 1;                // the mean cost at the unit type; the game's costs are in it
    double cohesion_weight = 0;          // mu (an edge weighs mu x sqrt(u_i u_j), see options)
    // The equilibrium.
    bool binding = false;
    double price = 0;  // lambda, cost (nats per token with sensitivity) per byte
    int32_t solves = 0;
    int32_t sweeps = 0;
    int64_t moves = 0;
    bool converged = false;
    double potential = 0;     // Phi at the priced equilibrium, price term included (in cost)
    double largest_gain = 0;  // largest unilateral gain at the priced equilibrium; 0 there
    bool is_equilibrium = false;
    int32_t colours = 0;
    // The budget fill (nash/budget_fill.h) after the price: moves that spent the slack, and the
    // certificate of the final profile in the budget-constrained game.
    int64_t fill_moves = 0;
    uint64_t fill_bytes = 0;             // bytes the fill added to the players
    double largest_feasible_gain = 0;    // 0: nobody can improve alone within the budget
    bool is_constrained_equilibrium = false;
};

// Builds the game from the measurements and solves it under the budget. Error(Usage) when even
// the smallest type of every tensor does not fit.
MixedPrecisionPlan plan_mixed_precision(const gguf::GgufFile& input, const std::vector<TensorCandidates>& candidates,
                                        const MixedPrecisionOptions& options);

}  // namespace dilmodeli::compress
