#include "model/ops.h"

#include <cmath>

#include <vector>

#include "kernels/activation.h"
#include "quant/half.h"

namespace dilmodeli::model {

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
    // Squares in float and their sum in double, as ggml does. One running sum made each norm a
    // chain of n dependent additions (about 2 us for 2,048 elements, 45 norms per token of the
    // 1B shape, while the other thread waits); eight partial sums break it. A double holds the
    // sum of float squares with 29 bits to spare, so the order changes the float mean only when
    // the squares span more than 2^29 in magnitude, and then by one rounding.
    constexpr int kSums = 8;
    double partial[kSums] = {};
    int64_t i = 0;
    for (; i + kSums <= n; i += kSums)
        for (int j = 0; j < kSums; ++j) partial[j] += double(x[i + j] * x[i + j]);
    for (; i < n; ++i) partial[0] += double(x[i] * x[i]);
    const double sum = ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
                       ((partial[4] + partial[5]) + (partial[6] + partial[7]));
    const float mean = float(sum / double(n));
    const float scale = 1.0f / std::sqrt(mean + eps);
    for (int64_t i = 0; i < n; ++i) out[i] = (x[i] * scale) * weight[i];
}

void rope_angles(int64_t pos, const RopeParams& rope, float* cos_out, float* sin_out) {
    // Advanced by repeated multiplication, as ggml does, so the angles carry its rounding.
    const float theta_scale = std::pow(rope.freq_base, -2.0f / float(rope.n_rot));
    float theta = float(pos);
    for (int64_t i = 0; i < rope.n_rot / 2; ++i) {
        const float extrapolated = rope.factors ? theta / rope.factors[i] : theta;
        const float angle = rope.freq_scale * extrapolated;
        cos_out[i] = std::cos(angle) * rope.attn_factor;
        sin_out[i] = std::sin(angle) * rope.attn_factor;
        theta *= theta_scale;
    }
}

void rope_rotate(float* x, int64_t n_heads, int64_t head_dim, int64_t pairs, const float* cos, const float* sin,
                 bool neox) {
    const int64_t second = neox ? pairs : 1;  // offset of a pair's second dimension from its first
    const int64_t stride = neox ? 1 : 2;      // distance between the first dimensions of two pairs
    for (int64_t h = 0; h < n_heads; ++h) {
        float* v = x + h * head_dim;
        for (int64_t i = 0; i < pairs; ++i) {
            float* first = v + i * stride;
            const float x0 = first[0], x1 = first[second];
            first[0] = x0 * cos[i] - x1 * sin[i];
            first[second] = x0 * sin[i] + x1 * cos[i];
        }
    }
}

void soft_cap(float* x, int64_t n, float cap) {
    const float inverse = 1.0f / cap;
    for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i] * inverse) * cap;
}

namespace {

float gelu_tanh(float x) {
    constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
    constexpr float kCoefA = 0.044715f;
    return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCoefA * x * x)));
}

// GELU of every half-precision value, rounded to half: ggml's table.
const std::vector<uint16_t>& gelu_table() {
    static const std::vector<uint16_t> table = [] {
        std::vector<uint16_t> t(1 << 16);
        for (uint32_t h = 0; h < t.size(); ++h)
            t[h] = quant::fp32_to_fp16_scalar(gelu_tanh(quant::fp16_to_fp32_scalar(uint16_t(h))));
        return t;
    }();
    return table;
}

}  // namespace

void gelu_multiply(float* gate, const float* up, int64_t n) {
    const std::vector<uint16_t>& table = gelu_table();
    for (int64_t i = 0; i < n; ++i) {
        const float x = gate[i];
        if (x <= -10.0f)
            gate[i] = 0.0f;
        else if (x >= 10.0f)
            gate[i] = x * up[i];
        else
            gate[i] = quant::fp16_to_fp32_scalar(table[quant::fp32_to_fp16_scalar(x)]) * up[i];
    }
}

void softmax(float* x, int64_t n) { kernels::softmax(x, n); }

void silu_multiply(float* gate, const float* up, int64_t n) { kernels::silu_multiply(gate, up, n); }

void add_in_place(float* dst, const float* src, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

}  // namespace dilmodeli::model
