#pragma once
// Batches of float weights by outer products (see OuterArgs in kernel_table.h), and weighted
// sums of float rows (WeightedRowSumFn), written once for any xsimd batch type and compiled by
// each instruction set's float file. Like tu_local.h,
// everything here has internal linkage: never include it from a file compiled for another ISA
// than its caller's.
//
// Tokens sit in the lanes: a tile of R weight rows x V vectors of tokens keeps R x V
// accumulators, and each column costs V activation loads and R broadcast weights for R x V
// multiply-adds, against one load per multiply-add in dot-product tiles. A tile's weights are
// widened into scratch once per pass of kOuterDepth columns and reused by every token panel;
// partial sums wait in scratch (row-major, tokens contiguous) between passes.
#include <xmmintrin.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <xsimd/xsimd.hpp>

#include "kernels/activation_local.h"
#include "kernels/kernel_table.h"
#include "kernels/tu_local.h"
#include "quant/quant_type.h"

namespace dilmodeli::kernels::detail {
namespace {

// Batch: an xsimd float batch. W: the weight type (kBytes, load() of one batch, one() of one
// element). TileRows: rows per tile, so that TileRows x 2 accumulators, two activation vectors
// and a broadcast fit the registers. Fma::apply(a, b, c): a fused a * b + c. It comes from the
// instruction set's file because xsimd 8 has no fused form for AVX-512: its generic a * b + c
// is fused only when the compiler contracts it, so the bits would depend on the build.
template <typename Batch, typename W, int TileRows, typename Fma>
struct OuterProduct {
    static constexpr int64_t kLanes = int64_t(Batch::size);
    static_assert(kOuterTokenAlign % kLanes == 0, "padded tokens fill whole vectors");
    static_assert(TileRows <= kOuterTileRows, "scratch holds kOuterTileRows rows of weights");

    template <int R, int V>
    static void tile(const float* wt, const float* xt, int64_t xt_stride, int64_t depth, float* yt, bool first) {
        Batch acc[R][V];
        for (int r = 0; r < R; ++r)
            for (int v = 0; v < V; ++v)
                acc[r][v] = first ? Batch(0.0f) : Batch::load_aligned(yt + r * xt_stride + kLanes * v);
        for (int64_t i = 0; i < depth; ++i) {
            Batch xv[V];
            for (int v = 0; v < V; ++v) xv[v] = Batch::load_aligned(xt + i * xt_stride + kLanes * v);
            for (int r = 0; r < R; ++r) {
                const Batch wv(wt[r * kOuterDepth + i]);
                for (int v = 0; v < V; ++v) acc[r][v] = Fma::apply(wv, xv[v], acc[r][v]);
            }
        }
        for (int r = 0; r < R; ++r)
            for (int v = 0; v < V; ++v) acc[r][v].store_aligned(yt + r * xt_stride + kLanes * v);
    }

    using TileFn = void (*)(const float*, const float*, int64_t, int64_t, float*, bool);

    template <int... R>
    static constexpr std::array<std::array<TileFn, 2>, sizeof...(R)> tiles(std::integer_sequence<int, R...>) {
        return {{{tile<R + 1, 1>, tile<R + 1, 2>}...}};
    }

    static void widen(const uint8_t* src, int64_t count, float* dst) {
        int64_t i = 0;
        for (; i + kLanes <= count; i += kLanes) W::load(src + i * W::kBytes).store_aligned(dst + i);
        for (; i < count; ++i) dst[i] = W::one(src + i * W::kBytes);
    }

    // The rows of a block are read in short runs, which hardware prefetchers do not follow:
    // fetch the next tile's while this one computes.
    static void prefetch(const OuterArgs& g, int64_t r0, int64_t rows, int64_t i0, int64_t depth) {
        for (int64_t r = r0; r < r0 + rows; ++r) {
            const uint8_t* p = g.w + size_t(r) * g.w_stride + size_t(i0) * W::kBytes;
            for (int64_t b = 0; b < depth * W::kBytes; b += 64)
                _mm_prefetch(reinterpret_cast<const char*>(p + b), _MM_HINT_T0);
        }
    }

