// AVX-512 kernels for F32, F16 (F16C widening) and BF16 weights against float activations.
// One 16-lane chain of fused multiply-adds per output in column order (float_kernel_local.h),
// then xsimd's horizontal add (or hadd16, the same sums sixteen at a time): the same arithmetic
// in every tile shape.
// Batches of more than 8 tokens go through outer_product_local.h instead (one fused chain per
// output, a different but equally fixed order).
#include "kernels/kernel_table.h"

#if defined(__x86_64__) && defined(__AVX512F__)
// GCC 12 reports its own _mm512_undefined_* placeholders inside AVX-512 intrinsics as
// (maybe-)uninitialized (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cstring>

#include <xsimd/xsimd.hpp>

#include "kernels/outer_product_local.h"
#include "kernels/sums_avx512_local.h"
#include "kernels/float_kernel_local.h"
#include "kernels/tu_local.h"
#include "quant/quant_type.h"

namespace dilmodeli::kernels::detail {
namespace {

using Batch = xsimd::batch<float, xsimd::avx512f>;

struct F32 {
    static constexpr int kBytes = 4;
    static Batch load(const uint8_t* p) { return Batch::load_unaligned(reinterpret_cast<const float*>(p)); }
    static Batch load_masked(const uint8_t* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
    static float one(const uint8_t* p) {
        float f;
        std::memcpy(&f, p, sizeof f);
        return f;
    }
};

struct F16 {
    static constexpr int kBytes = 2;
    static Batch load(const uint8_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
    static Batch load_masked(const uint8_t* p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }
    static float one(const uint8_t* p) { return half_to_float(load_u16(p)); }
};

struct BF16 {
    static constexpr int kBytes = 2;
    static Batch widen(__m256i v) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16)); }
    static Batch load(const uint8_t* p) { return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
    static Batch load_masked(const uint8_t* p, __mmask16 m) { return widen(_mm256_maskz_loadu_epi16(m, p)); }
    static float one(const uint8_t* p) { return bf16_to_float(load_u16(p)); }
};

Batch fma(const Batch& a, const Batch& b, const Batch& c) { return _mm512_fmadd_ps(a, b, c); }
struct Fused {
    static Batch apply(const Batch& a, const Batch& b, const Batch& c) { return fma(a, b, c); }
};


template <typename W>
struct FloatKernel : FloatTiles<Batch, W, 1, Fused> {
    // One token against sixteen short rows (attention's keys: 64-128 columns), whose sums
    // hadd16 takes at once into sixteen consecutive outputs: the same chains and sums as run.
    static void sixteen_rows(const GemmArgs& g, int64_t r0) {
        // Fully unrolled (GCC keeps the 16 accumulators in registers only then).
        Batch acc[16];
#pragma GCC unroll 16
        for (int r = 0; r < 16; ++r) acc[r] = Batch(0.0f);
        const uint8_t* w = g.w + size_t(r0) * g.w_stride;
        const float* x = reinterpret_cast<const float*>(g.act);
        // The tiles ahead, as run does: a layer's keys at long contexts come from memory.
        const size_t tile_bytes = 16 * g.w_stride, ahead = prefetch_offset(g.w_stride, 16);
        for (size_t line = 0; line < tile_bytes; line += 64)
            _mm_prefetch(reinterpret_cast<const char*>(w + ahead + line), _MM_HINT_T0);
        int64_t i = 0;
        for (; i + 16 <= g.n; i += 16) {
            const Batch xv = Batch::load_unaligned(x + i);
#pragma GCC unroll 16
            for (int r = 0; r < 16; ++r) acc[r] = fma(W::load(w + r * g.w_stride + i * W::kBytes), xv, acc[r]);
        }
        if (i < g.n) {
            const auto m = __mmask16((1u << (g.n - i)) - 1u);
            const Batch xv = _mm512_maskz_loadu_ps(m, x + i);
#pragma GCC unroll 16
            for (int r = 0; r < 16; ++r)
                acc[r] = fma(W::load_masked(w + r * g.w_stride + i * W::kBytes, m), xv, acc[r]);
        }
        hadd16(acc).store_unaligned(g.y + r0);
    }
};

// Six tokens per tile: 24 accumulators, 4 weight rows and 1 activation fill the 32 registers,
// and each weight load serves six fused multiply-adds, so a batch's weights, re-read from L2
// once per token tile, need a third less L2 bandwidth than with 4 x 4 tiles.
template <typename W>
void gemm(const GemmArgs& g) {
    if (g.nt == 1 && g.w_stride < kSingleRowTileMin) {  // one query against keys, or a tiny model
        int64_t r = 0;
        for (; r + 16 <= g.nr; r += 16) FloatKernel<W>::sixteen_rows(g, r);
        GemmArgs rest = g;
        rest.w += size_t(r) * g.w_stride;
        rest.nr -= r;
        rest.y += r;
        if (rest.nr > 0) run_tiles<FloatKernel<W>, 6>(rest);
        return;
    }
    run_tiles<FloatKernel<W>, 6>(g);
}

// Batches: outer products of 12 rows x 32 tokens, 24 accumulators of the 32 registers.
template <typename W>
void batch(const OuterArgs& g) {
    OuterProduct<Batch, W, 12, Fused>::gemm(g);
}

struct Kernels {
    template <typename W>
    static TypeKernel of() {
        return {nullptr, nullptr, gemm<W>, nullptr, nullptr, batch<W>, WeightedRowSum<Batch, W, Fused, 4, 4>::run};
    }
};

void round_to_half(float* x, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(x + i, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    if (i < n) {
        const auto m = __mmask16((1u << (n - i)) - 1u);
        const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        _mm512_mask_storeu_ps(x + i, m, _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)));
    }
}

void float_to_half(const float* x, uint16_t* out, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    if (i < n) {
        const auto m = __mmask16((1u << (n - i)) - 1u);
        _mm256_mask_storeu_epi16(out + i, m, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT));
    }
}

}  // namespace

void register_avx512_float(IsaTable& t) {
    register_float_kernels<Batch, Kernels, F32, F16, BF16>(t);
    t.round_to_half = round_to_half;
    t.float_to_half = float_to_half;
}

}  // namespace dilmodeli::kernels::detail

#else
namespace dilmodeli::kernels::detail {
void register_avx512_float(IsaTable&) {}
}  // namespace dilmodeli::kernels::detail
#endif
