#pragma once
// The 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) as the AVX2 kernels read
// them: a block's 32 levels in one register, in element order, with its scale and min.
// Shared by the row kernel (legacy_avx2.cpp) and the batch kernel (legacy_packed_avx2.cpp).
// Internal linkage, like tu_local.h: include only from files compiled for AVX2.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/tu_local.h"
#include "quant/block_layouts.h"

namespace dilmodeli::kernels::detail {
namespace {

// The 16 bytes of nibbles as 32 levels in element order: low nibbles (0..15), then high.
inline __m256i unpack_nibbles(const uint8_t* qs) {
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    return _mm256_and_si256(_mm256_setr_m128i(raw, _mm_srli_epi16(raw, 4)), _mm256_set1_epi8(0x0f));
}

// 16 in byte j where bit j of the 32-bit qh is set (the fifth bit of the Q5 levels).
inline __m256i fifth_bits(const uint8_t* qh) {
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(int32_t(load_u32(qh))),
                                               _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                                                 0x0101010101010101, 0x0000000000000000));
    const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201));
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
}

// A block in integers: its 32 levels, its scale and (Q4_1, Q5_1) its min.
struct Levels {
    __m256i levels;
    float d, m;
};

// The types. A block contributes (levels . q + kOffset * sum(q)) * d * da, plus m * da * sum(q)
// with kHasMin. kSigned: the levels are signed bytes (products by the sign trick), else
// unsigned ones of at most kMaxLevel.
struct Q4_0 {
    using Block = quant::BlockQ4_0;
    static constexpr bool kSigned = false, kHasMin = false;
    static constexpr int kOffset = -8, kMaxLevel = 15;
    static Levels unpack(const uint8_t* p) {
        const auto& b = *reinterpret_cast<const Block*>(p);
        return {unpack_nibbles(b.qs), half_to_float(b.d), 0.0f};
    }
};
struct Q4_1 {
    using Block = quant::BlockQ4_1;
    static constexpr bool kSigned = false, kHasMin = true;
    static constexpr int kOffset = 0, kMaxLevel = 15;
    static Levels unpack(const uint8_t* p) {
        const auto& b = *reinterpret_cast<const Block*>(p);
        return {unpack_nibbles(b.qs), half_to_float(b.d), half_to_float(b.m)};
    }
};
struct Q5_0 {
    using Block = quant::BlockQ5_0;
    static constexpr bool kSigned = false, kHasMin = false;
    static constexpr int kOffset = -16, kMaxLevel = 31;
    static Levels unpack(const uint8_t* p) {
        const auto& b = *reinterpret_cast<const Block*>(p);
        return {_mm256_or_si256(unpack_nibbles(b.qs), fifth_bits(b.qh)), half_to_float(b.d), 0.0f};
    }
};
struct Q5_1 {
    using Block = quant::BlockQ5_1;
    static constexpr bool kSigned = false, kHasMin = true;
    static constexpr int kOffset = 0, kMaxLevel = 31;
    static Levels unpack(const uint8_t* p) {
        const auto& b = *reinterpret_cast<const Block*>(p);
        return {_mm256_or_si256(unpack_nibbles(b.qs), fifth_bits(b.qh)), half_to_float(b.d), half_to_float(b.m)};
    }
};
struct Q8_0 {
    using Block = quant::BlockQ8_0;
    static constexpr bool kSigned = true, kHasMin = false;
    static constexpr int kOffset = 0, kMaxLevel = 128;
    static Levels unpack(const uint8_t* p) {
        const auto& b = *reinterpret_cast<const Block*>(p);
        return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)), half_to_float(b.d), 0.0f};
    }
};
struct IQ4_NL {
    using Block = quant::BlockIQ4_NL;
    static constexpr bool kSigned = true, kHasMin = false;
    static constexpr int kOffset = 0, kMaxLevel = 127;
    static Levels unpack(const uint8_t* p) {
        const auto& b = *reinterpret_cast<const Block*>(p);
        const __m256i lut =
            _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(quant::kIq4nlValues)));
        return {_mm256_shuffle_epi8(lut, unpack_nibbles(b.qs)), half_to_float(b.d), 0.0f};
    }
};

}  // namespace
}  // namespace dilmodeli::kernels::detail
