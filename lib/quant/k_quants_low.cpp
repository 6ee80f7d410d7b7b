// Row conversions of the 2- and 3-bit K-quants (Q2_K, Q3_K): super-blocks of 256 made of 16
// sub-blocks of 16, whose scales are themselves quantized against one f16 super-scale.
//
// Without importance weights these are llama.cpp's reference quantizers (what llama-quantize
// runs without an imatrix); with them, its weighted variants.
#include <cassert>
#include <cmath>
#include <cstring>

#include "quant/block_layouts.h"
#include "quant/half.h"
#include "quant/k_quant_common.h"
#include "quant/type_kernels.h"

namespace dilmodeli::quant {
namespace {

using namespace detail;

constexpr int kSubBlock = 16;
constexpr int kSubBlocks = kSuperBlock / kSubBlock;

// 2-bit levels (or the low two bits of 3-bit ones) go four to a byte: element 128h + 32k + l at
// bits 2k of qs[32h + l].
void pack_two_bit_levels(const uint8_t* levels, uint8_t* qs) {
    for (int half = 0; half < kSuperBlock; half += 128)
        for (int l = 0; l < 32; ++l)
            qs[half / 4 + l] = uint8_t(levels[half + l] | (levels[half + l + 32] << 2) |
                                       (levels[half + l + 64] << 4) | (levels[half + l + 96] << 6));
}

int two_bit_level(const uint8_t* qs, int e) {
    const int within = e % 128;
    return (qs[32 * (e / 128) + within % 32] >> (2 * (within / 32))) & 3;
}

// --- Q2_K --------------------------------------------------------------------------------------

// After the scales are rounded to 4 bits, each element is re-rounded against the scale and
// offset it will really be decoded with.
void requantize_q2_k(const float* x, const BlockQ2_K& block, uint8_t* levels) {
    const float d = fp16_to_fp32(block.d);
    const float dmin = fp16_to_fp32(block.dmin);
    for (int s = 0; s < kSubBlocks; ++s) {
        const float scale = d * float(block.scales[s] & 0x0f);
        if (!scale) continue;  // keep the levels of the search; they decode to the offset anyway
        const float offset = dmin * float(block.scales[s] >> 4);
        for (int i = 0; i < kSubBlock; ++i)
            levels[kSubBlock * s + i] = uint8_t(nearest_int_clamped((x[kSubBlock * s + i] + offset) / scale, 0, 3));
    }
}

void quantize_q2_k_block_reference(const float* x, BlockQ2_K& block) {
    uint8_t levels[kSuperBlock];
    float scales[kSubBlocks], offsets[kSubBlocks], weights[kSubBlock];
    float max_scale = 0, max_offset = 0;  // both are non-negative by construction
    for (int s = 0; s < kSubBlocks; ++s) {
        for (int i = 0; i < kSubBlock; ++i) weights[i] = std::fabs(x[kSubBlock * s + i]);
        scales[s] = fit_scale_and_offset(kSubBlock, 3, x + kSubBlock * s, weights, levels + kSubBlock * s,
                                         &offsets[s], -0.5f, 0.1f, 15, true);
        if (scales[s] > max_scale) max_scale = scales[s];
        if (offsets[s] > max_offset) max_offset = offsets[s];
    }
    if (max_scale > 0) {
        const float inverse = 15.f / max_scale;
        for (int s = 0; s < kSubBlocks; ++s)
            block.scales[s] = uint8_t(nearest_int_clamped(inverse * scales[s], 0, 15));
        block.d = fp32_to_fp16(max_scale / 15.f);
    } else {
        std::memset(block.scales, 0, sizeof block.scales);
        block.d = fp32_to_fp16(0.f);
    }
    if (max_offset > 0) {
        const float inverse = 15.f / max_offset;
        for (int s = 0; s < kSubBlocks; ++s)
            block.scales[s] |= uint8_t(nearest_int_clamped(inverse * offsets[s], 0, 15) << 4);
        block.dmin = fp32_to_fp16(max_offset / 15.f);
    } else {
        block.dmin = fp32_to_fp16(0.f);
    }
    requantize_q2_k(x, block, levels);
    pack_two_bit_levels(levels, block.qs);
}

void quantize_q2_k_block_weighted(const float* x, const float* importance, BlockQ2_K& block) {
    uint8_t levels[kSuperBlock], scale_levels[kSubBlocks], offset_levels[kSubBlocks];
    float scales[kSubBlocks], offsets[kSubBlocks], weights[kSubBlock], weight_sums[kSubBlocks];
    float sum_x2 = 0;
    for (int i = 0; i < kSuperBlock; ++i) sum_x2 += x[i] * x[i];
    const float sigma2 = sum_x2 / float(kSuperBlock);
    for (int s = 0; s < kSubBlocks; ++s) {
        const float* xs = x + kSubBlock * s;
        weight_sums[s] = 0;
        for (int i = 0; i < kSubBlock; ++i) {
            weights[i] = importance[kSubBlock * s + i] * std::sqrt(sigma2 + xs[i] * xs[i]);
            weight_sums[s] += weights[i];
        }
        scales[s] = fit_scale_and_offset(kSubBlock, 3, xs, weights, levels + kSubBlock * s, &offsets[s],
                                         -0.9f, 0.05f, 36, false);
    }
    // The 4-bit scales and offsets are fitted too, weighted by how much their sub-block matters.
    const float d = fit_nonnegative_scale(kSubBlocks, 15, scales, scale_levels, weight_sums);
    const float dmin = fit_nonnegative_scale(kSubBlocks, 15, offsets, offset_levels, weight_sums);
    block.d = fp32_to_fp16(d);
    block.dmin = fp32_to_fp16(dmin);
    for (int s = 0; s < kSubBlocks; ++s) block.scales[s] = uint8_t(scale_levels[s] | (offset_levels[s] << 4));
    requantize_q2_k(x, block, levels);
    pack_two_bit_levels(levels, block.qs);
}

// --- Q3_K --------------------------------------------------------------------------------------

void pack_q3_k_scales(const int* stored /* 0..63 */, uint8_t* packed) {
    std::memset(packed, 0, 12);
    for (int s = 0; s < kSubBlocks; ++s) {
        const int low = stored[s] & 0x0f;
        if (s < 8) packed[s] = uint8_t(low);
        else packed[s - 8] |= uint8_t(low << 4);
        packed[8 + s % 4] |= uint8_t((stored[s] >> 4) << (2 * (s / 4)));
    }
}

void unpack_q3_k_scales(const uint8_t* packed, int* scales /* -32..31 */) {
    for (int s = 0; s < kSubBlocks; ++s) {
        const int low = s < 8 ? packed[s] & 0x0f : packed[s - 8] >> 4;
        const int high = (packed[8 + s % 4] >> (2 * (s / 4))) & 3;
        scales[s] = (low | (high << 4)) - 32;
    }
}

// Re-rounds every element against its decoded scale, then splits the 3-bit levels into the two
// low bits (qs) and the high bit (hmask: element e is bit e / 32 of hmask[e % 32]).
void requantize_and_pack_q3_k(const float* x, uint8_t* levels /* 0..7 */, BlockQ3_K& block) {
    int scales[kSubBlocks];
    unpack_q3_k_scales(block.scales, scales);
    const float d_all = fp16_to_fp32(block.d);
    for (int s = 0; s < kSubBlocks; ++s) {
        const float d = d_all * float(scales[s]);
        if (!d) continue;
        for (int i = 0; i < kSubBlock; ++i)
            levels[kSubBlock * s + i] = uint8_t(nearest_int_clamped(x[kSubBlock * s + i] / d, -4, 3) + 4);
    }
    std::memset(block.hmask, 0, sizeof block.hmask);
    for (int e = 0; e < kSuperBlock; ++e) {
        if (levels[e] > 3) {
            block.hmask[e % 32] |= uint8_t(1u << (e / 32));
            levels[e] = uint8_t(levels[e] - 4);
        }
    }
    pack_two_bit_levels(levels, block.qs);
}

void quantize_q3_k_block_reference(const float* x, BlockQ3_K& block) {
    int8_t signed_levels[kSuperBlock];
    float scales[kSubBlocks];
    float max_scale = 0, amax = 0;
    for (int s = 0; s < kSubBlocks; ++s) {
        scales[s] = fit_symmetric_scale_by_moves(kSubBlock, 4, x + kSubBlock * s, signed_levels + kSubBlock * s);
        if (std::fabs(scales[s]) > amax) {
            amax = std::fabs(scales[s]);
            max_scale = scales[s];
        }
    }
    int stored[kSubBlocks] = {};
    if (max_scale) {
        // The largest scale maps to -32, the extra level of a signed 6-bit number.
        const float inverse = -32.f / max_scale;
        for (int s = 0; s < kSubBlocks; ++s) stored[s] = nearest_int_clamped(inverse * scales[s], -32, 31) + 32;
        pack_q3_k_scales(stored, block.scales);
        block.d = fp32_to_fp16(1 / inverse);
    } else {
        std::memset(block.scales, 0, sizeof block.scales);
        block.d = fp32_to_fp16(0.f);
    }
    uint8_t levels[kSuperBlock];
    for (int e = 0; e < kSuperBlock; ++e) levels[e] = uint8_t(signed_levels[e]);
    requantize_and_pack_q3_k(x, levels, block);
}

void quantize_q3_k_block_weighted(const float* x, const float* importance, BlockQ3_K& block) {
    int8_t signed_levels[kSuperBlock], scale_levels[kSubBlocks];
    float scales[kSubBlocks], weights[kSubBlock], weight_sums[kSubBlocks];
    float sum_x2 = 0;
    for (int i = 0; i < kSuperBlock; ++i) sum_x2 += x[i] * x[i];
    const float sigma2 = 2 * sum_x2 / float(kSuperBlock);
    for (int s = 0; s < kSubBlocks; ++s) {
        const float* xs = x + kSubBlock * s;
        float sum = 0;
        for (int i = 0; i < kSubBlock; ++i) {
            weights[i] = importance[kSubBlock * s + i] * std::sqrt(sigma2 + xs[i] * xs[i]);
            sum += weights[i];
        }
        weight_sums[s] = sum;
        scales[s] = fit_symmetric_scale(kSubBlock, 4, xs, signed_levels + kSubBlock * s, weights);
    }
    const float d = fit_symmetric_scale(kSubBlocks, 32, scales, scale_levels, weight_sums);
    int stored[kSubBlocks];
    for (int s = 0; s < kSubBlocks; ++s) stored[s] = scale_levels[s];
    pack_q3_k_scales(stored, block.scales);
    block.d = fp32_to_fp16(d);
    uint8_t levels[kSuperBlock];
    for (int e = 0; e < kSuperBlock; ++e) levels[e] = uint8_t(signed_levels[e]);
    requantize_and_pack_q3_k(x, levels, block);
}

}  // namespace

void dequantize_row_q2_k(const void* src, float* dst, int64_t n) {
    assert(n % kSuperBlock == 0);
    const auto* blocks = static_cast<const BlockQ2_K*>(src);
    for (int64_t b = 0; b < n / kSuperBlock; ++b, dst += kSuperBlock) {
        const BlockQ2_K& block = blocks[b];
        const float d = fp16_to_fp32(block.d);
        const float dmin = fp16_to_fp32(block.dmin);
        for (int s = 0; s < kSubBlocks; ++s) {
            const float scale = d * float(block.scales[s] & 0x0f);
            const float offset = dmin * float(block.scales[s] >> 4);
            for (int i = 0; i < kSubBlock; ++i) {
                const int e = kSubBlock * s + i;
                dst[e] = scale * float(two_bit_level(block.qs, e)) - offset;
            }
        }
    }
}

void quantize_row_q2_k(const float* src, void* dst, int64_t n, const float* importance) {
    assert(n % kSuperBlock == 0);
    auto* blocks = static_cast<BlockQ2_K*>(dst);
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        if (importance)
            quantize_q2_k_block_weighted(src + b * kSuperBlock, importance + b * kSuperBlock, blocks[b]);
        else
            quantize_q2_k_block_reference(src + b * kSuperBlock, blocks[b]);
    }
}

