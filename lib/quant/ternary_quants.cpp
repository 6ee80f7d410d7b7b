// Row conversions of the ternary types TQ1_0 (base-3 packing, 1.6875 bits/weight) and TQ2_0
// (2 bits/weight). Both store x = t * d, t in {-1, 0, 1}, with d the absolute maximum of the
// 256-element block, as llama.cpp's reference quantizers do (they ignore importance weights:
// with three levels and d fixed by the maximum there is no scale left to search).
#include <algorithm>
#include <cassert>
#include <cmath>

#include "quant/block_layouts.h"
#include "quant/half.h"
#include "quant/type_kernels.h"

namespace dilmodeli::quant {
namespace {

constexpr uint8_t kPowersOf3[5] = {1, 3, 9, 27, 81};

// The 48 five-digit bytes of TQ1_0 form two groups (first byte, width): byte first + m holds
// the elements m + k * width (k = 0..4) of the group's 5 * width elements. Widths are 32 and 16
// so that SIMD decoders can work on whole 32- or 16-byte registers.
struct TritGroup {
    int first;
    int width;
};
constexpr TritGroup kFiveTritGroups[2] = {{0, 32}, {32, 16}};

float block_absmax(const float* x) {
    float amax = 0.0f;
    for (int j = 0; j < kSuperBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
    return amax;
}

// x / d rounded half away from zero, shifted from -1..1 to 0..2.
int trit(float x, float inverse_d) { return int(std::lround(x * inverse_d)) + 1; }

// Packs base-3 digits (first one most significant) into a byte as ceil(v * 256 / 243), which is
// what lets the decoder extract digits with a multiply and a shift. A 4-digit group is first
// scaled by 3 so that its first digit is in the same position as in a 5-digit group.
uint8_t pack_trits(const int* trits, int count) {
    int value = 0;
    for (int k = 0; k < count; ++k) value = value * 3 + trits[k];
    if (count == 4) value *= 3;
    return uint8_t((value * 256 + 242) / 243);
}

// Digit n (0 = most significant) of a packed byte: multiplying by 3^n (mod 256) drops the leading
// n digits, and the top "digit" of the remaining fixed-point fraction is (q * 3) >> 8.
int unpack_trit(uint8_t packed, int n) {
    const uint8_t shifted = uint8_t(packed * kPowersOf3[n]);
    return (int(shifted) * 3) >> 8;
}

}  // namespace

void dequantize_row_tq1_0(const void* src, float* dst, int64_t n) {
    assert(n % kSuperBlock == 0);
    const auto* blocks = static_cast<const BlockTQ1_0*>(src);
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const BlockTQ1_0& block = blocks[b];
        const float d = fp16_to_fp32(block.d);
        for (const auto& [first, width] : kFiveTritGroups) {
            for (int digit = 0; digit < 5; ++digit)
                for (int m = 0; m < width; ++m)
                    *dst++ = float(unpack_trit(block.qs[first + m], digit) - 1) * d;
        }
        for (int digit = 0; digit < 4; ++digit)
            for (int j = 0; j < 4; ++j) *dst++ = float(unpack_trit(block.qh[j], digit) - 1) * d;
    }
}

void quantize_row_tq1_0(const float* src, void* dst, int64_t n, const float* /*importance*/) {
    assert(n % kSuperBlock == 0);
    auto* blocks = static_cast<BlockTQ1_0*>(dst);
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const float* x = src + b * kSuperBlock;
        BlockTQ1_0& block = blocks[b];
        const float d = block_absmax(x);
        const float id = d ? 1.0f / d : 0.0f;
        block.d = fp32_to_fp16(d);
        int trits[5];
        int element = 0;
        for (const auto& [first, width] : kFiveTritGroups) {
            for (int m = 0; m < width; ++m) {
                for (int digit = 0; digit < 5; ++digit) trits[digit] = trit(x[element + m + digit * width], id);
                block.qs[first + m] = pack_trits(trits, 5);
            }
            element += 5 * width;
        }
        for (int j = 0; j < 4; ++j) {
            for (int digit = 0; digit < 4; ++digit) trits[digit] = trit(x[element + j + digit * 4], id);
            block.qh[j] = pack_trits(trits, 4);
        }
    }
}

void dequantize_row_tq2_0(const void* src, float* dst, int64_t n) {
    assert(n % kSuperBlock == 0);
    const auto* blocks = static_cast<const BlockTQ2_0*>(src);
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const BlockTQ2_0& block = blocks[b];
        const float d = fp16_to_fp32(block.d);
        for (int chunk = 0; chunk < 2; ++chunk)
            for (int shift = 0; shift < 8; shift += 2)
                for (int m = 0; m < 32; ++m)
                    *dst++ = float(((block.qs[32 * chunk + m] >> shift) & 3) - 1) * d;
    }
}

void quantize_row_tq2_0(const float* src, void* dst, int64_t n, const float* /*importance*/) {
    assert(n % kSuperBlock == 0);
    auto* blocks = static_cast<BlockTQ2_0*>(dst);
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        const float* x = src + b * kSuperBlock;
        BlockTQ2_0& block = blocks[b];
        const float d = block_absmax(x);
        const float id = d ? 1.0f / d : 0.0f;
        block.d = fp32_to_fp16(d);
        for (int chunk = 0; chunk < 2; ++chunk) {
            for (int m = 0; m < 32; ++m) {
                int byte = 0;
                for (int k = 0; k < 4; ++k) byte |= (trit(x[128 * chunk + m + 32 * k], id) & 3) << (2 * k);
                block.qs[32 * chunk + m] = uint8_t(byte);
            }
        }
    }
}

}  // namespace dilmodeli::quant
