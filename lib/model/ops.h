#pragma once
// The element-wise and per-row operations of the llama forward pass, written to match ggml's
// arithmetic (double-accumulated norms, rope angles advanced by repeated multiplication) so that
// logits agree with llama.cpp's.
#include <cstdint>

namespace dilmodeli::model {

// out = x / sqrt(mean(x^2) + eps) * weight, for one row of n.
void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps);

// llama.cpp's "normal" rope mode rotates adjacent pairs (x[2i], x[2i+1]) of the first n_rot
// dimensions of each head by pos * base^(-2i/n_rot). The angles depend only on the position, so
// a forward step computes them once per token (rope_angles) and every head of every layer
// reuses them (rope_rotate): the sines and cosines cost more than the rotations.

// cos_out[i], sin_out[i] for the n_rot / 2 pairs of position pos.
void rope_angles(int64_t pos, int64_t n_rot, float freq_base, float* cos_out, float* sin_out);

// Rotates the first `pairs` pairs of each of n_heads heads (head_dim apart) by the angles.
void rope_rotate(float* x, int64_t n_heads, int64_t head_dim, int64_t pairs, const float* cos, const float* sin);

// In-place softmax over n values (kernels::softmax, on the active instruction set).
void softmax(float* x, int64_t n);

// gate = silu(gate) * up, element-wise over n.
void silu_multiply(float* gate, const float* up, int64_t n);

// dst += src over n.
void add_in_place(float* dst, const float* src, int64_t n);

}  // namespace dilmodeli::model
