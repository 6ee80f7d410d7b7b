// Portable kernels for the 256-element super-block types (K-quants and TQ2_0) against
// activations quantized once per call to Q8BlockK. Each super-block is decoded to its integer
// levels and dotted in integers; scales are applied per sub-block in integers where ggml does.
#include <cmath>

#include "kernels/kernel_table.h"
#include "kernels/tu_local.h"
#include "quant/block_layouts.h"
#include "quant/quant_type.h"

namespace dilmodeli::kernels::detail {

size_t q8_block_k_bytes(int64_t n) { return size_t(n / 256) * sizeof(Q8BlockK); }

void quantize_q8_block_k_scalar(const float* x, int64_t n, void* out) {
    auto* blocks = static_cast<Q8BlockK*>(out);
    for (int64_t b = 0; b < n / 256; ++b, x += 256) {
        float amax = 0.0f;
        for (int j = 0; j < 256; ++j) amax = std::fmax(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int s = 0; s < 16; ++s) {
            int sum = 0;
            for (int j = 16 * s; j < 16 * s + 16; ++j) {
                const int q = int(std::nearbyint(x[j] * id));
                blocks[b].qs[j] = int8_t(q);
                sum += q;
            }
            blocks[b].bsums[s] = int16_t(sum);
        }
        blocks[b].d = d;
    }
}

namespace {

using quant::BlockQ2_K;
using quant::BlockQ3_K;
using quant::BlockQ4_K;
using quant::BlockQ5_K;
using quant::BlockQ6_K;
using quant::BlockTQ2_0;

// Runs block_dot(weight block, activation block) -> float over every (row, token).
template <typename Block, typename BlockDot>
void gemm_super(const GemmArgs& g, BlockDot block_dot) {
    const int64_t nb = g.n / 256;
    for (int64_t t = 0; t < g.nt; ++t) {
        const auto* a = reinterpret_cast<const Q8BlockK*>(g.act + size_t(t) * g.act_stride);
        for (int64_t r = 0; r < g.nr; ++r) {
            const auto* w = reinterpret_cast<const Block*>(g.w + size_t(r) * g.w_stride);
            float sum = 0.0f;
            for (int64_t b = 0; b < nb; ++b) sum += block_dot(w[b], a[b]);
            g.y[t * g.ldy + r] = sum;
        }
    }
}

// Sum over sub-blocks of `size` elements of scale[s] * (levels . activations).
int32_t scaled_dot(const int8_t* levels, const int8_t* a, const int* scales, int size) {
    int32_t total = 0;
    for (int s = 0; s < 256 / size; ++s) {
        int32_t sub = 0;
        for (int j = s * size; j < (s + 1) * size; ++j) sub += int32_t(levels[j]) * a[j];
        total += scales[s] * sub;
    }
    return total;
}

// Q2_K/Q3_K/TQ2_0 two-bit levels: element 128h + 32j + l is bits 2j of qs[32h + l].
void two_bit_levels(const uint8_t* qs, int8_t* levels) {
    for (int h = 0; h < 2; ++h)
        for (int j = 0; j < 4; ++j)
            for (int l = 0; l < 32; ++l) levels[128 * h + 32 * j + l] = int8_t((qs[32 * h + l] >> (2 * j)) & 3);
}

float dot_q2_k(const BlockQ2_K& w, const Q8BlockK& a) {
    int8_t levels[256];
    int scales[16];
    int32_t mins = 0;
    two_bit_levels(w.qs, levels);
    for (int s = 0; s < 16; ++s) {
        scales[s] = w.scales[s] & 0x0f;
        mins += int32_t(w.scales[s] >> 4) * a.bsums[s];
    }
    const int32_t sum = scaled_dot(levels, a.qs, scales, 16);
    return half_to_float(w.d) * a.d * float(sum) - half_to_float(w.dmin) * a.d * float(mins);
}

float dot_q3_k(const BlockQ3_K& w, const Q8BlockK& a) {
    int8_t levels[256];
    int scales[16];
    two_bit_levels(w.qs, levels);
    for (int k = 0; k < 8; ++k)  // element 32k + l has its high bit at bit k of hmask[l]
        for (int l = 0; l < 32; ++l) levels[32 * k + l] = int8_t(levels[32 * k + l] - (((w.hmask[l] >> k) & 1) ? 0 : 4));
    for (int s = 0; s < 16; ++s) {
        const int low = s < 8 ? w.scales[s] & 0x0f : w.scales[s - 8] >> 4;
        const int high = (w.scales[8 + s % 4] >> (2 * (s / 4))) & 3;
        scales[s] = (low | (high << 4)) - 32;
    }
    return half_to_float(w.d) * a.d * float(scaled_dot(levels, a.qs, scales, 16));
}

// Q4_K/Q5_K's 6-bit scales and mins (see unpack_scale_min_k4 in quant/k_quant_common.h).
void unpack_k4_scales(const uint8_t* packed, int* scales, int* mins) {
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            scales[j] = packed[j] & 63;
            mins[j] = packed[j + 4] & 63;
        } else {
            scales[j] = (packed[j + 4] & 0x0f) | ((packed[j - 4] >> 6) << 4);
            mins[j] = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
        }
    }
}

