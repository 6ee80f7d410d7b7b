#include "kernels/activation.h"

#include <cmath>

#include "kernels/kernel_table.h"

namespace dilmodeli::kernels {

namespace detail {

void silu_multiply_scalar(float* gate, const float* up, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        gate[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

void softmax_scalar(float* x, int64_t n) {
    float max = x[0];
    for (int64_t i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - max);
        sum += x[i];
    }
    const float inv = float(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace detail

void silu_multiply(float* gate, const float* up, int64_t n) {
    const detail::SiluMultiplyFn f = detail::active_table().silu_multiply;
    (f ? f : detail::silu_multiply_scalar)(gate, up, n);
}

void softmax(float* x, int64_t n) {
    const detail::SoftmaxFn f = detail::active_table().softmax;
    (f ? f : detail::softmax_scalar)(x, n);
}

}  // namespace dilmodeli::kernels
