#pragma once
// What pruning compares: how much a weight, a run of weights or a whole FFN channel matters.
//
// Units. ||X_j|| (Wanda) is sqrt(E[x_j^2]) from the calibration statistics; the common factor
// sqrt(tokens) is dropped, since only the order within a comparison group matters. A channel's
// energy is E[h_c^2] * ||W_down[:, c]||^2: the mean squared change of the layer's output when
// channel c is removed alone. Two channels removed together add 2 (W_down[:, a] . W_down[:, b])
// E[h_a h_b], the cross term that the FFN Gram matrix below provides.
#include <cstdint>
#include <string>
#include <vector>

#include "compress/calibration.h"

namespace dilmodeli::gguf { class GgufFile; struct TensorInfo; }
namespace dilmodeli::model { class Model; }

namespace dilmodeli::compress {

// Per layer, the second moment of the FFN hidden state h = silu(W_gate x) * (W_up x), the input
// of ffn_down: gram[l][a * width[l] + b] = E[h_a h_b] over the calibration tokens.
struct FfnGram {
    std::vector<std::vector<double>> gram;  // (layers) x (width x width), row-major
    std::vector<int64_t> width;             // (layers)
    int64_t tokens = 0;
};

// Runs the model on the first chunks of the text (the same chunks as
// collect_activation_stats_from_file with the same options) and accumulates the Gram matrices.
// O(tokens * n_ff^2) per layer: about a second for tinystories-5M and 32 chunks of 256.
FfnGram collect_ffn_gram(model::Model& model, const std::string& text_path, const CalibrationOptions& options);

// A tensor's values as floats, (rows x cols) row-major. Error(Usage) for a type that has no
// float conversion.
std::vector<float> tensor_as_floats(const gguf::TensorInfo& tensor);

// The weights of one dense FFN layer as floats: gate and up are (width rows x n_embd), down is
// (n_embd rows x width), as GGUF stores them.
struct FfnWeights {
    int64_t n_embd = 0, width = 0;
    std::vector<float> gate, up, down;
};
FfnWeights read_ffn_weights(const gguf::GgufFile& file, int64_t layer);

// Per channel scores of one layer (higher = more important).
// magnitude: ||W_gate[c, :]||^2 + ||W_up[c, :]||^2 + ||W_down[:, c]||^2 (no data).
std::vector<double> channel_magnitude(const FfnWeights& w);
// Wanda summed over the channel's weights: sum_j |W_gate[c, j]| ||x_j|| + sum_j |W_up[c, j]| ||x_j||
// + sum_i |W_down[i, c]| ||h_c||, with x the FFN input (statistics of ffn_gate) and h the hidden
// state (statistics of ffn_down).
std::vector<double> channel_wanda(const FfnWeights& w, const std::vector<float>& input_mean_square,
                                  const std::vector<float>& hidden_mean_square);
// E[h_c^2] * ||W_down[:, c]||^2.
std::vector<double> channel_energy(const FfnWeights& w, const std::vector<float>& hidden_mean_square);
// The squared norm of every column of W_down, (width).
std::vector<double> down_column_norms(const FfnWeights& w);
// W_down[:, a] . W_down[:, b] for every pair, (width x width).
std::vector<double> down_column_products(const FfnWeights& w);

// E || sum_{c removed} W_down[:, c] h_c ||^2: the mean squared change of the layer's output when
// the channels with removed[c] != 0 are taken out together (all cross terms included), and the
// same for removing every channel (the layer's whole output energy), for relative figures.
struct RemovalError {
    double removed = 0;
    double whole = 0;
};
RemovalError removal_error(const std::vector<double>& column_products, const std::vector<double>& gram,
                           const std::vector<uint8_t>& removed);

}  // namespace dilmodeli::compress
