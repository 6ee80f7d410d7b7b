// AVX-512 VNNI kernels for the 256-element super-block types (Q2_K..Q6_K, TQ2_0) against
// Q8BlockK activations. A super-block is unpacked once per row into four registers of 64
// unsigned levels, in element order (Q4_K/Q5_K: in nibble order, their activations likewise);
// per token, vpmaddubsw multiplies them by the activations and vpdpwssd applies the
// per-sub-block scales while accumulating in 32 bits. Level offsets (Q3_K's -4, Q6_K's -32,
// TQ2_0's -1) are folded into the accumulator's start value from the activation sums;
// Q2_K/Q4_K/Q5_K mins use the same sums with their own scale.
#include "kernels/kernel_table.h"

#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512VNNI__)
// GCC 12 reports its own _mm512_undefined_* placeholders inside AVX-512 intrinsics as
// (maybe-)uninitialized (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "kernels/kquants_avx512_local.h"
#include "kernels/sums_avx512_local.h"
#include "kernels/tu_local.h"
#include "quant/block_layouts.h"
#include "quant/quant_type.h"

namespace dilmodeli::kernels::detail {
namespace {

using Batch = xsimd::batch<float, xsimd::avx512f>;
using quant::BlockQ2_K;
using quant::BlockQ3_K;
using quant::BlockQ4_K;
using quant::BlockQ5_K;
using quant::BlockQ6_K;
using quant::BlockTQ2_0;

// ---- activations --------------------------------------------------------------------------

// Where elements 16s..16s+15 of a super-block go in Q8BlockK::qs. The natural order serves
// every type but Q4_K/Q5_K, which read theirs in nibble order (NibbleOrder, see Q45K).
struct NaturalOrder {
    static constexpr int offset(int s) { return 16 * s; }
};

template <typename Order>
void quantize_q8k(const float* x, int64_t n, void* out) {
    auto* blocks = static_cast<Q8BlockK*>(out);
    for (int64_t b = 0; b < n / 256; ++b, x += 256) {
        Batch amax(0.0f);
        for (int i = 0; i < 256; i += 16) amax = xsimd::max(amax, xsimd::abs(Batch::load_unaligned(x + i)));
        const float d = _mm512_reduce_max_ps(amax) / 127.0f;
        const Batch id(d != 0.0f ? 1.0f / d : 0.0f);
        Q8BlockK& blk = blocks[b];
        for (int s = 0; s < 16; ++s) {
            const __m512i q = _mm512_cvtps_epi32(Batch::load_unaligned(x + 16 * s) * id);
            blk.bsums[s] = int16_t(_mm512_reduce_add_epi32(q));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(blk.qs + Order::offset(s)), _mm512_cvtsepi32_epi8(q));
        }
        blk.d = d;
    }
}

// ---- shared pieces ------------------------------------------------------------------------

// vpshufb controls spreading 16-bit scales over the 32 words (64 elements) of a chunk, from a
// register holding eight scales in every 128-bit lane.
// sub16[c % 2]: sub-blocks of 16 elements: lane k of chunk c takes scale 4 (c % 2) + k of the
//   eight (the half of the sixteen that chunk c uses).
// sub32[c]: sub-blocks of 32 elements in nibble order (NibbleOrder): lanes 0-1 take the scale
//   of sub-block nibble_sub_block(c), lanes 2-3 that of the sub-block two further on.
struct ScaleControls {
    alignas(64) uint8_t sub16[2][64];
    alignas(64) uint8_t sub32[4][64];
    constexpr ScaleControls() : sub16(), sub32() {
        for (int i = 0; i < 64; ++i) {
            const int lane = i / 16, byte = i % 2;
            for (int h = 0; h < 2; ++h) sub16[h][i] = uint8_t(2 * (4 * h + lane) + byte);
            for (int c = 0; c < 4; ++c) sub32[c][i] = uint8_t(2 * (nibble_sub_block(c) + 2 * (lane / 2)) + byte);
        }
    }
};
constexpr ScaleControls kScaleControls;

// Scales for chunk c of sixteen 16-element sub-blocks (scales16: 16 words).
__m512i spread16(__m256i scales16, int c) {
    const __m128i half = c < 2 ? _mm256_castsi256_si128(scales16) : _mm256_extracti128_si256(scales16, 1);
    return _mm512_shuffle_epi8(_mm512_broadcast_i32x4(half), _mm512_load_si512(kScaleControls.sub16[c % 2]));
}

__m512i scaled_chunk_sum(__m512i acc, __m512i levels, const int8_t* a, __m512i scales) {
    return _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(levels, _mm512_loadu_si512(a)), scales);
}

