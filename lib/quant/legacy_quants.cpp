// Row conversions of the 32-element block types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and IQ4_NL.
//
// Without importance weights the quantizers are llama.cpp's reference ones, operation for
// operation: llama-quantize uses exactly those when it has no imatrix, so our files come out
// byte-identical to its files. With importance weights they follow llama.cpp's weighted variants
// (a weighted least-squares scale search).
#include <algorithm>
#include <cassert>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "quant/block_layouts.h"
#include "quant/half.h"
#include "quant/k_quant_common.h"
#include "quant/type_kernels.h"

namespace dilmodeli::quant {
namespace {

using detail::fit_scale_and_offset;
using detail::fit_symmetric_scale;

constexpr int kBlock = kLegacyBlock;
constexpr int kHalfBlock = kLegacyBlock / 2;

// The first element of largest magnitude, with its sign. The symmetric types map it to the
// extra negative level (-8 or -16) so that no code is wasted.
float signed_absmax(const float* x, int n) {
    float amax = 0, max = 0;
    for (int j = 0; j < n; ++j) {
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    return max;
}

// The weighted variants weight each element by its importance times sqrt(sigma^2 + x^2), with
// sigma^2 the mean square of the row: an element matters for its activations and its size.
float mean_square(const float* x, int64_t n) {
    float sum = 0;
    for (int64_t j = 0; j < n; ++j) sum += x[j] * x[j];
    return sum / float(n);
}

void importance_weights(const float* x, const float* importance, float sigma2, float* weights) {
    for (int j = 0; j < kBlock; ++j) weights[j] = importance[j] * std::sqrt(sigma2 + x[j] * x[j]);
}

void store_nibbles(const uint8_t* levels, uint8_t* qs) {
    for (int j = 0; j < kHalfBlock; ++j) qs[j] = uint8_t((levels[j] & 0x0f) | ((levels[j + kHalfBlock] & 0x0f) << 4));
}

// The fifth bits of 32 five-bit levels, as the little-endian u32 of Q5_0/Q5_1.
void store_fifth_bits(const uint8_t* levels, uint8_t* qh) {
    uint32_t bits = 0;
    for (int j = 0; j < kBlock; ++j) bits |= uint32_t((levels[j] >> 4) & 1u) << j;
    for (int b = 0; b < 4; ++b) qh[b] = uint8_t(bits >> (8 * b));
}

uint32_t load_fifth_bits(const uint8_t* qh) {
    return uint32_t(qh[0]) | uint32_t(qh[1]) << 8 | uint32_t(qh[2]) << 16 | uint32_t(qh[3]) << 24;
}

// --- Q4_0 / Q5_0: symmetric, d = max / -(2^(bits-1)) ------------------------------------------

template <int kLevels>  // 16 or 32
void quantize_symmetric_block_reference(const float* x, uint16_t* d_out, uint8_t* levels) {
    const float max = signed_absmax(x, kBlock);
    const float d = max / float(-kLevels / 2);
    const float id = d ? 1.0f / d : 0.0f;
    *d_out = fp32_to_fp16(d);
    // Truncation after adding (levels/2 + 0.5) rounds half up; the largest element lands on 0.
    for (int j = 0; j < kBlock; ++j)
        levels[j] = uint8_t(std::min(kLevels - 1, int(x[j] * id + (float(kLevels / 2) + 0.5f))));
}

template <int kLevels>
void quantize_symmetric_block_weighted(const float* x, const float* importance, float sigma2,
                                       uint16_t* d_out, uint8_t* levels) {
    float weights[kBlock];
    int8_t signed_levels[kBlock];
    importance_weights(x, importance, sigma2, weights);
    const float d = fit_symmetric_scale(kBlock, kLevels / 2, x, signed_levels, weights);
    *d_out = fp32_to_fp16(d);
    for (int j = 0; j < kBlock; ++j) levels[j] = uint8_t(signed_levels[j]);
}

// --- Q4_1 / Q5_1: asymmetric, x = q * d + m ----------------------------------------------------

template <int kLevels>
void quantize_min_max_block_reference(const float* x, uint16_t* d_out, uint16_t* m_out,
                                      uint8_t* levels) {
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < kBlock; ++j) {
        min = std::min(min, x[j]);
        max = std::max(max, x[j]);
    }
    const float d = (max - min) / float(kLevels - 1);
    const float id = d ? 1.0f / d : 0.0f;
    *d_out = fp32_to_fp16(d);
    *m_out = fp32_to_fp16(min);
    for (int j = 0; j < kBlock; ++j)
        levels[j] = uint8_t(std::min(kLevels - 1, int((x[j] - min) * id + 0.5f)));
}

template <int kLevels>
void quantize_min_max_block_weighted(const float* x, const float* importance, float sigma2,
                                     uint16_t* d_out, uint16_t* m_out, uint8_t* levels) {
    float weights[kBlock];
    importance_weights(x, importance, sigma2, weights);
    float offset = 0;
    const float d = fit_scale_and_offset(kBlock, kLevels - 1, x, weights, levels, &offset, -0.9f,
                                         0.05f, 36, false);
    *d_out = fp32_to_fp16(d);
    *m_out = fp32_to_fp16(-offset);
}

// --- IQ4_NL ------------------------------------------------------------------------------------

// Index of the table level nearest to v; a tie goes to the upper level (as in llama.cpp).
int nearest_iq4nl_index(float v) {
    if (v <= kIq4nlValues[0]) return 0;
    if (v >= kIq4nlValues[15]) return 15;
    int lo = 0, hi = 15;
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        if (v < kIq4nlValues[mid]) hi = mid; else lo = mid;
    }
    return v - kIq4nlValues[lo] < kIq4nlValues[hi] - v ? lo : hi;
}

// Tries 16 scales that put the largest element near each end of the table and keeps the one with
// the best weighted least-squares fit (llama.cpp's quantize_row_iq4_nl_impl for one block).
void quantize_iq4_nl_block(const float* x, const float* importance, BlockIQ4_NL* block) {
    float sigma2 = 0;
    for (int j = 0; j < kBlock; ++j) sigma2 += x[j] * x[j];
    sigma2 *= 2.f / float(kBlock);

    float weights[kBlock];
    for (int j = 0; j < kBlock; ++j)
        weights[j] = importance ? importance[j] * std::sqrt(sigma2 + x[j] * x[j]) : x[j] * x[j];

    float amax = 0, max = 0;
    for (int j = 0; j < kBlock; ++j) {
        if (std::fabs(x[j]) > amax) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    std::memset(block->qs, 0, sizeof block->qs);
    block->d = fp32_to_fp16(0.f);
    if (amax < detail::kGroupMaxEps) return;

    auto fit = [&](float inverse_scale, float& sum_qx, float& sum_q2) {
        sum_qx = sum_q2 = 0;
        for (int j = 0; j < kBlock; ++j) {
            const float q = kIq4nlValues[nearest_iq4nl_index(inverse_scale * x[j])];
            sum_qx += weights[j] * q * x[j];
            sum_q2 += weights[j] * q * q;
        }
    };
    float sum_qx, sum_q2;
    fit(1 / (-max / float(kIq4nlValues[0])), sum_qx, sum_q2);
    float d = sum_q2 > 0 ? sum_qx / sum_q2 : 0.f;
    float best = d * sum_qx;
    for (int attempt = -7; attempt <= 7; ++attempt) {
        fit((float(attempt) + float(kIq4nlValues[0])) / max, sum_qx, sum_q2);
        if (sum_q2 > 0 && sum_qx * sum_qx > best * sum_q2) {
            d = sum_qx / sum_q2;
            best = d * sum_qx;
        }
    }
    block->d = fp32_to_fp16(d);
    const float id = d ? 1 / d : 0;
    uint8_t levels[kBlock];
    for (int j = 0; j < kBlock; ++j) levels[j] = uint8_t(nearest_iq4nl_index(id * x[j]));
    store_nibbles(levels, block->qs);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

void dequantize_row_q4_0(const void* src, float* dst, int64_t n) {
    assert(n % kBlock == 0);
    const auto* blocks = static_cast<const BlockQ4_0*>(src);
    for (int64_t b = 0; b < n / kBlock; ++b, dst += kBlock) {
        const float d = fp16_to_fp32(blocks[b].d);
        for (int j = 0; j < kHalfBlock; ++j) {
            dst[j] = float((blocks[b].qs[j] & 0x0f) - 8) * d;
            dst[j + kHalfBlock] = float((blocks[b].qs[j] >> 4) - 8) * d;
        }
    }
}

void quantize_row_q4_0(const float* src, void* dst, int64_t n, const float* importance) {
    assert(n % kBlock == 0);
    auto* blocks = static_cast<BlockQ4_0*>(dst);
    const float sigma2 = importance ? mean_square(src, n) : 0.f;
    uint8_t levels[kBlock];
    for (int64_t b = 0; b < n / kBlock; ++b) {
        const float* x = src + b * kBlock;
        if (importance)
            quantize_symmetric_block_weighted<16>(x, importance + b * kBlock, sigma2, &blocks[b].d, levels);
        else
            quantize_symmetric_block_reference<16>(x, &blocks[b].d, levels);
        store_nibbles(levels, blocks[b].qs);
    }
}

void dequantize_row_q4_1(const void* src, float* dst, int64_t n) {
    assert(n % kBlock == 0);
    const auto* blocks = static_cast<const BlockQ4_1*>(src);
    for (int64_t b = 0; b < n / kBlock; ++b, dst += kBlock) {
        const float d = fp16_to_fp32(blocks[b].d);
        const float m = fp16_to_fp32(blocks[b].m);
        for (int j = 0; j < kHalfBlock; ++j) {
            dst[j] = float(blocks[b].qs[j] & 0x0f) * d + m;
            dst[j + kHalfBlock] = float(blocks[b].qs[j] >> 4) * d + m;
        }
    }
}

void quantize_row_q4_1(const float* src, void* dst, int64_t n, const float* importance) {
    assert(n % kBlock == 0);
    auto* blocks = static_cast<BlockQ4_1*>(dst);
    const float sigma2 = importance ? mean_square(src, n) : 0.f;
    uint8_t levels[kBlock];
    for (int64_t b = 0; b < n / kBlock; ++b) {
        const float* x = src + b * kBlock;
        if (importance)
            quantize_min_max_block_weighted<16>(x, importance + b * kBlock, sigma2, &blocks[b].d,
                                                &blocks[b].m, levels);
        else
            quantize_min_max_block_reference<16>(x, &blocks[b].d, &blocks[b].m, levels);
        store_nibbles(levels, blocks[b].qs);
    }
}

void dequantize_row_q5_0(const void* src, float* dst, int64_t n) {
    assert(n % kBlock == 0);
    const auto* blocks = static_cast<const BlockQ5_0*>(src);
    for (int64_t b = 0; b < n / kBlock; ++b, dst += kBlock) {
        const float d = fp16_to_fp32(blocks[b].d);
        const uint32_t high = load_fifth_bits(blocks[b].qh);
        for (int j = 0; j < kHalfBlock; ++j) {
            const int q0 = (blocks[b].qs[j] & 0x0f) | int(((high >> j) & 1u) << 4);
            const int q1 = (blocks[b].qs[j] >> 4) | int(((high >> (j + kHalfBlock)) & 1u) << 4);
            dst[j] = float(q0 - 16) * d;
            dst[j + kHalfBlock] = float(q1 - 16) * d;
        }
    }
}

void quantize_row_q5_0(const float* src, void* dst, int64_t n, const float* importance) {
    assert(n % kBlock == 0);
    auto* blocks = static_cast<BlockQ5_0*>(dst);
    const float sigma2 = importance ? mean_square(src, n) : 0.f;
    uint8_t levels[kBlock];
    for (int64_t b = 0; b < n / kBlock; ++b) {
        const float* x = src + b * kBlock;
        if (importance)
            quantize_symmetric_block_weighted<32>(x, importance + b * kBlock, sigma2, &blocks[b].d, levels);
        else
            quantize_symmetric_block_reference<32>(x, &blocks[b].d, levels);
        store_nibbles(levels, blocks[b].qs);
        store_fifth_bits(levels, blocks[b].qh);
    }
}

void dequantize_row_q5_1(const void* src, float* dst, int64_t n) {
    assert(n % kBlock == 0);
    const auto* blocks = static_cast<const BlockQ5_1*>(src);
    for (int64_t b = 0; b < n / kBlock; ++b, dst += kBlock) {
        const float d = fp16_to_fp32(blocks[b].d);
        const float m = fp16_to_fp32(blocks[b].m);
        const uint32_t high = load_fifth_bits(blocks[b].qh);
        for (int j = 0; j < kHalfBlock; ++j) {
            const int q0 = (blocks[b].qs[j] & 0x0f) | int(((high >> j) & 1u) << 4);
            const int q1 = (blocks[b].qs[j] >> 4) | int(((high >> (j + kHalfBlock)) & 1u) << 4);
            dst[j] = float(q0) * d + m;
            dst[j + kHalfBlock] = float(q1) * d + m;
        }
    }
}

void quantize_row_q5_1(const float* src, void* dst, int64_t n, const float* importance) {
    assert(n % kBlock == 0);
    auto* blocks = static_cast<BlockQ5_1*>(dst);
    const float sigma2 = importance ? mean_square(src, n) : 0.f;
    uint8_t levels[kBlock];
    for (int64_t b = 0; b < n / kBlock; ++b) {
        const float* x = src + b * kBlock;
        if (importance)
            quantize_min_max_block_weighted<32>(x, importance + b * kBlock, sigma2, &blocks[b].d,
                                                &blocks[b].m, levels);
        else
            quantize_min_max_block_reference<32>(x, &blocks[b].d, &blocks[b].m, levels);
        store_nibbles(levels, blocks[b].qs);
        store_fifth_bits(levels, blocks[b].qh);
    }
}

void dequantize_row_q8_0(const void* src, float* dst, int64_t n) {
    assert(n % kBlock == 0);
    const auto* blocks = static_cast<const BlockQ8_0*>(src);
    for (int64_t b = 0; b < n / kBlock; ++b, dst += kBlock) {
        const float d = fp16_to_fp32(blocks[b].d);
        for (int j = 0; j < kBlock; ++j) dst[j] = float(blocks[b].qs[j]) * d;
    }
}

// Q8_0 has enough levels that a weighted scale search gains nothing measurable; like llama.cpp
// it ignores the importance weights, so its output is always the reference one.
void quantize_row_q8_0(const float* src, void* dst, int64_t n, const float* /*importance*/) {
    assert(n % kBlock == 0);
    auto* blocks = static_cast<BlockQ8_0*>(dst);
    for (int64_t b = 0; b < n / kBlock; ++b) {
        const float* x = src + b * kBlock;
        float amax = 0;
        for (int j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d ? 1.0f / d : 0.0f;
        blocks[b].d = fp32_to_fp16(d);
        for (int j = 0; j < kBlock; ++j) blocks[b].qs[j] = int8_t(std::round(x[j] * id));
    }
}

void dequantize_row_iq4_nl(const void* src, float* dst, int64_t n) {
    assert(n % kBlock == 0);
    const auto* blocks = static_cast<const BlockIQ4_NL*>(src);
    for (int64_t b = 0; b < n / kBlock; ++b, dst += kBlock) {
        const float d = fp16_to_fp32(blocks[b].d);
        for (int j = 0; j < kHalfBlock; ++j) {
            dst[j] = d * float(kIq4nlValues[blocks[b].qs[j] & 0x0f]);
            dst[j + kHalfBlock] = d * float(kIq4nlValues[blocks[b].qs[j] >> 4]);
        }
    }
}

void quantize_row_iq4_nl(const float* src, void* dst, int64_t n, const float* importance) {
    assert(n % kBlock == 0);
    auto* blocks = static_cast<BlockIQ4_NL*>(dst);
    for (int64_t b = 0; b < n / kBlock; ++b)
        quantize_iq4_nl_block(src + b * kBlock, importance ? importance + b * kBlock : nullptr, &blocks[b]);
}

}  // namespace dilmodeli::quant
