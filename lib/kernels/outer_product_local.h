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

// See WeightedRowSumFn. Columns sit in the lanes, V vectors at a time, and the rows stream
// past; up to MaxSets sets share each row's loads, so MaxSets x V accumulators run as independent
// chains. The last columns take the same chains one at a time (std::fma, so the bits match).
template <typename Batch, typename W, typename Fma, int MaxSets, int V>
struct WeightedRowSum {
    static constexpr int64_t kLanes = int64_t(Batch::size);

    template <int S, int Vectors>
    static void columns(const uint8_t* rows, size_t stride, const float* weights, int64_t n_rows, int64_t cols,
                        int64_t i, float* out) {
        Batch acc[S][Vectors];
        for (int s = 0; s < S; ++s)
            for (int v = 0; v < Vectors; ++v) acc[s][v] = Batch(0.0f);
        for (int64_t r = 0; r < n_rows; ++r) {
            const uint8_t* p = rows + size_t(r) * stride + size_t(i) * W::kBytes;
            Batch values[Vectors];
            for (int v = 0; v < Vectors; ++v) values[v] = W::load(p + v * kLanes * W::kBytes);
            for (int s = 0; s < S; ++s) {
                const Batch weight(weights[s * n_rows + r]);
                for (int v = 0; v < Vectors; ++v) acc[s][v] = Fma::apply(weight, values[v], acc[s][v]);
            }
        }
        for (int s = 0; s < S; ++s)
            for (int v = 0; v < Vectors; ++v) acc[s][v].store_unaligned(out + s * cols + i + v * kLanes);
    }

    template <int S>
    static void sets(const uint8_t* rows, size_t stride, const float* weights, int64_t n_rows, int64_t cols,
                     float* out) {
        int64_t i = 0;
        for (; i + V * kLanes <= cols; i += V * kLanes) columns<S, V>(rows, stride, weights, n_rows, cols, i, out);
        for (; i + kLanes <= cols; i += kLanes) columns<S, 1>(rows, stride, weights, n_rows, cols, i, out);
        for (; i < cols; ++i)
            for (int s = 0; s < S; ++s) {
                float sum = 0.0f;
                for (int64_t r = 0; r < n_rows; ++r)
                    sum = std::fma(weights[s * n_rows + r], W::one(rows + size_t(r) * stride + size_t(i) * W::kBytes), sum);
                out[s * cols + i] = sum;
            }
    }

    static void run(const uint8_t* rows, size_t stride, const float* weights, int64_t n_sets, int64_t n_rows,
                    int64_t cols, float* out) {
        static_assert(MaxSets >= 1 && MaxSets <= 4, "one to four sets at a time");
        for (int64_t s0 = 0; s0 < n_sets; s0 += MaxSets) {
            const float* w = weights + s0 * n_rows;
            float* o = out + s0 * cols;
            switch (min_i64(MaxSets, n_sets - s0)) {
                case 1: sets<1>(rows, stride, w, n_rows, cols, o); break;
                case 2: sets<MaxSets >= 2 ? 2 : 1>(rows, stride, w, n_rows, cols, o); break;
                case 3: sets<MaxSets >= 3 ? 3 : 1>(rows, stride, w, n_rows, cols, o); break;
                default: sets<MaxSets>(rows, stride, w, n_rows, cols, o); break;
            }
        }
    }
};

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
