// AVX-512 VNNI kernels for the 256-element super-block types (Q2_K..Q6_K, TQ2_0) against
// Q8BlockK activations. A super-block is unpacked once per row into four registers of 64
// unsigned levels, in element order (Q4_K/Q5_K: in nibble order, their activations likewise);
// per token, vpmaddubsw multiplies them by the activations and vpdpwssd applies the
// per-sub-block scales while accumulating in 32 bits. Level offsets (Q3_K's -4, Q6_K's -32,
// TQ2_0's -1) are folded into the accumulator's start value from the activation sums;
// Q2_K/Q4_K/Q5_K mins use the same sums with their own scale.
#include "kernels/kernel_table.h"

#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512VNNI__)
// GCC 12 reports its own _mm512_undefined_* placeholders inside AVX-512 intrinsics as
// (maybe-)uninitialized (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "kernels/sums_avx512_local.h"
#include "kernels/tu_local.h"
#include "quant/block_layouts.h"
#include "quant/quant_type.h"

namespace dilmodeli::kernels::detail {
namespace {

using Batch = xsimd::batch<float, xsimd::avx512f>;
using quant::BlockQ2_K;
using quant::BlockQ3_K;
using quant::BlockQ4_K;
using quant::BlockQ5_K;
using quant::BlockQ6_K;
using quant::BlockTQ2_0;

// ---- activations --------------------------------------------------------------------------

// Where elements 16s..16s+15 of a super-block go in Q8BlockK::qs. The natural order serves
// every type but Q4_K/Q5_K, which read theirs in nibble order (see Q45K).
struct NaturalOrder {
    static constexpr int offset(int s) { return 16 * s; }
};
// Q4_K/Q5_K's 64-byte loads of qs give sub-blocks 4h + p (bytes 0-31) and 4h + p + 2 (bytes
// 32-63) for the low (p = 0) and high (p = 1) nibbles of half h: chunk 2h + p holds the
// activations of those two sub-blocks in that order.
struct NibbleOrder {
    static constexpr int offset(int s) {
        const int sub = s / 2, h = sub / 4, p = sub % 2, second = (sub % 4) / 2;
        return 64 * (2 * h + p) + 32 * second + 16 * (s % 2);
    }
};

template <typename Order>
void quantize_q8k(const float* x, int64_t n, void* out) {
    auto* blocks = static_cast<Q8BlockK*>(out);
    for (int64_t b = 0; b < n / 256; ++b, x += 256) {
        Batch amax(0.0f);
        for (int i = 0; i < 256; i += 16) amax = xsimd::max(amax, xsimd::abs(Batch::load_unaligned(x + i)));
        const float d = _mm512_reduce_max_ps(amax) / 127.0f;
        const Batch id(d != 0.0f ? 1.0f / d : 0.0f);
        Q8BlockK& blk = blocks[b];
        for (int s = 0; s < 16; ++s) {
            const __m512i q = _mm512_cvtps_epi32(Batch::load_unaligned(x + 16 * s) * id);
            blk.bsums[s] = int16_t(_mm512_reduce_add_epi32(q));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(blk.qs + Order::offset(s)), _mm512_cvtsepi32_epi8(q));
        }
        blk.d = d;
    }
}

// ---- shared pieces ------------------------------------------------------------------------

// The first sub-block of chunk c in nibble order; the chunk's second is two further on.
constexpr int nibble_sub_block(int c) { return 4 * (c / 2) + c % 2; }

// vpshufb controls spreading 16-bit scales over the 32 words (64 elements) of a chunk, from a
// register holding eight scales in every 128-bit lane.
// sub16[c % 2]: sub-blocks of 16 elements: lane k of chunk c takes scale 4 (c % 2) + k of the
//   eight (the half of the sixteen that chunk c uses).
// sub32[c]: sub-blocks of 32 elements in nibble order (NibbleOrder): lanes 0-1 take the scale
//   of sub-block nibble_sub_block(c), lanes 2-3 that of the sub-block two further on.
struct ScaleControls {
    alignas(64) uint8_t sub16[2][64];
    alignas(64) uint8_t sub32[4][64];
    constexpr ScaleControls() : sub16(), sub32() {
        for (int i = 0; i < 64; ++i) {
            const int lane = i / 16, byte = i % 2;
            for (int h = 0; h < 2; ++h) sub16[h][i] = uint8_t(2 * (4 * h + lane) + byte);
            for (int c = 0; c < 4; ++c) sub32[c][i] = uint8_t(2 * (nibble_sub_block(c) + 2 * (lane / 2)) + byte);
        }
    }
};
constexpr ScaleControls kScaleControls;

// Scales for chunk c of sixteen 16-element sub-blocks (scales16: 16 words).
__m512i spread16(__m256i scales16, int c) {
    const __m128i half = c < 2 ? _mm256_castsi256_si128(scales16) : _mm256_extracti128_si256(scales16, 1);
    return _mm512_shuffle_epi8(_mm512_broadcast_i32x4(half), _mm512_load_si512(kScaleControls.sub16[c % 2]));
}

__m512i broadcast32(const uint8_t* p) {
    return _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// The 2-bit levels of Q2_K/Q3_K/TQ2_0 for elements 64c..64c+63: bits 2j of qs[32 (c / 2) + l]
// with j = 2 (c % 2) for the first 32 and j + 1 for the next 32.
__m512i two_bit_chunk(const uint8_t* qs, int c) {
    const __m512i both = broadcast32(qs + 32 * (c / 2));
    const int j = 2 * (c % 2);
    const __m512i shifts = _mm512_inserti64x4(_mm512_set1_epi16(int16_t(2 * j)), _mm256_set1_epi16(int16_t(2 * j + 2)), 1);
    return _mm512_and_si512(_mm512_srlv_epi16(both, shifts), _mm512_set1_epi8(3));
}

// Bit `low` of bytes[l] for the first 32 elements of a chunk, bit `high` for the next 32.
__mmask64 bit_pair_mask(const __m512i& bytes_twice, int low, int high) {
    const __m512i bits = _mm512_inserti64x4(_mm512_set1_epi8(char(1 << low)), _mm256_set1_epi8(char(1 << high)), 1);
    return _mm512_test_epi8_mask(bytes_twice, bits);
}

__m512i scaled_chunk_sum(__m512i acc, __m512i levels, const int8_t* a, __m512i scales) {
    return _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(levels, _mm512_loadu_si512(a)), scales);
}

__m512 widen8(__m256i v) { return _mm512_zextps256_ps512(_mm256_cvtepi32_ps(v)); }

__m256i load_bsums(const Q8BlockK* a) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a->bsums)); }

