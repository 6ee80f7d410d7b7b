#pragma once
// What the AVX-512 K-quant kernels share: the order Q4_K/Q5_K keep their activations in, and
// the unpacking of a super-block into levels, scales and mins. The kernel for a few tokens
// (kquants_avx512.cpp) unpacks the stored blocks as it goes; batches (kquants_packed_avx512.cpp)
// first unpack blocks of rows into a layout with the rows in the lanes. Internal linkage, like
// tu_local.h: include only from files compiled for AVX-512.
#include <immintrin.h>

#include <cstdint>
#include <type_traits>

#include "kernels/tu_local.h"
#include "quant/block_layouts.h"

namespace dilmodeli::kernels::detail {
namespace {

inline __m512i broadcast32(const uint8_t* p) {
    return _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// Q4_K/Q5_K's 64-byte loads of qs give sub-blocks 4h + p (bytes 0-31) and 4h + p + 2 (bytes
// 32-63) for the low (p = 0) and high (p = 1) nibbles of half h: chunk 2h + p of Q8BlockK::qs
// holds the activations of those two sub-blocks in that order. offset(s): where elements
// 16s..16s+15 of a super-block go.
struct NibbleOrder {
    static constexpr int offset(int s) {
        const int sub = s / 2, h = sub / 4, p = sub % 2, second = (sub % 4) / 2;
        return 64 * (2 * h + p) + 32 * second + 16 * (s % 2);
    }
};

// The first sub-block of chunk c in nibble order; the chunk's second is two further on.
constexpr int nibble_sub_block(int c) { return 4 * (c / 2) + c % 2; }

// Where sub-block j's 32 elements start in nibble order.
constexpr int nibble_sub_block_start(int j) { return NibbleOrder::offset(2 * j); }

// The 12 scale bytes (read as 32-bit words u0..u2, llama.cpp's bit layout) as eight 6-bit scales
// (bytes 0-7) and eight 6-bit mins (bytes 8-15):
//   out0 = u0 & 0x3f..    out1 = (u2 & 0x0f..) | ((u0 >> 6) & 0x03..) << 4
//   out2 = u1 & 0x3f..    out3 = ((u2 >> 4) & 0x0f..) | ((u1 >> 6) & 0x03..) << 4
// Reads 16 bytes: the 12 and the 4 after them (d/qs of the same block).
inline __attribute__((always_inline)) __m128i q45k_scales_mins(const uint8_t* scales12) {
    const __m128i u = _mm_loadu_si128(reinterpret_cast<const __m128i*>(scales12));
    const __m128i low = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(u, 0x98), _mm_setr_epi32(0, 0, 0, 4)),
                                      _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
    const __m128i top =
        _mm_and_si128(_mm_srli_epi32(_mm_shuffle_epi32(u, 0x50), 2), _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
    return _mm_or_si128(low, top);
}

// Bit `low` of bytes[l] for the first 32 elements of a chunk, bit `high` for the next 32.
inline __attribute__((always_inline)) __mmask64 bit_pair_mask(const __m512i& bytes_twice, int low, int high) {
    const __m512i bits = _mm512_inserti64x4(_mm512_set1_epi8(char(1 << low)), _mm256_set1_epi8(char(1 << high)), 1);
    return _mm512_test_epi8_mask(bytes_twice, bits);
}

// A super-block's 256 levels (0..15, or 0..31 with the fifth bit) in nibble order: lv[c] holds
// chunk c, so lv[c] lines up with bytes 64c..64c+63 of the activations' qs.
template <bool kFifthBit>
inline __attribute__((always_inline)) void q45k_levels(const uint8_t* qs, const uint8_t* qh, __m512i lv[4]) {
    for (int h = 0; h < 2; ++h) {
        const __m512i raw = _mm512_loadu_si512(qs + 64 * h);
        lv[2 * h] = _mm512_and_si512(raw, _mm512_set1_epi8(0x0f));
        lv[2 * h + 1] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), _mm512_set1_epi8(0x0f));
    }
    if constexpr (kFifthBit) {
        const __m512i high = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh)));
        for (int c = 0; c < 4; ++c) {
            const int sub = nibble_sub_block(c);
            lv[c] = _mm512_mask_add_epi8(lv[c], bit_pair_mask(high, sub, sub + 2), lv[c], _mm512_set1_epi8(16));
        }
    } else {
        (void)qh;
    }
}

// The 2-bit levels of Q2_K/Q3_K/TQ2_0 for elements 64c..64c+63: bits 2j of qs[32 (c / 2) + l]
// with j = 2 (c % 2) for the first 32 and j + 1 for the next 32.
inline __attribute__((always_inline)) __m512i two_bit_chunk(const uint8_t* qs, int c) {
    const __m512i both = broadcast32(qs + 32 * (c / 2));
    const int j = 2 * (c % 2);
    const __m512i shifts =
        _mm512_inserti64x4(_mm512_set1_epi16(int16_t(2 * j)), _mm256_set1_epi16(int16_t(2 * j + 2)), 1);
    return _mm512_and_si512(_mm512_srlv_epi16(both, shifts), _mm512_set1_epi8(3));
}

