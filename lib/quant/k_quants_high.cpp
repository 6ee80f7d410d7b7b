// Row conversions of the 4-, 5- and 6-bit K-quants (Q4_K, Q5_K, Q6_K). Q4_K/Q5_K use 8
// sub-blocks of 32 with a 6-bit scale and a 6-bit offset each; Q6_K uses 16 sub-blocks of 16
// with signed 8-bit scales.
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

constexpr int kSubBlocks32 = kSuperBlock / 32;

// --- Q4_K / Q5_K: shared scale/offset search ---------------------------------------------------

// Where the quantizers below put a Q4_K/Q5_K super-block's d, dmin and 12 packed scale bytes
// (the two block structs share this header but not a type). They also return the element levels
// (0..max_level), re-rounded against the scales as they will be decoded.
struct ScaleOffsetHeader {
    uint16_t* d;
    uint16_t* dmin;
    uint8_t* packed_scales;  // 12 bytes
};

void requantize_with_scales(const float* x, int max_level, const ScaleOffsetHeader& header, uint8_t* levels) {
    const float d = fp16_to_fp32(*header.d);
    const float dmin = fp16_to_fp32(*header.dmin);
    for (int s = 0; s < kSubBlocks32; ++s) {
        uint8_t scale_level, offset_level;
        unpack_scale_min_k4(s, header.packed_scales, &scale_level, &offset_level);
        const float scale = d * float(scale_level);
        if (!scale) continue;
        const float offset = dmin * float(offset_level);
        for (int i = 0; i < 32; ++i)
            levels[32 * s + i] = uint8_t(nearest_int_clamped((x[32 * s + i] + offset) / scale, 0, max_level));
    }
}

void quantize_scale_offset_reference(const float* x, int max_level, float rmin, float rdelta, int nstep,
                                     const ScaleOffsetHeader& header, uint8_t* levels) {
    float scales[kSubBlocks32], offsets[kSubBlocks32], weights[32];
    float max_scale = 0, max_offset = 0;
    for (int s = 0; s < kSubBlocks32; ++s) {
        const float* xs = x + 32 * s;
        // Weighting by (rms + |x|) favours the large elements without ignoring the small ones.
        float sum_x2 = 0;
        for (int i = 0; i < 32; ++i) sum_x2 += xs[i] * xs[i];
        const float rms = std::sqrt(sum_x2 / 32);
        for (int i = 0; i < 32; ++i) weights[i] = rms + std::fabs(xs[i]);
        scales[s] = fit_scale_and_offset(32, max_level, xs, weights, levels + 32 * s, &offsets[s], rmin, rdelta,
                                         nstep, false);
        if (scales[s] > max_scale) max_scale = scales[s];
        if (offsets[s] > max_offset) max_offset = offsets[s];
    }
    const float inverse_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inverse_offset = max_offset > 0 ? 63.f / max_offset : 0.f;
    uint8_t scale_levels[kSubBlocks32], offset_levels[kSubBlocks32];
    for (int s = 0; s < kSubBlocks32; ++s) {
        scale_levels[s] = uint8_t(nearest_int_clamped(inverse_scale * scales[s], 0, 63));
        offset_levels[s] = uint8_t(nearest_int_clamped(inverse_offset * offsets[s], 0, 63));
    }
    pack_scales_mins_k4(scale_levels, offset_levels, header.packed_scales);
    *header.d = fp32_to_fp16(max_scale / 63.f);
    *header.dmin = fp32_to_fp16(max_offset / 63.f);
    requantize_with_scales(x, max_level, header, levels);
}

void quantize_scale_offset_weighted(const float* x, const float* importance, int max_level,
                                    const ScaleOffsetHeader& header, uint8_t* levels) {
    float scales[kSubBlocks32], offsets[kSubBlocks32], weights[32], weight_sums[kSubBlocks32];
    float sum_x2 = 0;
    for (int i = 0; i < kSuperBlock; ++i) sum_x2 += x[i] * x[i];
    const float sigma2 = 2 * sum_x2 / float(kSuperBlock);
    for (int s = 0; s < kSubBlocks32; ++s) {
        const float* xs = x + 32 * s;
        float sum = 0;
        for (int i = 0; i < 32; ++i) {
            weights[i] = importance[32 * s + i] * std::sqrt(sigma2 + xs[i] * xs[i]);
            sum += weights[i];
        }
        weight_sums[s] = sum;
        scales[s] = fit_scale_and_offset(32, max_level, xs, weights, levels + 32 * s, &offsets[s], -0.9f, 0.05f,
                                         36, false);
    }
    uint8_t scale_levels[kSubBlocks32], offset_levels[kSubBlocks32];
    const float d = fit_nonnegative_scale(kSubBlocks32, 63, scales, scale_levels, weight_sums);
    const float dmin = fit_nonnegative_scale(kSubBlocks32, 63, offsets, offset_levels, weight_sums);
    pack_scales_mins_k4(scale_levels, offset_levels, header.packed_scales);
    *header.d = fp32_to_fp16(d);
    *header.dmin = fp32_to_fp16(dmin);
    requantize_with_scales(x, max_level, header, levels);
}