// ---- types --------------------------------------------------------------------------------

struct Q2K {
    static constexpr size_t kBytes = sizeof(BlockQ2_K);
    template <int T>
    static void row(const uint8_t* p, const Q8BlockK* const* a, Batch* acc) {
        const auto& w = *reinterpret_cast<const BlockQ2_K*>(p);
        const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales));
        const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(packed, _mm_set1_epi8(0x0f)));
        const __m256i min16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f)));
        __m512i lv[4], sc[4];
        for (int c = 0; c < 4; ++c) {
            lv[c] = two_bit_chunk(w.qs, c);
            sc[c] = spread16(sc16, c);
        }
        const float d = half_to_float(w.d), dmin = half_to_float(w.dmin);
        for (int t = 0; t < T; ++t) {
            __m512i isum = _mm512_setzero_si512();
            for (int c = 0; c < 4; ++c) isum = scaled_chunk_sum(isum, lv[c], a[t]->qs + 64 * c, sc[c]);
            const __m256i mins = _mm256_madd_epi16(load_bsums(a[t]), min16);
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * a[t]->d), acc[t]);
            acc[t] = _mm512_fmadd_ps(widen8(mins), _mm512_set1_ps(-dmin * a[t]->d), acc[t]);
        }
    }
};

struct Q3K {
    static constexpr size_t kBytes = sizeof(BlockQ3_K);
    template <int T>
    static void row(const uint8_t* p, const Q8BlockK* const* a, Batch* acc) {
        const auto& w = *reinterpret_cast<const BlockQ3_K*>(p);
        // 16 six-bit scales stored + 32 (llama.cpp's bit shuffle of the words u0..u2):
        //   out0 = (u0 & 0x0f..) | (u2 & 0x03..) << 4         out1 = (u1 & 0x0f..) | ((u2 >> 2) & 0x03..) << 4
        //   out2 = ((u0 >> 4) & 0x0f..) | ((u2 >> 4) & 0x03..) << 4, out3 likewise with u1 and u2 >> 6.
        const __m128i u = _mm_maskz_loadu_epi8(0x0fff, w.scales);
        const __m128i low = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(u, 0x44), _mm_setr_epi32(0, 0, 4, 4)),
                                          _mm_set1_epi32(0x0f0f0f0f));
        const __m128i top = _mm_slli_epi32(
            _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(u, 0xaa), _mm_setr_epi32(0, 2, 4, 6)), _mm_set1_epi32(0x03030303)), 4);
        const __m256i sc16 = _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_or_si128(low, top)), _mm256_set1_epi16(32));
        const __m256i offset16 = _mm256_mullo_epi16(sc16, _mm256_set1_epi16(-4));  // levels are stored + 4
        const __m512i hmask = broadcast32(w.hmask);
        __m512i lv[4], sc[4];
        for (int c = 0; c < 4; ++c) {
            const __m512i low = two_bit_chunk(w.qs, c);
            lv[c] = _mm512_mask_add_epi8(low, bit_pair_mask(hmask, 2 * c, 2 * c + 1), low, _mm512_set1_epi8(4));
            sc[c] = spread16(sc16, c);
        }
        const float d = half_to_float(w.d);
        for (int t = 0; t < T; ++t) {
            __m512i isum = _mm512_zextsi256_si512(_mm256_madd_epi16(load_bsums(a[t]), offset16));
            for (int c = 0; c < 4; ++c) isum = scaled_chunk_sum(isum, lv[c], a[t]->qs + 64 * c, sc[c]);
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * a[t]->d), acc[t]);
        }
    }
};

