// fp16 and bf16 conversions (quant/half.h).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>

#include "quant/half.h"

using namespace dilmodeli::quant;

namespace {

bool is_fp16_nan(uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x03ffu) != 0; }

}  // namespace

TEST_CASE("every f16 bit pattern survives f16 -> f32 -> f16", "[quant][half]") {
    for (uint32_t bits = 0; bits <= 0xffffu; ++bits) {
        const auto h = uint16_t(bits);
        const float f = fp16_to_fp32_scalar(h);
        const uint16_t back = fp32_to_fp16_scalar(f);
        if (is_fp16_nan(h)) {
            INFO("bits " << bits);
            REQUIRE(std::isnan(f));
            REQUIRE(is_fp16_nan(back));
        } else if (back != h) {
            FAIL("f16 bits " << bits << " -> " << f << " -> " << back);
        }
        // The dispatching functions (F16C when compiled for it) agree except for NaN payloads.
        if (!is_fp16_nan(h)) {
            REQUIRE(float_bits(fp16_to_fp32(h)) == float_bits(f));
            REQUIRE(fp32_to_fp16(f) == h);
        }
    }
}

TEST_CASE("f16 decoding of known values", "[quant][half]") {
    CHECK(fp16_to_fp32_scalar(0x3c00) == 1.0f);
    CHECK(fp16_to_fp32_scalar(0xc000) == -2.0f);
    CHECK(fp16_to_fp32_scalar(0x7bff) == 65504.0f);
    CHECK(fp16_to_fp32_scalar(0x0400) == std::ldexp(1.0f, -14));  // smallest normal
    CHECK(fp16_to_fp32_scalar(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
    CHECK(fp16_to_fp32_scalar(0x03ff) == std::ldexp(1023.0f, -24));
    CHECK(fp16_to_fp32_scalar(0x7c00) == std::numeric_limits<float>::infinity());
    CHECK(fp16_to_fp32_scalar(0xfc00) == -std::numeric_limits<float>::infinity());
    CHECK(float_bits(fp16_to_fp32_scalar(0x8000)) == 0x80000000u);  // -0 keeps its sign
}

TEST_CASE("f32 -> f16 rounds to nearest even, with subnormals, overflow and NaN", "[quant][half]") {
    // Ties between two halves go to the even mantissa.
    const float one_ulp = std::ldexp(1.0f, -10);  // ulp of 1.0 in f16
    CHECK(fp32_to_fp16_scalar(1.0f + one_ulp / 2) == 0x3c00);              // tie -> even (1.0)
    CHECK(fp32_to_fp16_scalar(1.0f + 3 * one_ulp / 2) == 0x3c02);          // tie -> even (1+2ulp)
    CHECK(fp32_to_fp16_scalar(std::nextafter(1.0f + one_ulp / 2, 2.0f)) == 0x3c01);
    // Overflow: 65519.99 rounds down to 65504, 65520 ties up to inf.
    CHECK(fp32_to_fp16_scalar(65504.0f) == 0x7bff);
    CHECK(fp32_to_fp16_scalar(std::nextafter(65520.0f, 0.0f)) == 0x7bff);
    CHECK(fp32_to_fp16_scalar(65520.0f) == 0x7c00);
    CHECK(fp32_to_fp16_scalar(-1e10f) == 0xfc00);
    CHECK(fp32_to_fp16_scalar(std::numeric_limits<float>::infinity()) == 0x7c00);
    // Subnormal results, including ties at the bottom of the range.
    const float tiny = std::ldexp(1.0f, -24);
    CHECK(fp32_to_fp16_scalar(tiny) == 0x0001);
    CHECK(fp32_to_fp16_scalar(tiny / 2) == 0x0000);                        // tie -> even (0)
    CHECK(fp32_to_fp16_scalar(std::nextafter(tiny / 2, 1.0f)) == 0x0001);
    CHECK(fp32_to_fp16_scalar(1.5f * tiny) == 0x0002);                     // tie -> even (2)
    CHECK(fp32_to_fp16_scalar(2.5f * tiny) == 0x0002);                     // tie -> even (2)
    CHECK(fp32_to_fp16_scalar(-3 * tiny) == 0x8003);
    CHECK(fp32_to_fp16_scalar(1023.5f * tiny) == 0x0400);  // rounds up into the normal range
    CHECK(fp32_to_fp16_scalar(std::numeric_limits<float>::denorm_min()) == 0x0000);
    CHECK(fp32_to_fp16_scalar(-0.0f) == 0x8000);
    CHECK(is_fp16_nan(fp32_to_fp16_scalar(std::numeric_limits<float>::quiet_NaN())));
    CHECK(is_fp16_nan(fp32_to_fp16_scalar(bits_to_float(0x7f800001u))));  // payload only in low bits
}

TEST_CASE("f32 -> f16 matches exact rounding on a sweep of floats", "[quant][half]") {
    // Reference: pick the nearer of the two neighbouring halves in double precision.
    uint32_t state = 12345;
    for (int i = 0; i < 200000; ++i) {
        state = state * 1664525u + 1013904223u;
        // Exponents from 2^-30 to 2^17 cover zero, subnormal, normal and overflow results.
        const float f = bits_to_float((state & 0x807fffffu) | (uint32_t(97 + (state >> 8) % 47) << 23));
        const uint16_t h = fp32_to_fp16_scalar(f);
        const double exact = double(f);
        const double got = double(fp16_to_fp32_scalar(h));
        if (std::isinf(got)) {
            REQUIRE(std::fabs(exact) >= 65520.0);
            continue;
        }
        const double below = double(fp16_to_fp32_scalar(uint16_t(h - ((h & 0x7fffu) ? 1 : 0))));
        const double above = double(fp16_to_fp32_scalar(uint16_t(h + 1)));
        INFO("f = " << f << " -> " << h);
        REQUIRE(std::fabs(got - exact) <= std::fabs(below - exact));
        if (!std::isinf(above)) REQUIRE(std::fabs(got - exact) <= std::fabs(above - exact));
    }
}

TEST_CASE("bf16 conversions", "[quant][half]") {
    CHECK(fp32_to_bf16(1.0f) == 0x3f80);
    CHECK(fp32_to_bf16(-2.0f) == 0xc000);
    CHECK(fp32_to_bf16(3.140625f) == 0x4049);        // exactly representable
    CHECK(fp32_to_bf16(3.14159265f) == 0x4049);      // rounds down
    CHECK(fp32_to_bf16(bits_to_float(0x3f808000u)) == 0x3f80);  // tie -> even (down)
    CHECK(fp32_to_bf16(bits_to_float(0x3f818000u)) == 0x3f82);  // tie -> even (up)
    CHECK(fp32_to_bf16(bits_to_float(0x3f808001u)) == 0x3f81);
    CHECK(fp32_to_bf16(std::numeric_limits<float>::max()) == 0x7f80);  // rounds to inf
    CHECK(fp32_to_bf16(std::numeric_limits<float>::infinity()) == 0x7f80);
    CHECK(fp32_to_bf16(bits_to_float(0x00010000u)) == 0x0001);  // subnormals are kept
    const uint16_t nan = fp32_to_bf16(bits_to_float(0x7f800001u));  // would truncate to inf
    CHECK((nan & 0x7f80) == 0x7f80);
    CHECK((nan & 0x007f) != 0);
    CHECK(bf16_to_fp32(0x3f80) == 1.0f);
    CHECK(bf16_to_fp32(0xc2f7) == -123.5f);
    for (uint32_t bits = 0; bits <= 0xffffu; ++bits) {
        const float f = bf16_to_fp32(uint16_t(bits));
        if (!std::isnan(f)) REQUIRE(fp32_to_bf16(f) == bits);
    }
}
