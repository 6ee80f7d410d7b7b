#pragma once
// The horizontal sums that end every AVX-512 tile kernel. Internal linkage, like tu_local.h:
// include only from files compiled for AVX-512.
#include <immintrin.h>

#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "kernels/kernel_table.h"

namespace dilmodeli::kernels::detail {
namespace {

// Sixteen horizontal sums at once: lane j of the result is xsimd::hadd(v[j]), bit for bit. Both
// add the same pairs in the same tree (the 256-bit halves, then the 128-bit halves, then
// adjacent pairs twice), and a + b == b + a exactly, so only where the lanes travel differs: here
// two vectors share each shuffle and add, 45 instructions for 16 sums against about 12 for one.
inline __attribute__((always_inline)) xsimd::batch<float, xsimd::avx512f> hadd16(
    const xsimd::batch<float, xsimd::avx512f> v[16]) {
    // Level by level the survivors of source i sit in lanes that, after the last level, make lane
    // 4k + j hold source 4j + k; reading the sources in that transposed order undoes it.
    __m512 a[8], b[4], c[2];
#pragma GCC unroll 8
    for (int p = 0; p < 8; ++p) {
        const int lo = 4 * ((2 * p) % 4) + (2 * p) / 4, hi = 4 * ((2 * p + 1) % 4) + (2 * p + 1) / 4;
        a[p] = _mm512_add_ps(_mm512_shuffle_f32x4(v[lo], v[hi], 0x44), _mm512_shuffle_f32x4(v[lo], v[hi], 0xEE));
    }
#pragma GCC unroll 4
    for (int p = 0; p < 4; ++p)
        b[p] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * p], a[2 * p + 1], 0x88),
                             _mm512_shuffle_f32x4(a[2 * p], a[2 * p + 1], 0xDD));
#pragma GCC unroll 2
    for (int p = 0; p < 2; ++p)
        c[p] = _mm512_add_ps(_mm512_shuffle_ps(b[2 * p], b[2 * p + 1], 0x88),
                             _mm512_shuffle_ps(b[2 * p], b[2 * p + 1], 0xDD));
    return _mm512_add_ps(_mm512_shuffle_ps(c[0], c[1], 0x88), _mm512_shuffle_ps(c[0], c[1], 0xDD));
}

// The R x T horizontal sums of a tile into y (token t, row r at y[(t0 + t) * ldy + r0 + r]).
// Tiles of eight or more sums take them sixteen at a time: the same bits as one hadd each, for
// a third of the instructions. Short rows otherwise spend as much on these as on their products:
// attention's 64-128 columns, and the 110M shape's 768-column batches, whose 128-token Q4_0 /
// Q8_0 / Q4_K products ran 12-18% faster with 4 x 4 tiles summed here.
template <int R, int T>
inline __attribute__((always_inline)) void store_sums(const xsimd::batch<float, xsimd::avx512f> (&acc)[R][T],
                                                      const GemmArgs& g, int64_t r0, int64_t t0) {
    using Batch = xsimd::batch<float, xsimd::avx512f>;
    if constexpr (R * T < 8) {
        for (int t = 0; t < T; ++t)
            for (int r = 0; r < R; ++r) g.y[(t0 + t) * g.ldy + r0 + r] = xsimd::hadd(acc[r][t]);
    } else if constexpr (R == 4 && T == 4) {
        // Token t's four rows are consecutive outputs: quarter t of the sums.
        Batch v[16];
        for (int j = 0; j < 16; ++j) v[j] = acc[j % 4][j / 4];
        const __m512 sums = hadd16(v);
        _mm_storeu_ps(g.y + t0 * g.ldy + r0, _mm512_extractf32x4_ps(sums, 0));
        _mm_storeu_ps(g.y + (t0 + 1) * g.ldy + r0, _mm512_extractf32x4_ps(sums, 1));
        _mm_storeu_ps(g.y + (t0 + 2) * g.ldy + r0, _mm512_extractf32x4_ps(sums, 2));
        _mm_storeu_ps(g.y + (t0 + 3) * g.ldy + r0, _mm512_extractf32x4_ps(sums, 3));
    } else {
        for (int first = 0; first < R * T; first += 16) {
            Batch v[16];
            for (int j = 0; j < 16; ++j)
                v[j] = first + j < R * T ? acc[(first + j) % R][(first + j) / R] : Batch(0.0f);
            alignas(64) float sums[16];
            hadd16(v).store_aligned(sums);
            for (int j = 0; j < 16 && first + j < R * T; ++j)
                g.y[(t0 + (first + j) / R) * g.ldy + r0 + (first + j) % R] = sums[j];
        }
    }
}

}  // namespace
}  // namespace dilmodeli::kernels::detail