// Q4_K and Q5_K: eight sub-blocks of 32 with 6-bit scales and mins. A 64-byte load of qs and
// a mask give two chunks of levels at once, in nibble order; the activations come in the same
// order (NibbleOrder), so no shuffle puts the levels in element order.
template <bool kFifthBit>
struct Q45K {
    using Block = std::conditional_t<kFifthBit, BlockQ5_K, BlockQ4_K>;
    static constexpr size_t kBytes = sizeof(Block);
    template <int T>
    static void row(const uint8_t* p, const Q8BlockK* const* a, Batch* acc) {
        const auto& w = *reinterpret_cast<const Block*>(p);
        // llama.cpp's unpacking of the 12 scale bytes (as 32-bit words u0..u2) into eight
        // scales (bytes 0-7) and eight mins (bytes 8-15), in vector registers:
        //   out0 = u0 & 0x3f..    out1 = (u2 & 0x0f..) | ((u0 >> 6) & 0x03..) << 4
        //   out2 = u1 & 0x3f..    out3 = ((u2 >> 4) & 0x0f..) | ((u1 >> 6) & 0x03..) << 4
        const __m128i u = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales));  // + 4 bytes of d/qs
        const __m128i low = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(u, 0x98), _mm_setr_epi32(0, 0, 0, 4)),
                                          _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
        const __m128i top = _mm_and_si128(_mm_srli_epi32(_mm_shuffle_epi32(u, 0x50), 2),
                                          _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
        const __m128i packed = _mm_or_si128(low, top);
        const __m512i sc16 = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(packed));  // 8 scales per lane
        const __m256i min16 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(packed, packed));  // each min twice
        __m512i lv[4], sc[4];
        [[maybe_unused]] __m512i high;
        if constexpr (kFifthBit) high = broadcast32(w.qh);
        for (int h = 0; h < 2; ++h) {
            const __m512i raw = _mm512_loadu_si512(w.qs + 64 * h);
            lv[2 * h] = _mm512_and_si512(raw, _mm512_set1_epi8(0x0f));
            lv[2 * h + 1] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), _mm512_set1_epi8(0x0f));
        }
        for (int c = 0; c < 4; ++c) {
            if constexpr (kFifthBit) {
                const int sub = nibble_sub_block(c);
                lv[c] = _mm512_mask_add_epi8(lv[c], bit_pair_mask(high, sub, sub + 2), lv[c], _mm512_set1_epi8(16));
            }
            sc[c] = _mm512_shuffle_epi8(sc16, _mm512_load_si512(kScaleControls.sub32[c]));
        }
        const float d = half_to_float(w.d), dmin = half_to_float(w.dmin);
        for (int t = 0; t < T; ++t) {
            __m512i isum = _mm512_setzero_si512();
            for (int c = 0; c < 4; ++c) isum = scaled_chunk_sum(isum, lv[c], a[t]->qs + 64 * c, sc[c]);
            const __m256i mins = _mm256_madd_epi16(load_bsums(a[t]), min16);
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * a[t]->d), acc[t]);
            acc[t] = _mm512_fmadd_ps(widen8(mins), _mm512_set1_ps(-dmin * a[t]->d), acc[t]);
        }
    }
};