__m512 widen8(__m256i v) { return _mm512_zextps256_ps512(_mm256_cvtepi32_ps(v)); }

__m256i load_bsums(const Q8BlockK* a) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a->bsums)); }

// ---- types --------------------------------------------------------------------------------

// Each type unpacks a super-block (kquants_avx512_local.h) and spreads its scales over the
// 32 words of each chunk (sc[c]); the kernels below differ in how the activations' sums enter.
template <void (*Unpack)(const uint8_t*, SuperBlockParts&), size_t Bytes>
struct Sub16Unpack {
    static constexpr size_t kBytes = Bytes;
    static void unpack(const uint8_t* p, SuperBlockParts& k, __m512i* sc) {
        Unpack(p, k);
        for (int c = 0; c < 4; ++c) sc[c] = spread16(k.scales16, c);
    }
};
// Q4_K and Q5_K: eight sub-blocks of 32 with 6-bit scales and mins. A 64-byte load of qs and
// a mask give two chunks of levels at once, in nibble order; the activations come in the same
// order (NibbleOrder), so no shuffle puts the levels in element order.
template <bool kFifthBit>
struct Q45KUnpack {
    static constexpr size_t kBytes = sizeof(std::conditional_t<kFifthBit, BlockQ5_K, BlockQ4_K>);
    static void unpack(const uint8_t* p, SuperBlockParts& k, __m512i* sc) {
        __m128i scales_mins;
        unpack_q45k<kFifthBit>(p, k, scales_mins);
        const __m512i sc8 = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(scales_mins));  // 8 scales per lane
        for (int c = 0; c < 4; ++c) sc[c] = _mm512_shuffle_epi8(sc8, _mm512_load_si512(kScaleControls.sub32[c]));
    }
};

// Q2_K, Q4_K, Q5_K: the mins times the activations' sums, scaled by -dmin.
template <typename U>
struct WithMins {
    static constexpr size_t kBytes = U::kBytes;
    template <int T>
    static void row(const uint8_t* p, const Q8BlockK* const* a, Batch* acc) {
        SuperBlockParts k;
        __m512i sc[4];
        U::unpack(p, k, sc);
        for (int t = 0; t < T; ++t) {
            __m512i isum = _mm512_setzero_si512();
            for (int c = 0; c < 4; ++c) isum = scaled_chunk_sum(isum, k.levels[c], a[t]->qs + 64 * c, sc[c]);
            const __m256i mins = _mm256_madd_epi16(load_bsums(a[t]), k.bsum_mult16);
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(k.d * a[t]->d), acc[t]);
            acc[t] = _mm512_fmadd_ps(widen8(mins), _mm512_set1_ps(k.bsum_scale * a[t]->d), acc[t]);
        }
    }
};

// Q3_K and Q6_K: the offset the levels are stored with starts the integer sums.
template <typename U>
struct WithOffset {
    static constexpr size_t kBytes = U::kBytes;
    template <int T>
    static void row(const uint8_t* p, const Q8BlockK* const* a, Batch* acc) {
        SuperBlockParts k;
        __m512i sc[4];
        U::unpack(p, k, sc);
        for (int t = 0; t < T; ++t) {
            __m512i isum = _mm512_zextsi256_si512(_mm256_madd_epi16(load_bsums(a[t]), k.bsum_mult16));
            for (int c = 0; c < 4; ++c) isum = scaled_chunk_sum(isum, k.levels[c], a[t]->qs + 64 * c, sc[c]);
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(k.d * a[t]->d), acc[t]);
        }
    }
};

