#pragma once
// The loop that every rows-in-lanes batch kernel (kquants_packed_avx512.cpp,
// kquants_packed_avx2.cpp, legacy_packed_avx2.cpp) runs over a block of packed rows: tiles of
// tokens outside, groups of rows inside, the last tile of tokens at its own size. Plain C++
// with internal linkage, like tu_local.h, so each instruction set compiles its own copy.
//
// Kernel provides:
//   using Group;        one packed block (of kBlockColumns columns) of a group of rows
//   using Activation;   one quantized block of a token's activations
//   kGroupRows, kTokenTile, kBlockColumns
//   template <int T> static void tile(const Group* group, int64_t nb, const Activation* const* tokens,
//                                     float* y, int64_t ldy, int64_t n_rows);
//     kGroupRows rows (the first n_rows real) x T tokens: row r of token t to y[t * ldy + r].
#include <cstdint>

#include "kernels/kernel_table.h"
#include "kernels/tu_local.h"

namespace dilmodeli::kernels::detail {
namespace {

template <typename Kernel, int T>
void tile_upto(int nt, const typename Kernel::Group* group, int64_t nb, const typename Kernel::Activation* const* tokens,
               float* y, int64_t ldy, int64_t n_rows) {
    if constexpr (T > 1) {
        if (nt < T) return tile_upto<Kernel, T - 1>(nt, group, nb, tokens, y, ldy, n_rows);
    }
    Kernel::template tile<T>(group, nb, tokens, y, ldy, n_rows);
}

// GemmFn over packed rows (w_stride: bytes of one packed row, so a group is kGroupRows of them).
template <typename Kernel>
void gemm_packed_groups(const GemmArgs& g) {
    using Activation = typename Kernel::Activation;
    constexpr int kRows = Kernel::kGroupRows, kTokens = Kernel::kTokenTile;
    const int64_t nb = g.n / Kernel::kBlockColumns;
    const size_t group_stride = size_t(kRows) * g.w_stride;
    for (int64_t t0 = 0; t0 < g.nt; t0 += kTokens) {
        const int nt = int(min_i64(kTokens, g.nt - t0));
        const Activation* tokens[kTokens];
        for (int t = 0; t < nt; ++t) tokens[t] = reinterpret_cast<const Activation*>(g.act + size_t(t0 + t) * g.act_stride);
        for (int64_t r0 = 0; r0 < g.nr; r0 += kRows) {
            const auto* group = reinterpret_cast<const typename Kernel::Group*>(g.w + size_t(r0 / kRows) * group_stride);
            tile_upto<Kernel, kTokens>(nt, group, nb, tokens, g.y + t0 * g.ldy + r0, g.ldy, min_i64(kRows, g.nr - r0));
        }
    }
}

}  // namespace
}  // namespace dilmodeli::kernels::detail
