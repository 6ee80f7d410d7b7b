#pragma once
// The element-wise and per-row operations of the llama forward pass, written to match ggml's
// arithmetic (double-accumulated norms, rope angles advanced by repeated multiplication) so that
// logits agree with llama.cpp's.
#include <cstdint>

namespace dilmodeli::model {

// out = x / sqrt(mean(x^2) + eps) * weight, for one row of n.
void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps);

// Rope rotates pair i of the first n_rot dimensions of each head by
// freq_scale * pos * base^(-2i/n_rot) / factor[i], and scales it by attn_factor. llama.cpp's
// "normal" mode pairs adjacent dimensions (2i, 2i+1), its NeoX mode dimensions i and i + n_rot/2.
// The angles depend only on the position, so a forward step computes them once per token
// (rope_angles) and every head of every layer reuses them (rope_rotate): the sines and cosines
// cost more than the rotations.
struct RopeParams {
    int64_t n_rot = 0;
    float freq_base = 10000.0f;
    float freq_scale = 1.0f;
    float attn_factor = 1.0f;
    const float* factors = nullptr;  // n_rot / 2 divisors of the angles, or null
};

// cos_out[i], sin_out[i] (attn_factor included) for the n_rot / 2 pairs of position pos.
void rope_angles(int64_t pos, const RopeParams& rope, float* cos_out, float* sin_out);

// Rotates the first `pairs` pairs of each of n_heads heads (head_dim apart) by the angles:
// adjacent pairs, or with `neox` the halves (i, i + pairs).
void rope_rotate(float* x, int64_t n_heads, int64_t head_dim, int64_t pairs, const float* cos, const float* sin,
                 bool neox = false);

// x = cap * tanh(x / cap), element-wise over n: Gemma's logit soft-capping.
void soft_cap(float* x, int64_t n, float cap);

// gate = gelu(gate) * up over n, with GELU's tanh approximation looked up by the input's half
// precision bits, as ggml computes it (its table and its -10 / +10 cut-offs).
void gelu_multiply(float* gate, const float* up, int64_t n);

// In-place softmax over n values (kernels::softmax, on the active instruction set).
void softmax(float* x, int64_t n);

// gate = silu(gate) * up, element-wise over n.
void silu_multiply(float* gate, const float* up, int64_t n);

// dst += src over n.
void add_in_place(float* dst, const float* src, int64_t n);

}  // namespace dilmodeli::model
