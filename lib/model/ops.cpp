#include "model/ops.h"

#include <cmath>

#include "kernels/activation.h"

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

void rope_angles(int64_t pos, int64_t n_rot, float freq_base, float* cos_out, float* sin_out) {
    // Advanced by repeated multiplication, as ggml does, so the angles carry its rounding.
    const float theta_scale = std::pow(freq_base, -2.0f / float(n_rot));
    float theta = float(pos);
    for (int64_t i = 0; i < n_rot / 2; ++i) {
        cos_out[i] = std::cos(theta);
        sin_out[i] = std::sin(theta);
        theta *= theta_scale;
    }
}

void rope_rotate(float* x, int64_t n_heads, int64_t head_dim, int64_t pairs, const float* cos, const float* sin) {
    for (int64_t h = 0; h < n_heads; ++h) {
        float* v = x + h * head_dim;
        for (int64_t i = 0; i < pairs; ++i) {
            const float x0 = v[2 * i], x1 = v[2 * i + 1];
            v[2 * i] = x0 * cos[i] - x1 * sin[i];
            v[2 * i + 1] = x0 * sin[i] + x1 * cos[i];
        }
    }
}

void softmax(float* x, int64_t n) { kernels::softmax(x, n); }

void silu_multiply(float* gate, const float* up, int64_t n) { kernels::silu_multiply(gate, up, n); }

void add_in_place(float* dst, const float* src, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

}  // namespace dilmodeli::model
