#pragma once
// What the AVX2 rows-in-lanes batch kernels (legacy_packed_avx2.cpp, kquants_packed_avx2.cpp)
// share: turning eight rows into the lanes of a register, storing a group's outputs, and the
// broadcast of four activations. Internal linkage, like tu_local.h: include only from files
// compiled for AVX2.
#include <immintrin.h>

#include <cstdint>

#include "kernels/tu_local.h"

namespace dilmodeli::kernels::detail {
namespace {

// out[q] lane r = in[r] lane q: an 8 x 8 transpose of dwords (pairs of rows, quads, 128-bit lanes).
inline __attribute__((always_inline)) void transpose8(const __m256i in[8], __m256i out[8]) {
    __m256i t[8], u[8];
    for (int k = 0; k < 4; ++k) {
        t[2 * k] = _mm256_unpacklo_epi32(in[2 * k], in[2 * k + 1]);
        t[2 * k + 1] = _mm256_unpackhi_epi32(in[2 * k], in[2 * k + 1]);
    }
    for (int k = 0; k < 2; ++k) {
        u[4 * k] = _mm256_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
        u[4 * k + 1] = _mm256_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
        u[4 * k + 2] = _mm256_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
        u[4 * k + 3] = _mm256_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
    }
    // u[4k + m], 128-bit lane L: element 4L + m of rows 4k..4k+3.
    for (int m = 0; m < 4; ++m) {
        out[m] = _mm256_permute2x128_si256(u[m], u[4 + m], 0x20);
        out[4 + m] = _mm256_permute2x128_si256(u[m], u[4 + m], 0x31);
    }
}

// An empty asm the value passes through: GCC would otherwise turn a token's chains of integer
// adds into trees, computing every product of a block first and spilling most of them.
inline void keep_in_register(__m256i& v) { __asm__("" : "+x"(v)); }

// Four consecutive activation bytes in every dword.
inline __m256i broadcast_quad(const void* p) { return _mm256_set1_epi32(int32_t(load_u32(static_cast<const uint8_t*>(p)))); }

// The first n_rows lanes of each token's outputs to y + t * ldy.
template <int T>
inline void store_rows8(const __m256 (&acc)[T], float* y, int64_t ldy, int64_t n_rows) {
    if (n_rows >= 8) {
        for (int t = 0; t < T; ++t) _mm256_storeu_ps(y + t * ldy, acc[t]);
        return;
    }
    const __m256i rows = _mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(n_rows)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (int t = 0; t < T; ++t) _mm256_maskstore_ps(y + t * ldy, rows, acc[t]);
}

}  // namespace
}  // namespace dilmodeli::kernels::detail
