// AVX2 + FMA kernels for F32, F16 (F16C widening) and BF16 weights against float activations.
// Four 8-lane chains of fused multiply-adds per output (float_kernel_local.h), then xsimd's
// horizontal add: the same arithmetic in every tile.
// Batches of more than 8 tokens go through outer_product_local.h instead (one fused chain per
// output, a different but equally fixed order).
#include "kernels/kernel_table.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <cstring>

#include <xsimd/xsimd.hpp>

#include "kernels/outer_product_local.h"
#include "kernels/sums_avx2_local.h"
#include "kernels/float_kernel_local.h"
#include "kernels/tu_local.h"
#include "quant/quant_type.h"

namespace dilmodeli::kernels::detail {
namespace {

using Batch = xsimd::batch<float, xsimd::fma3<xsimd::avx2>>;

struct F32 {
    static constexpr int kBytes = 4;
    static Batch load(const uint8_t* p) { return Batch::load_unaligned(reinterpret_cast<const float*>(p)); }
    static float one(const uint8_t* p) {
        float f;
        std::memcpy(&f, p, sizeof f);
        return f;
    }
};

struct F16 {
    static constexpr int kBytes = 2;
    static Batch load(const uint8_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
    static float one(const uint8_t* p) { return half_to_float(load_u16(p)); }
};

struct BF16 {
    static constexpr int kBytes = 2;
    static Batch load(const uint8_t* p) {
        const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
    }
    static float one(const uint8_t* p) { return bf16_to_float(load_u16(p)); }
};

Batch fma(const Batch& a, const Batch& b, const Batch& c) { return xsimd::fma(a, b, c); }
struct Fused {
    static Batch apply(const Batch& a, const Batch& b, const Batch& c) { return fma(a, b, c); }
};


// Four chains per output (float_kernel_local.h): one chain waited on the multiply-add latency,
// so a single row (the 1-2 KiB rows generation reads one at a time) streamed at half the speed
// of AVX-512's 16-lane chain.
template <typename W>
using FloatKernel = FloatTiles<Batch, W, 4, Fused>;

template <typename W>
void gemm(const GemmArgs& g) {
    // Four chains per output: tiles of up to 2 rows x 1 token or 1 row x 2 tokens keep their 8
    // accumulators, the weights and a token's activations in the 16 registers.
    if (g.nt == 1)
        run_tiles<FloatKernel<W>, 1, 2>(g);
    else
        run_tiles<FloatKernel<W>, 2, 1>(g);
}

// Batches: outer products of 6 rows x 16 tokens, 12 accumulators of the 16 registers.
template <typename W>
void batch(const OuterArgs& g) {
    OuterProduct<Batch, W, 6, Fused>::gemm(g);
}

struct Kernels {
    template <typename W>
    static TypeKernel of() {
        return {nullptr, nullptr, gemm<W>, nullptr, nullptr, batch<W>, WeightedRowSum<Batch, W, Fused, 2, 4>::run};
    }
};

void round_to_half(float* x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    for (; i < n; ++i) x[i] = _cvtsh_ss(_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT));
}

void float_to_half(const float* x, uint16_t* out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; ++i) out[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

}  // namespace

void register_avx2_float(IsaTable& t) {
    register_float_kernels<Batch, Kernels, F32, F16, BF16>(t);
    t.round_to_half = round_to_half;
    t.float_to_half = float_to_half;
}

}  // namespace dilmodeli::kernels::detail

#else
namespace dilmodeli::kernels::detail {
void register_avx2_float(IsaTable&) {}
}  // namespace dilmodeli::kernels::detail
#endif
