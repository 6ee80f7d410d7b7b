// AVX2 kernels for the K-quants Q2_K..Q6_K against Q8BlockK activations (TQ2_0 uses the scalar
// kernel). Per 32 elements: unsigned levels in a register, vpmaddubsw with the activations,
// vpmaddwd with the sub-block scales, summed in 32 bits over the super-block; Q3_K's -4 and
// Q6_K's -32 offsets and the mins of Q2_K, Q4_K and Q5_K come from the activation sums of 16.
#include "kernels/kernel_table.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "kernels/sums_avx2_local.h"
#include "kernels/tu_local.h"
#include "quant/block_layouts.h"
#include "quant/quant_type.h"

namespace dilmodeli::kernels::detail {
namespace {

using Batch = xsimd::batch<float, xsimd::fma3<xsimd::avx2>>;
using quant::BlockQ2_K;
using quant::BlockQ3_K;
using quant::BlockQ4_K;
using quant::BlockQ5_K;
using quant::BlockQ6_K;

__m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// levels . activations for 32 elements, each pair of products times its int16 scale.
__m256i scaled_dot(__m256i levels, const int8_t* a, __m256i scales) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(levels, load256(a)), scales);
}

// Q4_K and Q5_K: eight sub-blocks of 32 with 6-bit scales and mins.
template <bool kFifthBit>
struct Q45K {
    using Block = std::conditional_t<kFifthBit, BlockQ5_K, BlockQ4_K>;
    template <int T>
    static void row(const Block& w, const Q8BlockK* const* a, Batch* acc) {
        // llama.cpp's unpacking of the 12 scale bytes into eight scales (bytes 0-7) and eight
        // mins (bytes 8-15), in vector registers (see kquants_avx512.cpp).
        const __m128i u = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales));  // + 4 bytes of qh/qs
        const __m128i low = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(u, 0x98), _mm_setr_epi32(0, 0, 0, 4)),
                                          _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
        const __m128i top = _mm_and_si128(_mm_srli_epi32(_mm_shuffle_epi32(u, 0x50), 2),
                                          _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
        const __m128i packed = _mm_or_si128(low, top);
        const __m256i scales16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(packed));
        const __m256i min16 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(packed, packed));  // each min twice
        __m256i lv[8];
        [[maybe_unused]] __m256i high;
        if constexpr (kFifthBit) high = load256(w.qh);
        for (int c = 0; c < 4; ++c) {
            const __m256i raw = load256(w.qs + 32 * c);
            lv[2 * c] = _mm256_and_si256(raw, _mm256_set1_epi8(0x0f));
            lv[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), _mm256_set1_epi8(0x0f));
            if constexpr (kFifthBit) {
                for (int k = 0; k < 2; ++k) {
                    const __m256i bit = _mm256_set1_epi8(char(1 << (2 * c + k)));
                    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(high, bit), bit);
                    lv[2 * c + k] = _mm256_or_si256(lv[2 * c + k], _mm256_and_si256(set, _mm256_set1_epi8(16)));
                }
            }
        }
        __m256i sc[8];  // scale s in every word
        for (int k = 0; k < 8; ++k)
            sc[k] = _mm256_shuffle_epi8(scales16, _mm256_set1_epi16(int16_t(0x0100 + 0x0202 * k)));
        const float d = half_to_float(w.d), dmin = half_to_float(w.dmin);
        for (int t = 0; t < T; ++t) {
            __m256i isum = _mm256_setzero_si256();
            for (int s = 0; s < 8; ++s)
                isum = _mm256_add_epi32(isum, scaled_dot(lv[s], a[t]->qs + 32 * s, sc[s]));
            const __m256i mins = _mm256_madd_epi16(load256(a[t]->bsums), min16);
            acc[t] = xsimd::fma(Batch(_mm256_cvtepi32_ps(isum)), Batch(d * a[t]->d), acc[t]);
            acc[t] = xsimd::fma(Batch(_mm256_cvtepi32_ps(mins)), Batch(-dmin * a[t]->d), acc[t]);
        }
    }
};

// Words 0..7 of the result hold word 2v of scales16, words 8..15 word 2v + 1: the scales of
// the two 16-element sub-blocks that register v of levels covers.
inline __m256i sub_block_pair_scales(__m256i scales16, int v) {
    const __m256i pair = _mm256_permutevar8x32_epi32(scales16, _mm256_set1_epi32(v));
    return _mm256_shuffle_epi8(pair, _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1,  //
                                                      2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3));
}

