#pragma once
// Element-wise activations of the forward pass, on the active instruction set.
#include <cstdint>

namespace dilmodeli::kernels {

// gate[i] = gate[i] / (1 + exp(-gate[i])) * up[i] for i < n: SwiGLU's silu(g) * u. Vector
// versions use a polynomial exp within a few ulp of std::exp (tests/kernels/activation_test.cpp).
void silu_multiply(float* gate, const float* up, int64_t n);

// x[i] = exp(x[i] - max) / sum for i < n (n >= 1): the attention weights of a row of scores.
// The same exp as silu_multiply; sums in float lanes, whose order depends on the instruction set.
void softmax(float* x, int64_t n);

// x[i] = x[i] rounded to half precision (nearest, ties to even) and back to float, for i < n:
// what a value loses when stored in an F16 cache. Every instruction set gives the same bits
// (NaN payloads aside).
void round_to_half(float* x, int64_t n);

// out[i] = x[i] in half precision (nearest, ties to even) for i < n: a row stored into an F16
// KV cache. Every instruction set gives the same bits (NaN payloads aside).
void float_to_half(const float* x, uint16_t* out, int64_t n);

}  // namespace dilmodeli::kernels
