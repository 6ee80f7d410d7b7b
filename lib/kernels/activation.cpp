#include "kernels/activation.h"

#include <cmath>

#include "kernels/kernel_table.h"
#include "quant/half.h"
#include "quant/quant_type.h"

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

void round_to_half_scalar(float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] = quant::fp16_to_fp32(quant::fp32_to_fp16(x[i]));
}

// The registry's F16 row is the one definition of the rounding every ISA must match.
void float_to_half_scalar(const float* x, uint16_t* out, int64_t n) {
    quant::type_info(quant::TypeId::F16).quantize_row(x, out, n, nullptr);
}

}  // namespace detail

void silu_multiply(float* gate, const float* up, int64_t n) {
    const detail::SiluMultiplyFn f = detail::active_table().silu_multiply;
    (f ? f : detail::silu_multiply_scalar)(gate, up, n);
}

void round_to_half(float* x, int64_t n) {
    const detail::RoundToHalfFn f = detail::active_table().round_to_half;
    (f ? f : detail::round_to_half_scalar)(x, n);
}

void float_to_half(const float* x, uint16_t* out, int64_t n) {
    const detail::FloatToHalfFn f = detail::active_table().float_to_half;
    (f ? f : detail::float_to_half_scalar)(x, out, n);
}

void softmax(float* x, int64_t n) {
    const detail::SoftmaxFn f = detail::active_table().softmax;
    (f ? f : detail::softmax_scalar)(x, n);
}

}  // namespace dilmodeli::kernels