void dequantize_row_q3_k(const void* src, float* dst, int64_t n) {
    assert(n % kSuperBlock == 0);
    const auto* blocks = static_cast<const BlockQ3_K*>(src);
    for (int64_t b = 0; b < n / kSuperBlock; ++b, dst += kSuperBlock) {
        const BlockQ3_K& block = blocks[b];
        const float d_all = fp16_to_fp32(block.d);
        int scales[kSubBlocks];
        unpack_q3_k_scales(block.scales, scales);
        for (int s = 0; s < kSubBlocks; ++s) {
            const float d = d_all * float(scales[s]);
            for (int i = 0; i < kSubBlock; ++i) {
                const int e = kSubBlock * s + i;
                const bool high = (block.hmask[e % 32] >> (e / 32)) & 1;
                dst[e] = d * float(two_bit_level(block.qs, e) - (high ? 0 : 4));
            }
        }
    }
}

void quantize_row_q3_k(const float* src, void* dst, int64_t n, const float* importance) {
    assert(n % kSuperBlock == 0);
    auto* blocks = static_cast<BlockQ3_K*>(dst);
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        if (importance)
            quantize_q3_k_block_weighted(src + b * kSuperBlock, importance + b * kSuperBlock, blocks[b]);
        else
            quantize_q3_k_block_reference(src + b * kSuperBlock, blocks[b]);
    }
}

}  // namespace dilmodeli::quant
