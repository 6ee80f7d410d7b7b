// AArch64 Advanced SIMD (NEON, part of the baseline ISA) kernels for F32, F16, Q8_0 and Q4_0;
// the other types use the scalar kernels. Integer products use vmull_s8 + vpadalq_s16 (no
// dot-product extension, which would need a run-time check). Compiled only for AArch64; on
// x86-64 this file only defines an empty registration.
#include "kernels/kernel_table.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

#include "kernels/tu_local.h"
#include "quant/block_layouts.h"
#include "quant/quant_type.h"

namespace dilmodeli::kernels::detail {
namespace {

// ---- float weights ------------------------------------------------------------------------

struct F32 {
    static constexpr int kBytes = 4;
    static float32x4_t load(const uint8_t* p) { return vld1q_f32(reinterpret_cast<const float*>(p)); }
    static float scalar(const uint8_t* p) {
        float v;
        std::memcpy(&v, p, 4);
        return v;
    }
};

struct F16 {
    static constexpr int kBytes = 2;
    static float32x4_t load(const uint8_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p)))); }
    static float scalar(const uint8_t* p) { return half_to_float(load_u16(p)); }
};

template <typename W>
struct FloatKernel {
    template <int R, int T>
    static void run(const GemmArgs& g, int64_t r0, int64_t t0) {
        const uint8_t* w[R];
        const float* x[T];
        for (int r = 0; r < R; ++r) w[r] = g.w + size_t(r0 + r) * g.w_stride;
        for (int t = 0; t < T; ++t) x[t] = reinterpret_cast<const float*>(g.act + size_t(t0 + t) * g.act_stride);
        float32x4_t acc[R][T];
        float tail[R][T];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) {
                acc[r][t] = vdupq_n_f32(0.0f);
                tail[r][t] = 0.0f;
            }
        int64_t i = 0;
        for (; i + 4 <= g.n; i += 4) {
            float32x4_t wv[R];
            for (int r = 0; r < R; ++r) wv[r] = W::load(w[r] + i * W::kBytes);
            for (int t = 0; t < T; ++t) {
                const float32x4_t xv = vld1q_f32(x[t] + i);
                for (int r = 0; r < R; ++r) acc[r][t] = vfmaq_f32(acc[r][t], wv[r], xv);
            }
        }
        for (; i < g.n; ++i)
            for (int t = 0; t < T; ++t)
                for (int r = 0; r < R; ++r) tail[r][t] += W::scalar(w[r] + i * W::kBytes) * x[t][i];
        for (int t = 0; t < T; ++t)
            for (int r = 0; r < R; ++r) g.y[(t0 + t) * g.ldy + r0 + r] = vaddvq_f32(acc[r][t]) + tail[r][t];
    }
};

// ---- Q8_0 / Q4_0 against Q8Block32 --------------------------------------------------------

// Sum of the products of 32 signed bytes (two registers each).
int32_t dot32(int8x16_t w0, int8x16_t w1, const int8_t* a) {
    const int8x16_t a0 = vld1q_s8(a), a1 = vld1q_s8(a + 16);
    int32x4_t s = vdupq_n_s32(0);
    s = vpadalq_s16(s, vmull_s8(vget_low_s8(w0), vget_low_s8(a0)));
    s = vpadalq_s16(s, vmull_high_s8(w0, a0));
    s = vpadalq_s16(s, vmull_s8(vget_low_s8(w1), vget_low_s8(a1)));
    s = vpadalq_s16(s, vmull_high_s8(w1, a1));
    return vaddvq_s32(s);
}

struct Q8_0 {
    using Block = quant::BlockQ8_0;
    static void levels(const Block& b, int8x16_t* w) {
        w[0] = vld1q_s8(b.qs);
        w[1] = vld1q_s8(b.qs + 16);
    }
};

struct Q4_0 {
    using Block = quant::BlockQ4_0;
    static void levels(const Block& b, int8x16_t* w) {
        const uint8x16_t raw = vld1q_u8(b.qs);
        const int8x16_t eight = vdupq_n_s8(8);
        w[0] = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(raw, vdupq_n_u8(0x0f))), eight);
        w[1] = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(raw, 4)), eight);
    }
};

template <typename W>
struct BlockKernel {
    template <int R, int T>
    static void run(const GemmArgs& g, int64_t r0, int64_t t0) {
        const int64_t nb = g.n / 32;
        float acc[R][T];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) acc[r][t] = 0.0f;
        for (int64_t b = 0; b < nb; ++b) {
            int8x16_t w[R][2];
            float d[R];
            for (int r = 0; r < R; ++r) {
                const auto& blk = reinterpret_cast<const typename W::Block*>(g.w + size_t(r0 + r) * g.w_stride)[b];
                W::levels(blk, w[r]);
                d[r] = half_to_float(blk.d);
            }
            for (int t = 0; t < T; ++t) {
                const Q8Block32& a = reinterpret_cast<const Q8Block32*>(g.act + size_t(t0 + t) * g.act_stride)[b];
                for (int r = 0; r < R; ++r) acc[r][t] += d[r] * a.d * float(dot32(w[r][0], w[r][1], a.qs));
            }
        }
        for (int t = 0; t < T; ++t)
            for (int r = 0; r < R; ++r) g.y[(t0 + t) * g.ldy + r0 + r] = acc[r][t];
    }
};

template <typename K>
void gemm(const GemmArgs& g) {
    run_tiles<K>(g);
}

}  // namespace

void register_neon(IsaTable& t) {
    t.types[int(quant::TypeId::F32)] = {nullptr, nullptr, gemm<FloatKernel<F32>>};
    t.types[int(quant::TypeId::F16)] = {nullptr, nullptr, gemm<FloatKernel<F16>>};
    t.types[int(quant::TypeId::Q8_0)] = {q8_block32_bytes, quantize_q8_block32_scalar, gemm<BlockKernel<Q8_0>>};
    t.types[int(quant::TypeId::Q4_0)] = {q8_block32_bytes, quantize_q8_block32_scalar, gemm<BlockKernel<Q4_0>>};
}

}  // namespace dilmodeli::kernels::detail

#else
namespace dilmodeli::kernels::detail {
void register_neon(IsaTable&) {}
}  // namespace dilmodeli::kernels::detail
#endif
