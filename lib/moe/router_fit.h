#pragma once
// A router for a moefied layer, fitted on calibration tokens.
//
// What a router should predict is which experts matter for a token: the expert whose output
// would be missed most. So the target for token t and expert e is log ||out_e(t)||, the norm of
// that expert's contribution to the dense FFN output, centred over the experts (softmax is blind
// to a per-token shift). The router rows are the ridge least-squares fit of those targets from
// the FFN input x (no bias: llama's ffn_gate_inp has none). Softmax then ranks experts by
// predicted contribution; a single sharpness factor, which does not change the ranking, sets how
// unequal the k chosen experts' gating weights are and is chosen from a grid by the calibration
// reconstruction error of the layer under llama.cpp's gating.
#include <cstdint>
#include <vector>

#include "kernels/matmul.h"

namespace dilmodeli::moe {

// The dense FFN's hidden activations on calibration inputs: hidden[t * n_ff + c] =
// silu(gate_c . x_t) * (up_c . x_t), for x of n_tokens rows of gate.cols.
std::vector<float> ffn_hidden(const kernels::WeightMatrix& gate, const kernels::WeightMatrix& up,
                              const std::vector<float>& x, int64_t n_tokens);

// The experts' outputs from those activations: out[(t * E + e) * d + i] = sum over the channels c
// of expert e of down[i][c] * hidden[t][c]. slots: E * m channel indices (-1 = padding), as
// moefy lays the experts out; down: the dense down matrix as floats, d rows of n_ff.
std::vector<float> expert_outputs(const std::vector<float>& hidden, const std::vector<float>& down, int64_t d,
                                  const std::vector<int32_t>& slots, int64_t experts, int64_t n_tokens);

struct RouterFit {
    std::vector<float> weights;  // experts rows of d
    double sharpness = 1.0;      // factor applied to the least-squares logits
    // Relative squared error of the top-k MoE output (llama.cpp gating, outputs scaled by k)
    // against the dense output on the calibration tokens, for these weights.
    double reconstruction_error = 0.0;
    // The same for the oracle that picks the k experts of largest true contribution.
    double oracle_error = 0.0;
};

// Fits the router from x (n_tokens rows of d) and expert_outputs(...) for top_k experts.
RouterFit fit_router(const std::vector<float>& x, const std::vector<float>& outputs, int64_t n_tokens, int64_t d,
                     int64_t experts, int64_t top_k);

// Relative squared error of the top-k combination chosen and weighted by `router` (rows of d)
// against the sum of all experts, on the calibration tokens (llama.cpp gating, outputs x k).
double reconstruction_error(const std::vector<float>& router, const std::vector<float>& x,
                            const std::vector<float>& outputs, int64_t n_tokens, int64_t d, int64_t experts,
                            int64_t top_k);

}  // namespace dilmodeli::moe