// Shared by Q4_K and Q5_K once the levels (0..31) are decoded.
float dot_scale_min(uint16_t d, uint16_t dmin, const uint8_t* packed, const int8_t* levels, const Q8BlockK& a) {
    int scales[8], mins[8];
    unpack_k4_scales(packed, scales, mins);
    int32_t min_sum = 0;
    for (int s = 0; s < 8; ++s) min_sum += mins[s] * (int32_t(a.bsums[2 * s]) + a.bsums[2 * s + 1]);
    const int32_t sum = scaled_dot(levels, a.qs, scales, 32);
    return half_to_float(d) * a.d * float(sum) - half_to_float(dmin) * a.d * float(min_sum);
}

float dot_q4_k(const BlockQ4_K& w, const Q8BlockK& a) {
    int8_t levels[256];
    for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l) {
            levels[64 * c + l] = int8_t(w.qs[32 * c + l] & 0x0f);
            levels[64 * c + 32 + l] = int8_t(w.qs[32 * c + l] >> 4);
        }
    return dot_scale_min(w.d, w.dmin, w.scales, levels, a);
}

float dot_q5_k(const BlockQ5_K& w, const Q8BlockK& a) {
    int8_t levels[256];
    for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l) {
            levels[64 * c + l] = int8_t((w.qs[32 * c + l] & 0x0f) | (((w.qh[l] >> (2 * c)) & 1) << 4));
            levels[64 * c + 32 + l] = int8_t((w.qs[32 * c + l] >> 4) | (((w.qh[l] >> (2 * c + 1)) & 1) << 4));
        }
    return dot_scale_min(w.d, w.dmin, w.scales, levels, a);
}

float dot_q6_k(const BlockQ6_K& w, const Q8BlockK& a) {
    int8_t levels[256];
    for (int h = 0; h < 2; ++h)
        for (int l = 0; l < 32; ++l) {
            const uint8_t* ql = w.ql + 64 * h;
            const uint8_t qh = w.qh[32 * h + l];
            int8_t* out = levels + 128 * h;
            out[l] = int8_t(((ql[l] & 0x0f) | ((qh & 3) << 4)) - 32);
            out[l + 32] = int8_t(((ql[l + 32] & 0x0f) | (((qh >> 2) & 3) << 4)) - 32);
            out[l + 64] = int8_t(((ql[l] >> 4) | (((qh >> 4) & 3) << 4)) - 32);
            out[l + 96] = int8_t(((ql[l + 32] >> 4) | (((qh >> 6) & 3) << 4)) - 32);
        }
    int scales[16];
    for (int s = 0; s < 16; ++s) scales[s] = w.scales[s];
    return half_to_float(w.d) * a.d * float(scaled_dot(levels, a.qs, scales, 16));
}

float dot_tq2_0(const BlockTQ2_0& w, const Q8BlockK& a) {
    int32_t sum = 0;
    for (int c = 0; c < 2; ++c)
        for (int n = 0; n < 4; ++n)
            for (int m = 0; m < 32; ++m)
                sum += (((w.qs[32 * c + m] >> (2 * n)) & 3) - 1) * int32_t(a.qs[128 * c + 32 * n + m]);
    return half_to_float(w.d) * a.d * float(sum);
}

template <typename Block, float (*Dot)(const Block&, const Q8BlockK&)>
void gemm(const GemmArgs& g) {
    gemm_super<Block>(g, Dot);
}

}  // namespace

void register_scalar_kquants(IsaTable& t) {
    auto set = [&t](quant::TypeId id, GemmFn fn) { t.types[int(id)] = {q8_block_k_bytes, quantize_q8_block_k_scalar, fn}; };
    set(quant::TypeId::Q2_K, gemm<BlockQ2_K, dot_q2_k>);
    set(quant::TypeId::Q3_K, gemm<BlockQ3_K, dot_q3_k>);
    set(quant::TypeId::Q4_K, gemm<BlockQ4_K, dot_q4_k>);
    set(quant::TypeId::Q5_K, gemm<BlockQ5_K, dot_q5_k>);
    set(quant::TypeId::Q6_K, gemm<BlockQ6_K, dot_q6_k>);
    set(quant::TypeId::TQ2_0, gemm<BlockTQ2_0, dot_tq2_0>);
}

}  // namespace dilmodeli::kernels::detail