// A super-block in integers: levels (0..63, unsigned) in the order of the activations' qs
// (chunk c of 64), a scale per 16 elements in element order, and what each 16-element sum of
// the activations is multiplied by (the mins, or the offset the levels are stored with times the
// scale). With S = sum of scale * level * q and M = sum of bsum_mult * bsum, the super-block's
// dot product is d * S + bsum_scale * M, times the activations' scale.
struct SuperBlockParts {
    __m512i levels[4];
    __m256i scales16;
    __m256i bsum_mult16;
    float d, bsum_scale;  // bsum_scale: -dmin, or d where M holds the stored levels' offset
};

inline __attribute__((always_inline)) void unpack_q2k(const uint8_t* p, SuperBlockParts& k) {
    const auto& w = *reinterpret_cast<const quant::BlockQ2_K*>(p);
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales));
    k.scales16 = _mm256_cvtepu8_epi16(_mm_and_si128(packed, _mm_set1_epi8(0x0f)));
    k.bsum_mult16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f)));
    for (int c = 0; c < 4; ++c) k.levels[c] = two_bit_chunk(w.qs, c);
    k.d = half_to_float(w.d);
    k.bsum_scale = -half_to_float(w.dmin);
}

inline __attribute__((always_inline)) void unpack_q3k(const uint8_t* p, SuperBlockParts& k) {
    const auto& w = *reinterpret_cast<const quant::BlockQ3_K*>(p);
    // 16 six-bit scales stored + 32 (llama.cpp's bit shuffle of the words u0..u2):
    //   out0 = (u0 & 0x0f..) | (u2 & 0x03..) << 4         out1 = (u1 & 0x0f..) | ((u2 >> 2) & 0x03..) << 4
    //   out2 = ((u0 >> 4) & 0x0f..) | ((u2 >> 4) & 0x03..) << 4, out3 likewise with u1 and u2 >> 6.
    const __m128i u = _mm_maskz_loadu_epi8(0x0fff, w.scales);
    const __m128i low = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(u, 0x44), _mm_setr_epi32(0, 0, 4, 4)),
                                      _mm_set1_epi32(0x0f0f0f0f));
    const __m128i top = _mm_slli_epi32(
        _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(u, 0xaa), _mm_setr_epi32(0, 2, 4, 6)), _mm_set1_epi32(0x03030303)),
        4);
    k.scales16 = _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_or_si128(low, top)), _mm256_set1_epi16(32));
    k.bsum_mult16 = _mm256_mullo_epi16(k.scales16, _mm256_set1_epi16(-4));  // levels are stored + 4
    const __m512i hmask = broadcast32(w.hmask);
    for (int c = 0; c < 4; ++c) {
        const __m512i low2 = two_bit_chunk(w.qs, c);
        k.levels[c] = _mm512_mask_add_epi8(low2, bit_pair_mask(hmask, 2 * c, 2 * c + 1), low2, _mm512_set1_epi8(4));
    }
    k.d = k.bsum_scale = half_to_float(w.d);
}

// Q4_K/Q5_K: scales_mins is q45k_scales_mins (the single-token kernel spreads its scales its own
// way); the levels come in nibble order, and scales16 repeats each 32-element scale.
template <bool kFifthBit>
inline __attribute__((always_inline)) void unpack_q45k(const uint8_t* p, SuperBlockParts& k, __m128i& scales_mins) {
    using Block = std::conditional_t<kFifthBit, quant::BlockQ5_K, quant::BlockQ4_K>;
    const auto& w = *reinterpret_cast<const Block*>(p);
    scales_mins = q45k_scales_mins(w.scales);  // reads 4 bytes past the scales, inside the block
    k.scales16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(scales_mins, scales_mins));
    k.bsum_mult16 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(scales_mins, scales_mins));
    if constexpr (kFifthBit)
        q45k_levels<true>(w.qs, w.qh, k.levels);
    else
        q45k_levels<false>(w.qs, nullptr, k.levels);
    k.d = half_to_float(w.d);
    k.bsum_scale = -half_to_float(w.dmin);
}

inline __attribute__((always_inline)) void unpack_q6k(const uint8_t* p, SuperBlockParts& k) {
    const auto& w = *reinterpret_cast<const quant::BlockQ6_K*>(p);
    k.scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales)));
    k.bsum_mult16 = _mm256_mullo_epi16(k.scales16, _mm256_set1_epi16(-32));  // levels are stored + 32
    const __m512i low_nibble = _mm512_set1_epi8(0x0f), bits45 = _mm512_set1_epi8(0x30);
    const __m512i up_shift = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i down_shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    for (int h = 0; h < 2; ++h) {
        const __m512i ql = _mm512_loadu_si512(w.ql + 64 * h);
        const __m512i qh = broadcast32(w.qh + 32 * h);
        const __m512i high_lo = _mm512_and_si512(_mm512_sllv_epi16(qh, up_shift), bits45);
        const __m512i high_hi = _mm512_and_si512(_mm512_srlv_epi16(qh, down_shift), bits45);
        k.levels[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, low_nibble), high_lo);
        k.levels[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low_nibble), high_hi);
    }
    k.d = k.bsum_scale = half_to_float(w.d);
}

}  // namespace
}  // namespace dilmodeli::kernels::detail
