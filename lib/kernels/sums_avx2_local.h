#pragma once
// The horizontal sums that end the AVX2 tile kernels. Internal linkage, like tu_local.h:
// include only from files compiled for AVX2.
#include <immintrin.h>

#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "kernels/kernel_table.h"

namespace dilmodeli::kernels::detail {
namespace {

// Eight horizontal sums at once: lane j of the result is xsimd::hadd(v[j]), bit for bit. Both
// add the same pairs in the same tree (the 128-bit halves, then adjacent pairs twice), and
// a + b == b + a exactly, so only where the lanes travel differs: 15 instructions for 8 sums
// against about 8 for one.
template <typename Batch>
inline __attribute__((always_inline)) __m256 hadd8(const Batch v[8]) {
    // Pairing v[p] with v[p + 4] first makes the two hadd levels leave hadd(v[j]) in lane j.
    __m256 halves[4];
#pragma GCC unroll 4
    for (int p = 0; p < 4; ++p) {
        const __m256 a = v[p], b = v[p + 4];
        halves[p] = _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31));
    }
    return _mm256_hadd_ps(_mm256_hadd_ps(halves[0], halves[1]), _mm256_hadd_ps(halves[2], halves[3]));
}

// The R x T horizontal sums of a tile into y (token t, row r at y[(t0 + t) * ldy + r0 + r]).
// Tiles of four rows x two tokens take them eight at a time (hadd8): the same bits as one hadd
// each.
template <int R, int T, typename Batch>
inline __attribute__((always_inline)) void store_sums(const Batch (&acc)[R][T], const GemmArgs& g, int64_t r0,
                                                      int64_t t0) {
    if constexpr (R == 4 && T == 2) {
        // Token t's four rows are consecutive outputs: half t of the sums.
        Batch v[8];
        for (int j = 0; j < 8; ++j) v[j] = acc[j % 4][j / 4];
        const __m256 sums = hadd8(v);
        _mm_storeu_ps(g.y + t0 * g.ldy + r0, _mm256_castps256_ps128(sums));
        _mm_storeu_ps(g.y + (t0 + 1) * g.ldy + r0, _mm256_extractf128_ps(sums, 1));
    } else {
        for (int t = 0; t < T; ++t)
            for (int r = 0; r < R; ++r) g.y[(t0 + t) * g.ldy + r0 + r] = xsimd::hadd(acc[r][t]);
    }
}

}  // namespace
}  // namespace dilmodeli::kernels::detail
