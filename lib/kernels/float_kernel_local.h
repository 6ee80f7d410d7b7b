#pragma once
// The float weights' kernel for a few tokens (generation, small batches), written once for any
// xsimd float batch and compiled by each instruction set's float file, like activation_local.h.
// Internal linkage: include only from a file compiled for the caller's instruction set, after
// that file's store_sums (sums_avx2_local.h / sums_avx512_local.h).
//
// Each output sums its columns in kChains chains of fused multiply-adds (columns
// kChains * L * k + L * j .. + L - 1 go to chain j, L the batch's lanes; whole vectors after the
// last whole group of chains, and the zero-padded last partial vector, to chain 0), the chains
// added pairwise at the end, then the lanes summed by store_sums: the same arithmetic in every
// tile shape. More chains hide the multiply-add latency where one chain per output is too few
// to keep the units busy (a single 1-2 KiB row, as generation reads them).
#include <cstdint>
#include <cstring>

#include "kernels/kernel_table.h"
#include "kernels/tu_local.h"

namespace dilmodeli::kernels::detail {
namespace {

// W: the weight type's loader (kBytes per element; load(p) widens Batch::size elements).
// Fused::apply(a, b, c): the ISA file's fused multiply-add (an explicit instruction: xsimd's
// may be left to the compiler to contract, which differs between builds).
template <typename Batch, typename W, int kChains, typename Fused>
struct FloatTiles {
    static_assert(kChains == 1 || kChains == 2 || kChains == 4, "1, 2 or 4 chains");
    static constexpr int64_t kLanes = int64_t(Batch::size);

    template <int R, int T>
    static void run(const GemmArgs& g, int64_t r0, int64_t t0) {
        const size_t prefetch = prefetch_offset(g.w_stride, R);
        const uint8_t* w[R];
        const float* x[T];
        for (int r = 0; r < R; ++r) w[r] = g.w + size_t(r0 + r) * g.w_stride;
        for (int t = 0; t < T; ++t) x[t] = reinterpret_cast<const float*>(g.act + size_t(t0 + t) * g.act_stride);
        Batch acc[kChains][R][T];
        for (int c = 0; c < kChains; ++c)
            for (int r = 0; r < R; ++r)
                for (int t = 0; t < T; ++t) acc[c][r][t] = Batch(0.0f);
        int64_t i = 0;
        for (; i + kLanes * kChains <= g.n; i += kLanes * kChains) {
#pragma GCC unroll 4
            for (int c = 0; c < kChains; ++c) {
                const int64_t col = i + kLanes * c;
                Batch wv[R];
                for (int r = 0; r < R; ++r) {
                    if ((col * W::kBytes) % 64 == 0)  // the next row tile, one line at a time
                        _mm_prefetch(reinterpret_cast<const char*>(w[r] + col * W::kBytes + prefetch), _MM_HINT_T0);
                    wv[r] = W::load(w[r] + col * W::kBytes);
                }
                for (int t = 0; t < T; ++t) {
                    const Batch xv = Batch::load_unaligned(x[t] + col);
                    for (int r = 0; r < R; ++r) acc[c][r][t] = Fused::apply(wv[r], xv, acc[c][r][t]);
                }
            }
        }
        for (; i + kLanes <= g.n; i += kLanes) {
            Batch wv[R];
            for (int r = 0; r < R; ++r) wv[r] = W::load(w[r] + i * W::kBytes);
            for (int t = 0; t < T; ++t) {
                const Batch xv = Batch::load_unaligned(x[t] + i);
                for (int r = 0; r < R; ++r) acc[0][r][t] = Fused::apply(wv[r], xv, acc[0][r][t]);
            }
        }
        if (i < g.n) {
            // Zero-padded copies of the last n % kLanes columns.
            const size_t rest = size_t(g.n - i);
            alignas(64) uint8_t wpad[R][kLanes * 4] = {};
            alignas(64) float xpad[kLanes] = {};
            Batch wv[R];
            for (int r = 0; r < R; ++r) {
                std::memcpy(wpad[r], w[r] + i * W::kBytes, rest * W::kBytes);
                wv[r] = W::load(wpad[r]);
            }
            for (int t = 0; t < T; ++t) {
                std::memcpy(xpad, x[t] + i, rest * sizeof(float));
                const Batch xv = Batch::load_aligned(xpad);
                for (int r = 0; r < R; ++r) acc[0][r][t] = Fused::apply(wv[r], xv, acc[0][r][t]);
            }
        }
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) {
                if constexpr (kChains == 2) acc[0][r][t] = acc[0][r][t] + acc[1][r][t];
                if constexpr (kChains == 4)
                    acc[0][r][t] = (acc[0][r][t] + acc[1][r][t]) + (acc[2][r][t] + acc[3][r][t]);
            }
        store_sums<R, T>(acc[0], g, r0, t0);
    }
};

}  // namespace
}  // namespace dilmodeli::kernels::detail