// Dequantizes one Q4_K/Q5_K super-block given a function returning the level of element e.
template <typename LevelOf>
void dequantize_scale_offset_block(uint16_t d16, uint16_t dmin16, const uint8_t* packed_scales,
                                   LevelOf level_of, float* dst) {
    const float d = fp16_to_fp32(d16);
    const float dmin = fp16_to_fp32(dmin16);
    for (int s = 0; s < kSubBlocks32; ++s) {
        uint8_t scale_level, offset_level;
        unpack_scale_min_k4(s, packed_scales, &scale_level, &offset_level);
        const float scale = d * float(scale_level);
        const float offset = dmin * float(offset_level);
        for (int i = 0; i < 32; ++i) dst[32 * s + i] = scale * float(level_of(32 * s + i)) - offset;
    }
}

// Element 64c + l is the low nibble of qs[32c + l], element 64c + 32 + l the high nibble.
int nibble_level(const uint8_t* qs, int e) {
    const int chunk = e / 64, within = e % 64;
    const uint8_t byte = qs[32 * chunk + within % 32];
    return within < 32 ? (byte & 0x0f) : (byte >> 4);
}

void pack_nibble_levels(const uint8_t* levels, uint8_t* qs) {
    for (int chunk = 0; chunk < kSuperBlock / 64; ++chunk)
        for (int l = 0; l < 32; ++l)
            qs[32 * chunk + l] = uint8_t((levels[64 * chunk + l] & 0x0f) | ((levels[64 * chunk + 32 + l] & 0x0f) << 4));
}

// The fifth bit of element 64c + l is bit 2c of qh[l]; of element 64c + 32 + l, bit 2c + 1.
int q5_k_level(const BlockQ5_K& block, int e) {
    const int chunk = e / 64, within = e % 64;
    const int bit = 2 * chunk + (within >= 32 ? 1 : 0);
    return nibble_level(block.qs, e) | (((block.qh[within % 32] >> bit) & 1) << 4);
}

void pack_q5_k_high_bits(const uint8_t* levels, uint8_t* qh) {
    std::memset(qh, 0, kSuperBlock / 8);
    for (int e = 0; e < kSuperBlock; ++e) {
        const int chunk = e / 64, within = e % 64;
        if (levels[e] > 15) qh[within % 32] |= uint8_t(1u << (2 * chunk + (within >= 32 ? 1 : 0)));
    }
}

// --- Q6_K --------------------------------------------------------------------------------------

int q6_k_level(const BlockQ6_K& block, int e) {
    const int half = e / 128, within = e % 128, l = within % 32, quarter = within / 32;
    const uint8_t low_byte = block.ql[64 * half + l + (quarter & 1) * 32];
    const int low = quarter < 2 ? (low_byte & 0x0f) : (low_byte >> 4);
    const int high = (block.qh[32 * half + l] >> (2 * quarter)) & 3;
    return low | (high << 4);
}

void pack_q6_k_levels(const uint8_t* levels, BlockQ6_K& block) {
    for (int half = 0; half < 2; ++half) {
        const uint8_t* q = levels + 128 * half;
        uint8_t* ql = block.ql + 64 * half;
        uint8_t* qh = block.qh + 32 * half;
        for (int l = 0; l < 32; ++l) {
            ql[l] = uint8_t((q[l] & 0x0f) | ((q[l + 64] & 0x0f) << 4));
            ql[l + 32] = uint8_t((q[l + 32] & 0x0f) | ((q[l + 96] & 0x0f) << 4));
            qh[l] = uint8_t((q[l] >> 4) | ((q[l + 32] >> 4) << 2) | ((q[l + 64] >> 4) << 4) | ((q[l + 96] >> 4) << 6));
        }
    }
}