struct Q6K {
    static constexpr size_t kBytes = sizeof(BlockQ6_K);
    template <int T>
    static void row(const uint8_t* p, const Q8BlockK* const* a, Batch* acc) {
        const auto& w = *reinterpret_cast<const BlockQ6_K*>(p);
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales)));
        const __m256i offset16 = _mm256_mullo_epi16(sc16, _mm256_set1_epi16(-32));  // levels are stored + 32
        const __m512i low_nibble = _mm512_set1_epi8(0x0f), bits45 = _mm512_set1_epi8(0x30);
        const __m512i up_shift = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
        const __m512i down_shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
        __m512i lv[4], sc[4];
        for (int h = 0; h < 2; ++h) {
            const __m512i ql = _mm512_loadu_si512(w.ql + 64 * h);
            const __m512i qh = broadcast32(w.qh + 32 * h);
            const __m512i high_lo = _mm512_and_si512(_mm512_sllv_epi16(qh, up_shift), bits45);
            const __m512i high_hi = _mm512_and_si512(_mm512_srlv_epi16(qh, down_shift), bits45);
            lv[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, low_nibble), high_lo);
            lv[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low_nibble), high_hi);
        }
        for (int c = 0; c < 4; ++c) sc[c] = spread16(sc16, c);
        const float d = half_to_float(w.d);
        for (int t = 0; t < T; ++t) {
            __m512i isum = _mm512_zextsi256_si512(_mm256_madd_epi16(load_bsums(a[t]), offset16));
            for (int c = 0; c < 4; ++c) isum = scaled_chunk_sum(isum, lv[c], a[t]->qs + 64 * c, sc[c]);
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * a[t]->d), acc[t]);
        }
    }
};

struct TQ2 {
    static constexpr size_t kBytes = sizeof(BlockTQ2_0);
    template <int T>
    static void row(const uint8_t* p, const Q8BlockK* const* a, Batch* acc) {
        const auto& w = *reinterpret_cast<const BlockTQ2_0*>(p);
        __m512i lv[4];
        for (int c = 0; c < 4; ++c) lv[c] = two_bit_chunk(w.qs, c);
        const float d = half_to_float(w.d);
        for (int t = 0; t < T; ++t) {
            // Levels are stored + 1: start from -sum(a).
            __m512i isum = _mm512_zextsi256_si512(_mm256_madd_epi16(load_bsums(a[t]), _mm256_set1_epi16(-1)));
            for (int c = 0; c < 4; ++c)
                isum = _mm512_dpbusd_epi32(isum, lv[c], _mm512_loadu_si512(a[t]->qs + 64 * c));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * a[t]->d), acc[t]);
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
                const uint8_t* block = g.w + size_t(r0 + r) * g.w_stride + size_t(b) * W::kBytes;
                for (size_t line = 0; line < W::kBytes; line += 64)
                    _mm_prefetch(reinterpret_cast<const char*>(block + prefetch + line), _MM_HINT_T0);
                W::template row<T>(block, a, acc[r]);
            }
        }
        store_sums<R, T>(acc, g, r0, t0);
    }
};

template <typename W>
void gemm(const GemmArgs& g) {
    run_tiles<SuperKernel<W>>(g);
}

}  // namespace

void register_avx512_kquants(IsaTable& t) {
    auto set = [&t](quant::TypeId id, GemmFn fn, QuantizeActFn quantize = quantize_q8k<NaturalOrder>) {
        t.types[int(id)] = {q8_block_k_bytes, quantize, fn};
    };
    set(quant::TypeId::Q2_K, gemm<Q2K>);
    set(quant::TypeId::Q3_K, gemm<Q3K>);
    set(quant::TypeId::Q4_K, gemm<Q45K<false>>, quantize_q8k<NibbleOrder>);
    set(quant::TypeId::Q5_K, gemm<Q45K<true>>, quantize_q8k<NibbleOrder>);
    set(quant::TypeId::Q6_K, gemm<Q6K>);
    set(quant::TypeId::TQ2_0, gemm<TQ2>);
}

}  // namespace dilmodeli::kernels::detail

#else
namespace dilmodeli::kernels::detail {
void register_avx512_kquants(IsaTable&) {}
}  // namespace dilmodeli::kernels::detail
#endif
