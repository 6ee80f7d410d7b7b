#pragma once
// Element-wise activations (see activation.h), written once for any xsimd float batch type and
// compiled by each instruction set's float file. Like tu_local.h, everything here has internal
// linkage: never include it from a file compiled for another ISA than its caller's.
//
// exp is xsimd's polynomial one, within a few ulp of std::exp. A row's last partial vector goes
// through a padded copy, so no load or store passes the end of a row.
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include <xsimd/xsimd.hpp>

namespace dilmodeli::kernels::detail {
namespace {

// Calls step(i, batch of x[i..]) over whole vectors of [0, n), then once on the last partial
// vector padded with `pad`; step returns the batch to store back, or nothing.
template <typename Batch, typename Step>
void for_each_vector(float* x, int64_t n, float pad, Step&& step) {
    constexpr int64_t kLanes = int64_t(Batch::size);
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        if constexpr (std::is_void_v<decltype(step(i, Batch::load_unaligned(x + i)))>)
            step(i, Batch::load_unaligned(x + i));
        else
            step(i, Batch::load_unaligned(x + i)).store_unaligned(x + i);
    }
    if (i < n) {
        alignas(64) float tail[kLanes];
        for (auto& v : tail) v = pad;
        std::memcpy(tail, x + i, size_t(n - i) * sizeof(float));
        if constexpr (std::is_void_v<decltype(step(i, Batch::load_aligned(tail)))>) {
            step(i, Batch::load_aligned(tail));
        } else {
            step(i, Batch::load_aligned(tail)).store_aligned(tail);
            std::memcpy(x + i, tail, size_t(n - i) * sizeof(float));
        }
    }
}

// xsimd 8 has no horizontal max.
template <typename Batch>
float horizontal_max(const Batch& v) {
    alignas(64) float lanes[Batch::size];
    v.store_aligned(lanes);
    float max = lanes[0];
    for (float lane : lanes) max = lane > max ? lane : max;
    return max;
}

// gate[i] = silu(gate[i]) * up[i].
template <typename Batch>
void silu_multiply_vector(float* gate, const float* up, int64_t n) {
    constexpr int64_t kLanes = int64_t(Batch::size);
    for_each_vector<Batch>(gate, n, 0.0f, [&](int64_t i, const Batch& g) {
        Batch u;
        if (i + kLanes <= n) {
            u = Batch::load_unaligned(up + i);
        } else {
            alignas(64) float tail[kLanes] = {};
            std::memcpy(tail, up + i, size_t(n - i) * sizeof(float));
            u = Batch::load_aligned(tail);
        }
        return g / (Batch(1.0f) + xsimd::exp(-g)) * u;
    });
}

// x = exp(x - max) / sum, in three passes; lanes past the end are padded with -inf, whose exp
// adds nothing to the sum.
template <typename Batch>
void softmax_vector(float* x, int64_t n) {
    const float minus_inf = -std::numeric_limits<float>::infinity();
    Batch max_lanes(minus_inf);
    for_each_vector<Batch>(x, n, minus_inf, [&](int64_t, const Batch& v) { max_lanes = xsimd::max(max_lanes, v); });
    const Batch max(horizontal_max(max_lanes));
    Batch sum_lanes(0.0f);
    for_each_vector<Batch>(x, n, minus_inf, [&](int64_t, const Batch& v) {
        const Batch e = xsimd::exp(v - max);
        sum_lanes += e;
        return e;
    });
    const Batch inv(1.0f / xsimd::hadd(sum_lanes));
    for_each_vector<Batch>(x, n, 0.0f, [&](int64_t, const Batch& v) { return v * inv; });
}

}  // namespace
}  // namespace dilmodeli::kernels::detail