// importance null: weights x^2 (the reference quantizer); otherwise the importance itself, as
// llama.cpp's weighted Q6_K does.
void quantize_q6_k_block(const float* x, const float* importance, BlockQ6_K& block) {
    int8_t signed_levels[kSuperBlock];
    float scales[16];
    float max_scale = 0, max_abs_scale = 0;
    for (int s = 0; s < 16; ++s) {
        scales[s] = fit_symmetric_scale(16, 32, x + 16 * s, signed_levels + 16 * s,
                                        importance ? importance + 16 * s : nullptr);
        if (std::fabs(scales[s]) > max_abs_scale) {
            max_abs_scale = std::fabs(scales[s]);
            max_scale = scales[s];
        }
    }
    if (max_abs_scale < kGroupMaxEps) {
        std::memset(&block, 0, sizeof block);
        return;
    }
    // The largest scale maps to -128, the extra level of an int8.
    const float inverse = -128.f / max_scale;
    block.d = fp32_to_fp16(1 / inverse);
    for (int s = 0; s < 16; ++s) block.scales[s] = int8_t(nearest_int_clamped(inverse * scales[s], -128, 127));

    uint8_t levels[kSuperBlock];
    for (int e = 0; e < kSuperBlock; ++e) levels[e] = uint8_t(signed_levels[e]);
    const float d_all = fp16_to_fp32(block.d);
    for (int s = 0; s < 16; ++s) {
        const float d = d_all * float(block.scales[s]);
        if (!d) continue;
        for (int i = 0; i < 16; ++i)
            levels[16 * s + i] = uint8_t(nearest_int_clamped(x[16 * s + i] / d, -32, 31) + 32);
    }
    pack_q6_k_levels(levels, block);
}

}  // namespace

void dequantize_row_q4_k(const void* src, float* dst, int64_t n) {
    assert(n % kSuperBlock == 0);
    const auto* blocks = static_cast<const BlockQ4_K*>(src);
    for (int64_t b = 0; b < n / kSuperBlock; ++b, dst += kSuperBlock) {
        const BlockQ4_K& block = blocks[b];
        dequantize_scale_offset_block(block.d, block.dmin, block.scales,
                                      [&](int e) { return nibble_level(block.qs, e); }, dst);
    }
}

void quantize_row_q4_k(const float* src, void* dst, int64_t n, const float* importance) {
    assert(n % kSuperBlock == 0);
    auto* blocks = static_cast<BlockQ4_K*>(dst);
    uint8_t levels[kSuperBlock];
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        BlockQ4_K& block = blocks[b];
        const ScaleOffsetHeader header{&block.d, &block.dmin, block.scales};
        const float* x = src + b * kSuperBlock;
        if (importance)
            quantize_scale_offset_weighted(x, importance + b * kSuperBlock, 15, header, levels);
        else
            quantize_scale_offset_reference(x, 15, -1.f, 0.1f, 20, header, levels);
        pack_nibble_levels(levels, block.qs);
    }
}

void dequantize_row_q5_k(const void* src, float* dst, int64_t n) {
    assert(n % kSuperBlock == 0);
    const auto* blocks = static_cast<const BlockQ5_K*>(src);
    for (int64_t b = 0; b < n / kSuperBlock; ++b, dst += kSuperBlock) {
        const BlockQ5_K& block = blocks[b];
        dequantize_scale_offset_block(block.d, block.dmin, block.scales,
                                      [&](int e) { return q5_k_level(block, e); }, dst);
    }
}

void quantize_row_q5_k(const float* src, void* dst, int64_t n, const float* importance) {
    assert(n % kSuperBlock == 0);
    auto* blocks = static_cast<BlockQ5_K*>(dst);
    uint8_t levels[kSuperBlock];
    for (int64_t b = 0; b < n / kSuperBlock; ++b) {
        BlockQ5_K& block = blocks[b];
        const ScaleOffsetHeader header{&block.d, &block.dmin, block.scales};
        const float* x = src + b * kSuperBlock;
        if (importance)
            quantize_scale_offset_weighted(x, importance + b * kSuperBlock, 31, header, levels);
        else
            quantize_scale_offset_reference(x, 31, -0.5f, 0.1f, 15, header, levels);
        pack_q5_k_high_bits(levels, block.qh);
        pack_nibble_levels(levels, block.qs);
    }
}

void dequantize_row_q6_k(const void* src, float* dst, int64_t n) {
    assert(n % kSuperBlock == 0);
    const auto* blocks = static_cast<const BlockQ6_K*>(src);
    for (int64_t b = 0; b < n / kSuperBlock; ++b, dst += kSuperBlock) {
        const BlockQ6_K& block = blocks[b];
        const float d = fp16_to_fp32(block.d);
        for (int e = 0; e < kSuperBlock; ++e)
            dst[e] = d * float(block.scales[e / 16]) * float(q6_k_level(block, e) - 32);
    }
}

void quantize_row_q6_k(const float* src, void* dst, int64_t n, const float* importance) {
    assert(n % kSuperBlock == 0);
    auto* blocks = static_cast<BlockQ6_K*>(dst);
    for (int64_t b = 0; b < n / kSuperBlock; ++b)
        quantize_q6_k_block(src + b * kSuperBlock, importance ? importance + b * kSuperBlock : nullptr, blocks[b]);
}

}  // namespace dilmodeli::quant