    static void gemm(const OuterArgs& g) {
        static constexpr auto kTiles = tiles(std::make_integer_sequence<int, TileRows>());
        float* wt = g.scratch;
        float* yt = g.scratch + kOuterTileRows * kOuterDepth;
        for (int64_t i0 = 0; i0 < g.n; i0 += kOuterDepth) {
            const int64_t depth = min_i64(kOuterDepth, g.n - i0);
            for (int64_t r0 = 0; r0 < g.nr; r0 += TileRows) {
                const int64_t rows = min_i64(TileRows, g.nr - r0);
                for (int64_t r = 0; r < rows; ++r)
                    widen(g.w + size_t(r0 + r) * g.w_stride + size_t(i0) * W::kBytes, depth, wt + r * kOuterDepth);
                if (r0 + rows < g.nr)
                    prefetch(g, r0 + rows, min_i64(TileRows, g.nr - r0 - rows), i0, depth);
                else if (i0 + depth < g.n)
                    prefetch(g, 0, min_i64(TileRows, g.nr), i0 + depth, min_i64(kOuterDepth, g.n - i0 - depth));
                for (int64_t t0 = 0; t0 < g.xt_stride; t0 += 2 * kLanes) {
                    const int vectors = g.xt_stride - t0 >= 2 * kLanes ? 2 : 1;
                    kTiles[size_t(rows - 1)][size_t(vectors - 1)](wt, g.xt + i0 * g.xt_stride + t0, g.xt_stride,
                                                                  depth, yt + r0 * g.xt_stride + t0, i0 == 0);
                }
            }
        }
        for (int64_t t = 0; t < g.nt; ++t)
            for (int64_t r = 0; r < g.nr; ++r) g.y[t * g.ldy + r] = yt[r * g.xt_stride + t];
    }
};

// See WeightedRowSumFn. Columns sit in the lanes, four vectors at a time, and the rows stream
// past; the last columns take the same chains one at a time (std::fma, so the bits match).
template <typename Batch, typename W, typename Fma>
void weighted_row_sum(const uint8_t* rows, size_t stride, const float* weights, int64_t n_rows, int64_t cols,
                      float* out) {
    constexpr int64_t kLanes = int64_t(Batch::size);
    auto columns = [&](int64_t i, auto vectors) {
        constexpr int V = decltype(vectors)::value;
        Batch acc[V];
        for (int v = 0; v < V; ++v) acc[v] = Batch(0.0f);
        for (int64_t r = 0; r < n_rows; ++r) {
            const Batch weight(weights[r]);
            const uint8_t* p = rows + size_t(r) * stride + size_t(i) * W::kBytes;
            for (int v = 0; v < V; ++v) acc[v] = Fma::apply(weight, W::load(p + v * kLanes * W::kBytes), acc[v]);
        }
        for (int v = 0; v < V; ++v) acc[v].store_unaligned(out + i + v * kLanes);
    };
    int64_t i = 0;
    for (; i + 4 * kLanes <= cols; i += 4 * kLanes) columns(i, std::integral_constant<int, 4>{});
    for (; i + kLanes <= cols; i += kLanes) columns(i, std::integral_constant<int, 1>{});
    for (; i < cols; ++i) {
        float sum = 0.0f;
        for (int64_t r = 0; r < n_rows; ++r)
            sum = std::fma(weights[r], W::one(rows + size_t(r) * stride + size_t(i) * W::kBytes), sum);
        out[i] = sum;
    }
}

// Fills an instruction set's float entries: Kernels::of<W>() gives its TypeKernel for each
// float type W, and the activations come from activation_local.h.
template <typename Batch, typename Kernels, typename F32, typename F16, typename BF16>
void register_float_kernels(IsaTable& t) {
    t.silu_multiply = silu_multiply_vector<Batch>;
    t.softmax = softmax_vector<Batch>;
    t.types[int(quant::TypeId::F32)] = Kernels::template of<F32>();
    t.types[int(quant::TypeId::F16)] = Kernels::template of<F16>();
    t.types[int(quant::TypeId::BF16)] = Kernels::template of<BF16>();
}

}  // namespace
}  // namespace dilmodeli::kernels::detail