using Q2K = WithMins<Sub16Unpack<unpack_q2k, sizeof(BlockQ2_K)>>;
using Q3K = WithOffset<Sub16Unpack<unpack_q3k, sizeof(BlockQ3_K)>>;
template <bool kFifthBit>
using Q45K = WithMins<Q45KUnpack<kFifthBit>>;
using Q6K = WithOffset<Sub16Unpack<unpack_q6k, sizeof(BlockQ6_K)>>;

struct TQ2 {
    static constexpr size_t kBytes = sizeof(BlockTQ2_0);
    template <int T>
    static void row(const uint8_t* p, const Q8BlockK* const* a, Batch* acc) {
        const auto& w = *reinterpret_cast<const BlockTQ2_0*>(p);
        __m512i lv[4];
        for (int c = 0; c < 4; ++c) lv[c] = two_bit_chunk(w.qs, c);
        const float d = half_to_float(w.d);
        for (int t = 0; t < T; ++t) {
            // Levels are stored + 1: start from -sum(a).
            __m512i isum = _mm512_zextsi256_si512(_mm256_madd_epi16(load_bsums(a[t]), _mm256_set1_epi16(-1)));
            for (int c = 0; c < 4; ++c)
                isum = _mm512_dpbusd_epi32(isum, lv[c], _mm512_loadu_si512(a[t]->qs + 64 * c));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * a[t]->d), acc[t]);
        }
    }
};

template <typename W>
struct SuperKernel {
    template <int R, int T>
    static void run(const GemmArgs& g, int64_t r0, int64_t t0) {
        const size_t prefetch = prefetch_offset(g.w_stride, R);
        const int64_t nb = g.n / 256;
        const Q8BlockK* a0[T];
        for (int t = 0; t < T; ++t) a0[t] = reinterpret_cast<const Q8BlockK*>(g.act + size_t(t0 + t) * g.act_stride);
        Batch acc[R][T];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) acc[r][t] = Batch(0.0f);
        for (int64_t b = 0; b < nb; ++b) {
            const Q8BlockK* a[T];
            for (int t = 0; t < T; ++t) a[t] = a0[t] + b;
            for (int r = 0; r < R; ++r) {
                const uint8_t* block = g.w + size_t(r0 + r) * g.w_stride + size_t(b) * W::kBytes;
                for (size_t line = 0; line < W::kBytes; line += 64)
                    _mm_prefetch(reinterpret_cast<const char*>(block + prefetch + line), _MM_HINT_T0);
                W::template row<T>(block, a, acc[r]);
            }
        }
        store_sums<R, T>(acc, g, r0, t0);
    }
};

template <typename W>
void gemm(const GemmArgs& g) {
    run_tiles<SuperKernel<W>>(g);
}

}  // namespace

void register_avx512_kquants(IsaTable& t) {
    auto set = [&t](quant::TypeId id, GemmFn fn, QuantizeActFn quantize = quantize_q8k<NaturalOrder>) {
        t.types[int(id)] = {q8_block_k_bytes, quantize, fn};
    };
    set(quant::TypeId::Q2_K, gemm<Q2K>);
    set(quant::TypeId::Q3_K, gemm<Q3K>);
    set(quant::TypeId::Q4_K, gemm<Q45K<false>>, quantize_q8k<NibbleOrder>);
    set(quant::TypeId::Q5_K, gemm<Q45K<true>>, quantize_q8k<NibbleOrder>);
    set(quant::TypeId::Q6_K, gemm<Q6K>);
    set(quant::TypeId::TQ2_0, gemm<TQ2>);
}

}  // namespace dilmodeli::kernels::detail

#else
namespace dilmodeli::kernels::detail {
void register_avx512_kquants(IsaTable&) {}
}  // namespace dilmodeli::kernels::detail
#endif