// The low two bits of Q2_K/Q3_K's levels for elements 32v..32v+31: bits 2 (v % 4) of
// qs[32 (v / 4) + l], l < 32.
inline __m256i two_bits(const uint8_t* qs, int v) {
    return _mm256_and_si256(_mm256_srli_epi16(load256(qs + 32 * (v / 4)), 2 * (v % 4)), _mm256_set1_epi8(3));
}

// Q2_K: sixteen sub-blocks of 16 with 4-bit scales and mins, levels 0..3.
struct Q2K {
    using Block = BlockQ2_K;
    template <int T>
    static void row(const Block& w, const Q8BlockK* const* a, Batch* acc) {
        const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales));
        const __m256i scales16 = _mm256_cvtepu8_epi16(_mm_and_si128(packed, _mm_set1_epi8(0x0f)));
        const __m256i min16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f)));
        __m256i lv[8];
        for (int v = 0; v < 8; ++v) lv[v] = two_bits(w.qs, v);
        const float d = half_to_float(w.d), dmin = half_to_float(w.dmin);
        for (int t = 0; t < T; ++t) {
            __m256i isum = _mm256_setzero_si256();
            for (int v = 0; v < 8; ++v)
                isum = _mm256_add_epi32(isum, scaled_dot(lv[v], a[t]->qs + 32 * v, sub_block_pair_scales(scales16, v)));
            const __m256i mins = _mm256_madd_epi16(load256(a[t]->bsums), min16);
            acc[t] = xsimd::fma(Batch(_mm256_cvtepi32_ps(isum)), Batch(d * a[t]->d), acc[t]);
            acc[t] = xsimd::fma(Batch(_mm256_cvtepi32_ps(mins)), Batch(-dmin * a[t]->d), acc[t]);
        }
    }
};

// Q3_K: sixteen sub-blocks of 16 with signed 6-bit scales, levels 0..7 stored + 4 (the third bit
// of element 32v + l is bit v of hmask[l]).
struct Q3K {
    using Block = BlockQ3_K;
    template <int T>
    static void row(const Block& w, const Q8BlockK* const* a, Batch* acc) {
        // llama.cpp's packing of the 16 scales into 12 bytes (words u0..u2):
        //   out0 = (u0 & 0x0f..) | (u2 & 0x03..) << 4         out1 = (u1 & 0x0f..) | ((u2 >> 2) & 0x03..) << 4
        //   out2 = ((u0 >> 4) & 0x0f..) | ((u2 >> 4) & 0x03..) << 4, out3 likewise with u1 and u2 >> 6.
        const __m128i u = _mm_setr_epi32(int32_t(load_u32(w.scales)), int32_t(load_u32(w.scales + 4)),
                                         int32_t(load_u32(w.scales + 8)), 0);
        const __m128i low = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(u, 0x44), _mm_setr_epi32(0, 0, 4, 4)),
                                          _mm_set1_epi32(0x0f0f0f0f));
        const __m128i top = _mm_slli_epi32(_mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(u, 0xaa),
                                                                        _mm_setr_epi32(0, 2, 4, 6)),
                                                         _mm_set1_epi32(0x03030303)),
                                           4);
        const __m256i scales16 = _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_or_si128(low, top)), _mm256_set1_epi16(32));
        const __m256i offset16 = _mm256_mullo_epi16(scales16, _mm256_set1_epi16(-4));  // levels are stored + 4
        const __m256i hmask = load256(w.hmask), four = _mm256_set1_epi8(4);
        __m256i lv[8];
        for (int v = 0; v < 8; ++v) {
            // Bit v of each hmask byte moved to bit 2 (16-bit shifts: the masked bit stays in its byte).
            const __m256i third = v >= 2 ? _mm256_srli_epi16(hmask, v - 2) : _mm256_slli_epi16(hmask, 2 - v);
            lv[v] = _mm256_or_si256(two_bits(w.qs, v), _mm256_and_si256(third, four));
        }
        const float d = half_to_float(w.d);
        for (int t = 0; t < T; ++t) {
            __m256i isum = _mm256_madd_epi16(load256(a[t]->bsums), offset16);
            for (int v = 0; v < 8; ++v)
                isum = _mm256_add_epi32(isum, scaled_dot(lv[v], a[t]->qs + 32 * v, sub_block_pair_scales(scales16, v)));
            acc[t] = xsimd::fma(Batch(_mm256_cvtepi32_ps(isum)), Batch(d * a[t]->d), acc[t]);
        }
    }
};

