#pragma once
// Conversions between float and the two 16-bit float formats of GGUF files: IEEE binary16 (F16,
// and every scale inside a quantized block) and bfloat16 (BF16). The scalar code is exact and
// does not depend on the floating-point environment, so results are the same on every machine;
// it is what tests compare against.
#include <cstdint>
#include <cstring>

#if defined(__F16C__)
#include <immintrin.h>
#endif

namespace dilmodeli::quant {

inline uint32_t float_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

inline float bits_to_float(uint32_t u) {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

// binary16 -> float is exact for every input, subnormals included.
inline float fp16_to_fp32_scalar(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu;
    const uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0x1f)  // inf keeps a zero mantissa; a NaN keeps its payload
        return bits_to_float(sign | 0x7f800000u | (mantissa << 13));
    if (exponent == 0) {
        // Subnormal (or zero): mantissa * 2^-24, which a float represents exactly.
        const float magnitude = float(mantissa) * (1.0f / 16777216.0f);
        return sign ? -magnitude : magnitude;
    }
    // Rebias the exponent from 15 to 127.
    return bits_to_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

// float -> binary16 with round-to-nearest-even, like F16C's VCVTPS2PH with rounding mode 0 and
// like ggml. Overflow gives inf; NaN stays NaN (quieted, top payload bits kept).
inline uint16_t fp32_to_fp16_scalar(float f) {
    const uint32_t bits = float_bits(f);
    const uint16_t sign = uint16_t((bits >> 16) & 0x8000u);
    const uint32_t magnitude = bits & 0x7fffffffu;

    if (magnitude > 0x7f800000u)  // NaN
        return uint16_t(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
    // 65520 is half-way between the largest half (65504) and 2^16; ties-to-even goes up to inf.
    if (magnitude >= 0x477ff000u) return uint16_t(sign | 0x7c00u);

    const uint32_t exponent = magnitude >> 23;
    if (exponent < 113) {
        // The result is a half subnormal (or rounds up to the smallest normal): count units of
        // 2^-24. Below 2^-25 everything rounds to zero (2^-25 itself ties to the even zero).
        if (exponent < 102) return sign;
        const uint32_t significand = (magnitude & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126u - exponent;  // 14..24
        uint32_t units = significand >> shift;
        const uint32_t rest = significand & ((1u << shift) - 1u);
        const uint32_t half_unit = 1u << (shift - 1u);
        if (rest > half_unit || (rest == half_unit && (units & 1u))) ++units;
        return uint16_t(sign | units);  // units == 0x400 is exactly the smallest normal
    }

    // Normal: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits to nearest
    // even; a carry out of the mantissa correctly bumps the exponent.
    const uint32_t lsb = (magnitude >> 13) & 1u;
    const uint32_t rounded = magnitude - (112u << 23) + 0xfffu + lsb;
    return uint16_t(sign | (rounded >> 13));
}

inline float fp16_to_fp32(uint16_t h) {
#if defined(__F16C__)
    return _cvtsh_ss(h);
#else
    return fp16_to_fp32_scalar(h);
#endif
}

inline uint16_t fp32_to_fp16(float f) {
#if defined(__F16C__)
    // Identical to the scalar path except for NaN payloads.
    return uint16_t(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
#else
    return fp32_to_fp16_scalar(f);
#endif
}

// bfloat16 is the top half of a float, so widening is a shift.
inline float bf16_to_fp32(uint16_t b) { return bits_to_float(uint32_t(b) << 16); }

// Round-to-nearest-even narrowing as ggml_compute_fp32_to_bf16 does it: subnormals are kept (not
// flushed) and a NaN is forced quiet so that truncation cannot turn it into inf.
inline uint16_t fp32_to_bf16(float f) {
    const uint32_t bits = float_bits(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t((bits >> 16) | 0x40u);
    return uint16_t((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

}  // namespace dilmodeli::quant
