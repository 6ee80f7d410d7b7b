#pragma once
// Small helpers that every kernel file compiles for itself: everything here has internal
// linkage (anonymous namespace), so the copy in an AVX-512 file can never be the one a baseline
// file ends up calling. Do not move these into a header with external linkage.
#include <cstdint>
#include <cstring>

#include "kernels/kernel_table.h"

#if defined(__F16C__)
#include <immintrin.h>
#endif

namespace dilmodeli::kernels::detail {
namespace {

inline float half_to_float(uint16_t h) {
#if defined(__F16C__)
    return _cvtsh_ss(h);
#else
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu;
    const uint32_t mantissa = h & 0x3ffu;
    uint32_t bits;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent == 0) {
        const float magnitude = float(mantissa) * (1.0f / 16777216.0f);
        return sign ? -magnitude : magnitude;
    } else {
        bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
    }
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
#endif
}

inline float bf16_to_float(uint16_t b) {
    const uint32_t bits = uint32_t(b) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

inline uint16_t load_u16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

// How far ahead kernels prefetch weights: the same position in the row tile at least 8 KiB
// further on. Hardware prefetchers lose track of a tile's interleaved row streams; software
// prefetches never fault, so running past the matrix is harmless.
inline size_t prefetch_offset(size_t row_stride, int tile_rows) {
    const size_t tile_bytes = size_t(tile_rows) * row_stride;
    return tile_bytes == 0 ? 0 : tile_bytes * ((size_t(8192) + tile_bytes - 1) / tile_bytes);
}

// Runs Kernel::run<R, T>(g, r0, t0) over the output in tiles of at most MaxR rows x MaxT
// tokens: token tiles outside (their activations stay in L1), row tiles inside.
template <typename Kernel, int R, int T, int MaxT>
void run_tile(const GemmArgs& g, int64_t r0, int64_t t0, int64_t nt) {
    if constexpr (T < MaxT) {
        if (nt < T + 1) {
            Kernel::template run<R, T>(g, r0, t0);
            return;
        }
        run_tile<Kernel, R, T + 1, MaxT>(g, r0, t0, nt);
    } else {
        Kernel::template run<R, T>(g, r0, t0);
    }
}

// A single token reads rows of 1-2 KiB one row at a time: in tiles of four, such rows streamed
// from memory 10-20% slower (1B Q4_0 and Q4_K generation, whose 2048-column rows are 1152
// bytes; F16 rows of 1536 bytes). Longer rows stream faster in fours, and so do rows under
// 1 KiB (the 110M shape's 768-column Q4_0/Q8_0 rows lost 3-13% read one at a time).
constexpr size_t kSingleRowTileMin = 1024, kSingleRowTileMax = 2048;

template <typename Kernel, int MaxT = 4, int MaxR = 4>
void run_tiles(const GemmArgs& g) {
    static_assert(MaxT >= 1 && MaxT <= 8 && MaxR >= 1 && MaxR <= 4, "tiles of 1..4 x 1..8");
    if (g.nt == 1 && g.w_stride >= kSingleRowTileMin && g.w_stride <= kSingleRowTileMax) {
        for (int64_t r = 0; r < g.nr; ++r) Kernel::template run<1, 1>(g, r, 0);
        return;
    }
    for (int64_t t0 = 0; t0 < g.nt; t0 += MaxT) {
        const int64_t nt = min_i64(MaxT, g.nt - t0);
        for (int64_t r0 = 0; r0 < g.nr; r0 += MaxR) {
            switch (min_i64(MaxR, g.nr - r0)) {
                case 1: run_tile<Kernel, 1, 1, MaxT>(g, r0, t0, nt); break;
                case 2: run_tile<Kernel, 2, 1, MaxT>(g, r0, t0, nt); break;
                case 3: run_tile<Kernel, 3, 1, MaxT>(g, r0, t0, nt); break;
                default: run_tile<Kernel, MaxR, 1, MaxT>(g, r0, t0, nt); break;
            }
        }
    }
}

}  // namespace
}  // namespace dilmodeli::kernels::detail