struct Q6K {
    using Block = BlockQ6_K;
    template <int T>
    static void row(const Block& w, const Q8BlockK* const* a, Batch* acc) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales)));
        const __m256i offset16 = _mm256_mullo_epi16(sc16, _mm256_set1_epi16(-32));  // levels are stored + 32
        const __m256i low = _mm256_set1_epi8(0x0f), bits45 = _mm256_set1_epi8(0x30);
        __m256i lv[8];
        for (int h = 0; h < 2; ++h) {
            const __m256i ql0 = load256(w.ql + 64 * h), ql1 = load256(w.ql + 64 * h + 32);
            const __m256i qh = load256(w.qh + 32 * h);
            lv[4 * h] = _mm256_or_si256(_mm256_and_si256(ql0, low), _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45));
            lv[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(ql1, low), _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45));
            lv[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low), _mm256_and_si256(qh, bits45));
            lv[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low),
                                            _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45));
        }
        // Register v covers sub-blocks 2v (words 0..7) and 2v + 1 (words 8..15).
        __m256i sc[8];
        for (int v = 0; v < 8; ++v)
            sc[v] = _mm256_setr_m128i(_mm_set1_epi16(w.scales[2 * v]), _mm_set1_epi16(w.scales[2 * v + 1]));
        const float d = half_to_float(w.d);
        for (int t = 0; t < T; ++t) {
            __m256i isum = _mm256_madd_epi16(load256(a[t]->bsums), offset16);
            for (int v = 0; v < 8; ++v) isum = _mm256_add_epi32(isum, scaled_dot(lv[v], a[t]->qs + 32 * v, sc[v]));
            acc[t] = xsimd::fma(Batch(_mm256_cvtepi32_ps(isum)), Batch(d * a[t]->d), acc[t]);
        }
    }
};

template <typename W>
struct SuperKernel {
    template <int R, int T>
    static void run(const GemmArgs& g, int64_t r0, int64_t t0) {
        const size_t prefetch = prefetch_offset(g.w_stride, R);
        const int64_t nb = g.n / 256;
        const Q8BlockK* a0[T];
        for (int t = 0; t < T; ++t) a0[t] = reinterpret_cast<const Q8BlockK*>(g.act + size_t(t0 + t) * g.act_stride);
        Batch acc[R][T];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) acc[r][t] = Batch(0.0f);
        for (int64_t b = 0; b < nb; ++b) {
            const Q8BlockK* a[T];
            for (int t = 0; t < T; ++t) a[t] = a0[t] + b;
            for (int r = 0; r < R; ++r) {
                const uint8_t* block = g.w + size_t(r0 + r) * g.w_stride + size_t(b) * sizeof(typename W::Block);
                for (size_t line = 0; line < sizeof(typename W::Block); line += 64)
                    _mm_prefetch(reinterpret_cast<const char*>(block + prefetch + line), _MM_HINT_T0);
                W::template row<T>(*reinterpret_cast<const typename W::Block*>(block), a, acc[r]);
            }
        }
        store_sums<R, T>(acc, g, r0, t0);
    }
};

template <typename W>
void gemm(const GemmArgs& g) {
    run_tiles<SuperKernel<W>, 2>(g);
}

}  // namespace

void register_avx2_kquants(IsaTable& t) {
    auto set = [&t](quant::TypeId id, GemmFn fn) { t.types[int(id)] = {q8_block_k_bytes, quantize_q8_block_k_avx2, fn}; };
    set(quant::TypeId::Q2_K, gemm<Q2K>);
    set(quant::TypeId::Q3_K, gemm<Q3K>);
    set(quant::TypeId::Q4_K, gemm<Q45K<false>>);
    set(quant::TypeId::Q5_K, gemm<Q45K<true>>);
    set(quant::TypeId::Q6_K, gemm<Q6K>);
}

}  // namespace dilmodeli::kernels::detail

#else
namespace dilmodeli::kernels::detail {
void register_avx2_kquants(IsaTable&) {}
}  // namespace dilmodeli::kernels::detail
#endif
