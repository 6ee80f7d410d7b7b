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

}  // namespace detail

void silu_multiply(float* gate, const float* up, int64_t n) {
    const detail::SiluMultiplyFn f = detail::active_table().silu_multiply;
    (f ? f : detail::silu_multiply_scalar)(gate, up, n);
}

}  // namespace dilmodeli::kernels
