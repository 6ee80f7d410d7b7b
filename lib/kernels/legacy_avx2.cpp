// AVX2 kernels for the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) against
// Q8Block32 activations, as ggml does it: one block per 256-bit register, vpmaddubsw +
// vpmaddwd for the integer dot product (unsigned levels, or |w| against sign-adjusted
// activations for signed ones), then one multiply-add with the product of the two scales.
// Also the AVX2 activation quantizers shared with kquants_avx2.cpp.
#include "kernels/kernel_table.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <xsimd/xsimd.hpp>

#include "kernels/legacy_avx2_local.h"
#include "kernels/sums_avx2_local.h"
#include "kernels/tu_local.h"
#include "quant/block_layouts.h"
#include "quant/quant_type.h"

namespace dilmodeli::kernels::detail {

using Batch = xsimd::batch<float, xsimd::fma3<xsimd::avx2>>;

namespace {

float reduce_max(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

int32_t reduce_add(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

// 32 floats scaled by id, rounded to nearest even, as 32 int8 in element order.
__m256i round_32(const float* x, float id, __m256i* sums16 /* the 8-lane int32 values */) {
    const Batch scale(id);
    __m256i q[4];
    for (int k = 0; k < 4; ++k) q[k] = _mm256_cvtps_epi32(Batch::load_unaligned(x + 8 * k) * scale);
    if (sums16) {
        sums16[0] = _mm256_add_epi32(q[0], q[1]);
        sums16[1] = _mm256_add_epi32(q[2], q[3]);
    }
    // packs interleave 128-bit lanes; the permute restores element order.
    const __m256i words = _mm256_packs_epi32(q[0], q[1]), words2 = _mm256_packs_epi32(q[2], q[3]);
    const __m256i bytes = _mm256_packs_epi16(words, words2);
    return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

float block_amax(const float* x, int n) {
    Batch m(0.0f);
    for (int i = 0; i < n; i += 8) m = xsimd::max(m, xsimd::abs(Batch::load_unaligned(x + i)));
    return reduce_max(m);
}

}  // namespace

void quantize_q8_block32_avx2(const float* x, int64_t n, void* out) {
    auto* blocks = static_cast<Q8Block32*>(out);
    for (int64_t b = 0; b < n / 32; ++b, x += 32) {
        const float d = block_amax(x, 32) / 127.0f;
        __m256i sums[2];
        const __m256i q = round_32(x, d != 0.0f ? 1.0f / d : 0.0f, sums);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(blocks[b].qs), q);
        blocks[b].d = d;
        blocks[b].sum = reduce_add(_mm256_add_epi32(sums[0], sums[1]));
    }
}

void quantize_q8_block_k_avx2(const float* x, int64_t n, void* out) {
    auto* blocks = static_cast<Q8BlockK*>(out);
    for (int64_t b = 0; b < n / 256; ++b, x += 256) {
        const float d = block_amax(x, 256) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int k = 0; k < 8; ++k) {
            __m256i sums[2];
            const __m256i q = round_32(x + 32 * k, id, sums);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(blocks[b].qs + 32 * k), q);
            blocks[b].bsums[2 * k] = int16_t(reduce_add(sums[0]));
            blocks[b].bsums[2 * k + 1] = int16_t(reduce_add(sums[1]));
        }
        blocks[b].d = d;
    }
}

namespace {

// Unsigned levels (0..31) against signed activations: 8 int32 partial sums.
__m256i dot_unsigned(__m256i levels, const int8_t* a) {
    const __m256i act = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
    return _mm256_madd_epi16(_mm256_maddubs_epi16(levels, act), _mm256_set1_epi16(1));
}

// Signed levels (|w| <= 128) against signed activations (|a| <= 127).
__m256i dot_signed(__m256i levels, const int8_t* a) {
    const __m256i act = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(levels, levels), _mm256_sign_epi8(act, levels));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

template <typename W>
struct BlockKernel {
    template <int R, int T>
    static void run(const GemmArgs& g, int64_t r0, int64_t t0) {
        const size_t prefetch = prefetch_offset(g.w_stride, R);
        const int64_t nb = g.n / 32;
        const uint8_t* w[R];
        const Q8Block32* a[T];
        for (int r = 0; r < R; ++r) w[r] = g.w + size_t(r0 + r) * g.w_stride;
        for (int t = 0; t < T; ++t) a[t] = reinterpret_cast<const Q8Block32*>(g.act + size_t(t0 + t) * g.act_stride);
        Batch acc[R][T];
        float min_acc[R][T];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) {
                acc[r][t] = Batch(0.0f);
                min_acc[r][t] = 0.0f;
            }
        for (int64_t b = 0; b < nb; ++b) {
            Levels u[R];
            for (int r = 0; r < R; ++r) {
                const uint8_t* block = w[r] + size_t(b) * sizeof(typename W::Block);
                _mm_prefetch(reinterpret_cast<const char*>(block) + prefetch, _MM_HINT_T0);
                u[r] = W::unpack(block);
            }
            for (int t = 0; t < T; ++t) {
                const Q8Block32& ab = a[t][b];
                for (int r = 0; r < R; ++r) {
                    __m256i isum = W::kSigned ? dot_signed(u[r].levels, ab.qs) : dot_unsigned(u[r].levels, ab.qs);
                    if constexpr (W::kOffset != 0)
                        isum = _mm256_add_epi32(isum, _mm256_setr_epi32(W::kOffset * ab.sum, 0, 0, 0, 0, 0, 0, 0));
                    acc[r][t] = xsimd::fma(Batch(_mm256_cvtepi32_ps(isum)), Batch(u[r].d * ab.d), acc[r][t]);
                    if constexpr (W::kHasMin) min_acc[r][t] += u[r].m * ab.d * float(ab.sum);
                }
            }
        }
        store_sums<R, T>(acc, g, r0, t0);
        if constexpr (W::kHasMin)
            for (int t = 0; t < T; ++t)
                for (int r = 0; r < R; ++r) g.y[(t0 + t) * g.ldy + r0 + r] += min_acc[r][t];
    }
};

template <typename W>
void gemm(const GemmArgs& g) {
    run_tiles<BlockKernel<W>, 2>(g);
}

}  // namespace

void register_avx2_legacy(IsaTable& t) {
    auto set = [&t](quant::TypeId id, GemmFn fn) { t.types[int(id)] = {q8_block32_bytes, quantize_q8_block32_avx2, fn}; };
    set(quant::TypeId::Q4_0, gemm<Q4_0>);
    set(quant::TypeId::Q4_1, gemm<Q4_1>);
    set(quant::TypeId::Q5_0, gemm<Q5_0>);
    set(quant::TypeId::Q5_1, gemm<Q5_1>);
    set(quant::TypeId::Q8_0, gemm<Q8_0>);
    set(quant::TypeId::IQ4_NL, gemm<IQ4_NL>);
}

}  // namespace dilmodeli::kernels::detail

#else
namespace dilmodeli::kernels::detail {
void register_avx2_legacy(IsaTable&) {}
}  // namespace dilmodeli::kernels::detail
#endif
