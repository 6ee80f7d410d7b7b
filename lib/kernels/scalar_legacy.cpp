// Portable kernels for the float types and the 32-element block types: the reference for the
// SIMD files and the fallback on CPUs without them. Integer dot products per block, as ggml's
// vec_dot functions, against activations quantized once per call to Q8Block32.
#include <cmath>

#include "kernels/kernel_table.h"
#include "kernels/tu_local.h"
#include "quant/block_layouts.h"
#include "quant/quant_type.h"

namespace dilmodeli::kernels::detail {

size_t q8_block32_bytes(int64_t n) { return size_t(n / 32) * sizeof(Q8Block32); }

void quantize_q8_block32_scalar(const float* x, int64_t n, void* out) {
    auto* blocks = static_cast<Q8Block32*>(out);
    for (int64_t b = 0; b < n / 32; ++b, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int32_t sum = 0;
        for (int j = 0; j < 32; ++j) {
            const int q = int(std::nearbyint(x[j] * id));
            blocks[b].qs[j] = int8_t(q);
            sum += q;
        }
        blocks[b].d = d;
        blocks[b].sum = sum;
    }
}

namespace {

using quant::BlockIQ4_NL;
using quant::BlockQ4_0;
using quant::BlockQ4_1;
using quant::BlockQ5_0;
using quant::BlockQ5_1;
using quant::BlockQ8_0;

// ---- float weights ------------------------------------------------------------------------

template <typename Convert>
void gemm_float(const GemmArgs& g, Convert convert) {
    for (int64_t t = 0; t < g.nt; ++t) {
        const auto* x = reinterpret_cast<const float*>(g.act + size_t(t) * g.act_stride);
        for (int64_t r = 0; r < g.nr; ++r) {
            const uint8_t* w = g.w + size_t(r) * g.w_stride;
            // Eight partial sums (elements i % 8), added pairwise at the end.
            float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            int64_t i = 0;
            for (; i + 8 <= g.n; i += 8)
                for (int k = 0; k < 8; ++k) s[k] += convert(w, i + k) * x[i + k];
            for (; i < g.n; ++i) s[i % 8] += convert(w, i) * x[i];
            g.y[t * g.ldy + r] = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
        }
    }
}

void gemm_f32(const GemmArgs& g) {
    gemm_float(g, [](const uint8_t* w, int64_t i) {
        float v;
        std::memcpy(&v, w + 4 * i, 4);
        return v;
    });
}
void gemm_f16(const GemmArgs& g) {
    gemm_float(g, [](const uint8_t* w, int64_t i) { return half_to_float(load_u16(w + 2 * i)); });
}
void gemm_bf16(const GemmArgs& g) {
    gemm_float(g, [](const uint8_t* w, int64_t i) { return bf16_to_float(load_u16(w + 2 * i)); });
}

// ---- 32-element blocks --------------------------------------------------------------------

// Runs dot(block, activation block) -> float contribution over every (row, token).
template <typename Block, typename BlockDot>
void gemm_blocks(const GemmArgs& g, BlockDot block_dot) {
    const int64_t nb = g.n / 32;
    for (int64_t t = 0; t < g.nt; ++t) {
        const auto* a = reinterpret_cast<const Q8Block32*>(g.act + size_t(t) * g.act_stride);
        for (int64_t r = 0; r < g.nr; ++r) {
            const auto* w = reinterpret_cast<const Block*>(g.w + size_t(r) * g.w_stride);
            float sum = 0.0f;
            for (int64_t b = 0; b < nb; ++b) sum += block_dot(w[b], a[b]);
            g.y[t * g.ldy + r] = sum;
        }
    }
}

// Sum of (low nibble, high nibble) levels times the activations: elements j and j + 16.
template <typename LevelOf>
int32_t nibble_dot(const uint8_t* qs, const int8_t* a, LevelOf level) {
    int32_t s = 0;
    for (int j = 0; j < 16; ++j) s += level(qs[j] & 0x0f, j) * a[j] + level(qs[j] >> 4, j + 16) * a[j + 16];
    return s;
}

void gemm_q4_0(const GemmArgs& g) {
    gemm_blocks<BlockQ4_0>(g, [](const BlockQ4_0& w, const Q8Block32& a) {
        const int32_t s = nibble_dot(w.qs, a.qs, [](int q, int) { return q; }) - 8 * a.sum;
        return half_to_float(w.d) * a.d * float(s);
    });
}

void gemm_q4_1(const GemmArgs& g) {
    gemm_blocks<BlockQ4_1>(g, [](const BlockQ4_1& w, const Q8Block32& a) {
        const int32_t s = nibble_dot(w.qs, a.qs, [](int q, int) { return q; });
        return half_to_float(w.d) * a.d * float(s) + half_to_float(w.m) * a.d * float(a.sum);
    });
}

void gemm_q5_0(const GemmArgs& g) {
    gemm_blocks<BlockQ5_0>(g, [](const BlockQ5_0& w, const Q8Block32& a) {
        const uint32_t qh = load_u32(w.qh);
        const int32_t s = nibble_dot(w.qs, a.qs, [qh](int q, int e) { return q | int(((qh >> e) & 1u) << 4); }) -
                          16 * a.sum;
        return half_to_float(w.d) * a.d * float(s);
    });
}

void gemm_q5_1(const GemmArgs& g) {
    gemm_blocks<BlockQ5_1>(g, [](const BlockQ5_1& w, const Q8Block32& a) {
        const uint32_t qh = load_u32(w.qh);
        const int32_t s = nibble_dot(w.qs, a.qs, [qh](int q, int e) { return q | int(((qh >> e) & 1u) << 4); });
        return half_to_float(w.d) * a.d * float(s) + half_to_float(w.m) * a.d * float(a.sum);
    });
}

void gemm_q8_0(const GemmArgs& g) {
    gemm_blocks<BlockQ8_0>(g, [](const BlockQ8_0& w, const Q8Block32& a) {
        int32_t s = 0;
        for (int j = 0; j < 32; ++j) s += int32_t(w.qs[j]) * a.qs[j];
        return half_to_float(w.d) * a.d * float(s);
    });
}

void gemm_iq4_nl(const GemmArgs& g) {
    gemm_blocks<BlockIQ4_NL>(g, [](const BlockIQ4_NL& w, const Q8Block32& a) {
        const int32_t s = nibble_dot(w.qs, a.qs, [](int q, int) { return int(quant::kIq4nlValues[q]); });
        return half_to_float(w.d) * a.d * float(s);
    });
}

}  // namespace

void register_scalar_float(IsaTable& t) {
    t.types[int(quant::TypeId::F32)] = {nullptr, nullptr, gemm_f32};
    t.types[int(quant::TypeId::F16)] = {nullptr, nullptr, gemm_f16};
    t.types[int(quant::TypeId::BF16)] = {nullptr, nullptr, gemm_bf16};
}

void register_scalar_legacy(IsaTable& t) {
    auto set = [&t](quant::TypeId id, GemmFn fn) {
        t.types[int(id)] = {q8_block32_bytes, quantize_q8_block32_scalar, fn};
    };
    set(quant::TypeId::Q4_0, gemm_q4_0);
    set(quant::TypeId::Q4_1, gemm_q4_1);
    set(quant::TypeId::Q5_0, gemm_q5_0);
    set(quant::TypeId::Q5_1, gemm_q5_1);
    set(quant::TypeId::Q8_0, gemm_q8_0);
    set(quant::TypeId::IQ4_NL, gemm_iq4_nl);
}

}  // namespace dilmodeli::kernels::detail
