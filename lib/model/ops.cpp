#include "model/ops.h"

#include <cmath>

#include "kernels/activation.h"

namespace dilmodeli::model {

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += double(x[i] * x[i]);
    const float mean = float(sum / double(n));
    const float scale = 1.0f / std::sqrt(mean + eps);
    for (int64_t i = 0; i < n; ++i) out[i] = (x[i] * scale) * weight[i];
}

void rope_normal(float* x, int64_t n_heads, int64_t head_dim, int64_t n_rot, int64_t pos, float freq_base) {
    const float theta_scale = std::pow(freq_base, -2.0f / float(n_rot));
    // One table of angles per call, shared by every head.
    float cos_table[1024], sin_table[1024];
    float theta = float(pos);
    const int64_t pairs = n_rot / 2;
    for (int64_t i = 0; i < pairs && i < 1024; ++i) {
        cos_table[i] = std::cos(theta);
        sin_table[i] = std::sin(theta);
        theta *= theta_scale;
    }
    for (int64_t h = 0; h < n_heads; ++h) {
        float* v = x + h * head_dim;
        for (int64_t i = 0; i < pairs; ++i) {
            const float x0 = v[2 * i], x1 = v[2 * i + 1];
            v[2 * i] = x0 * cos_table[i] - x1 * sin_table[i];
            v[2 * i + 1] = x0 * sin_table[i] + x1 * cos_table[i];
        }
    }
}

void softmax(float* x, int64_t n) { kernels::softmax(x, n); }

void silu_multiply(float* gate, const float* up, int64_t n) { kernels::silu_multiply(gate, up, n); }

void add_in_place(float* dst, const float* src, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

}  // namespace dilmodeli::model
