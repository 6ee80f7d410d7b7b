// Batches of the K-quants (Q2_K..Q6_K) on AVX-512 VNNI, with sixteen rows in the lanes of a
// register.
//
// Read as stored, a K-quant row spends most of a batch's time outside its products: every row
// and super-block unpacks its scales, and every row and token converts and scales 16 partial sums
// and folds its mins in, to add them up across the lanes at the end (Q4_K prompts of the 110M and
// 1B shapes ran at 0.8x llama.cpp's speed). Here each block of rows that a task takes is unpacked
// once into PackedSuperBlocks: one byte per level, four consecutive levels of sixteen rows in a
// register, scales and mins spread one per row. A token's four activations are broadcast to the
// sixteen rows, so one vpdpbusd does 64 multiply-adds whose sums need no reduction:
//   S = sum over sub-blocks j of scale_j * (sum of level * q)   (vpdpbusd, then vpmulld)
//   M = sum over 16-element runs s of bsum_mult_s * (sum of q)  (vpdpwssd on the bsums)
// are exact integers per row, token and super-block (SuperBlockParts says what bsum_mult is).
// With mins (Q2_K, Q4_K, Q5_K) the output takes them as acc = fma(float(S), d * da, acc), then
// acc = fma(float(M), -dmin * da, acc), da being the activations' scale; where M is the levels'
// stored offset (Q3_K, Q6_K) it is added to S first, so acc = fma(float(S + M), d * da, acc) and
// S is never rounded on its own. Like llama.cpp's reference, each super-block is summed in
// integers and scaled once. The kernel for a few tokens (kquants_avx512.cpp) adds its lanes in
// another order, so a batch's outputs may differ from its tokens' in the last bits, as float
// batches by outer products do.
#include "kernels/kernel_table.h"

#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512VNNI__)
// GCC 12 reports its own _mm512_undefined_* placeholders inside AVX-512 intrinsics as
// (maybe-)uninitialized (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "kernels/kquants_avx512_local.h"
#include "kernels/packed_gemm_local.h"
#include "kernels/tu_local.h"
#include "quant/block_layouts.h"
#include "quant/quant_type.h"

namespace dilmodeli::kernels::detail {
namespace {

constexpr int kGroupRows = 16;  // rows of a packed group: one per 32-bit lane

// One super-block of a group of sixteen rows. Quads follow the activations' qs: quad P holds each
// row's levels for qs positions 4P..4P+3.
struct alignas(64) PackedSuperBlock {
    uint8_t levels[64][kGroupRows][4];
    int32_t scales[16][kGroupRows];          // per sub-block (8 of 32 elements, or 16 of 16)
    int16_t bsum_mult[8][kGroupRows][2];     // the multipliers of bsums 2i and 2i + 1
    float d[kGroupRows];
    float bsum_scale[kGroupRows];
};
static_assert(sizeof(PackedSuperBlock) % 64 == 0, "whole cache lines");

size_t packed_row_bytes(int64_t cols) { return size_t(cols / 256) * sizeof(PackedSuperBlock) / kGroupRows; }

// The types: their unpacking, and where sub-block j starts in the activations' qs.
template <void (*Unpack)(const uint8_t*, SuperBlockParts&), size_t Bytes, bool kOffset>
struct Sub16 {
    static constexpr size_t kBytes = Bytes;
    static constexpr int kSubBlocks = 16;
    static constexpr bool kOffsetLevels = kOffset;  // M is the stored offset, scaled by d
    static constexpr int start(int j) { return 16 * j; }
    static void unpack(const uint8_t* p, SuperBlockParts& k) { Unpack(p, k); }
};
template <bool kFifthBit>
struct Sub32 {
    static constexpr size_t kBytes = sizeof(std::conditional_t<kFifthBit, quant::BlockQ5_K, quant::BlockQ4_K>);
    static constexpr int kSubBlocks = 8;
    static constexpr bool kOffsetLevels = false;
    static constexpr int start(int j) { return nibble_sub_block_start(j); }
    static void unpack(const uint8_t* p, SuperBlockParts& k) {
        __m128i scales_mins;
        unpack_q45k<kFifthBit>(p, k, scales_mins);
    }
};
using Q2K = Sub16<unpack_q2k, sizeof(quant::BlockQ2_K), false>;
using Q3K = Sub16<unpack_q3k, sizeof(quant::BlockQ3_K), true>;
using Q4K = Sub32<false>;
using Q5K = Sub32<true>;
using Q6K = Sub16<unpack_q6k, sizeof(quant::BlockQ6_K), true>;

// out[q] lane i = in[i] lane q: a 16 x 16 transpose of 32-bit elements in 64 shuffles (pairs of
// rows, then quads, then 128-bit lanes). Much cheaper than gathers, which are slow on CPUs with
// the microcode fix for gather data sampling.
inline void transpose16(const __m512i in[16], __m512i out[16]) {
    __m512i t[16], u[16];
    for (int k = 0; k < 8; ++k) {
        t[2 * k] = _mm512_unpacklo_epi32(in[2 * k], in[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_epi32(in[2 * k], in[2 * k + 1]);
    }
    for (int k = 0; k < 4; ++k) {
        u[4 * k] = _mm512_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
        u[4 * k + 1] = _mm512_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
        u[4 * k + 2] = _mm512_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
        u[4 * k + 3] = _mm512_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
    }
    // u[4 k + m], 128-bit lane L: element 4 L + m of rows 4k..4k+3.
    for (int m = 0; m < 4; ++m) {
        const __m512i v1 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0x44), v2 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0xEE);
        const __m512i w1 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0x44);
        const __m512i w2 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0xEE);
        out[m] = _mm512_shuffle_i32x4(v1, w1, 0x88);
        out[4 + m] = _mm512_shuffle_i32x4(v1, w1, 0xDD);
        out[8 + m] = _mm512_shuffle_i32x4(v2, w2, 0x88);
        out[12 + m] = _mm512_shuffle_i32x4(v2, w2, 0xDD);
    }
}

// Unpacks super-block b of the group's rows (n_rows of them, the rest zero) into out.
template <typename K>
void pack_super_block(const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t b, PackedSuperBlock& out) {
    // Per row: its four chunks of levels, its scale per 16 elements and its bsum multipliers as
    // dwords; each is then turned so that the rows run along the lanes.
    __m512i levels[4][kGroupRows], scales[kGroupRows], mult[kGroupRows];
    for (int r = 0; r < kGroupRows; ++r) {
        if (r < n_rows) {
            SuperBlockParts k;
            K::unpack(src + size_t(r) * src_stride + size_t(b) * K::kBytes, k);
            for (int c = 0; c < 4; ++c) levels[c][r] = k.levels[c];
            scales[r] = _mm512_cvtepi16_epi32(k.scales16);
            mult[r] = _mm512_zextsi256_si512(k.bsum_mult16);
            out.d[r] = k.d;
            out.bsum_scale[r] = k.bsum_scale;
        } else {
            for (int c = 0; c < 4; ++c) levels[c][r] = _mm512_setzero_si512();
            scales[r] = mult[r] = _mm512_setzero_si512();
            out.d[r] = out.bsum_scale[r] = 0.0f;
        }
    }
    __m512i turned[16];
    for (int c = 0; c < 4; ++c) {
        transpose16(levels[c], turned);
        for (int q = 0; q < 16; ++q) _mm512_store_si512(out.levels[16 * c + q], turned[q]);
    }
    transpose16(scales, turned);  // turned[s]: the scale of elements 16s..16s+15
    for (int j = 0; j < K::kSubBlocks; ++j) _mm512_store_si512(out.scales[j], turned[j * 16 / K::kSubBlocks]);
    transpose16(mult, turned);
    for (int i = 0; i < 8; ++i) _mm512_store_si512(out.bsum_mult[i], turned[i]);
}

template <typename K>
void pack_rows(const uint8_t* src, size_t src_stride, uint8_t* dst, size_t dst_stride, int64_t n_rows, int64_t cols) {
    const int64_t nb = cols / 256;
    for (int64_t g0 = 0; g0 < n_rows; g0 += kGroupRows) {
        auto* group = reinterpret_cast<PackedSuperBlock*>(dst + size_t(g0) * dst_stride);
        for (int64_t b = 0; b < nb; ++b)
            pack_super_block<K>(src + size_t(g0) * src_stride, src_stride, min_i64(kGroupRows, n_rows - g0), b,
                                group[b]);
    }
}

inline __m512i broadcast_i32(const void* p) {
    int32_t v;
    std::memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}

// Sixteen rows (one packed group of nb super-blocks) x T tokens; row r of token t goes to
// y[t * ldy + r] for r < n_rows.
template <typename K, int T>
void group_tile(const PackedSuperBlock* group, int64_t nb, const Q8BlockK* const* tokens, float* y, int64_t ldy,
                int64_t n_rows) {
    __m512 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const PackedSuperBlock& p = group[b];
        const Q8BlockK* a[T];
        for (int t = 0; t < T; ++t) a[t] = tokens[t] + b;
        __m512i scaled[T];
#pragma GCC unroll 16
        for (int j = 0; j < K::kSubBlocks; ++j) {
            const int start = K::start(j);
            __m512i sums[T];
            for (int t = 0; t < T; ++t) sums[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
            for (int q = 0; q < 64 / K::kSubBlocks; ++q) {
                const __m512i w = _mm512_load_si512(p.levels[start / 4 + q]);
                for (int t = 0; t < T; ++t)
                    sums[t] = _mm512_dpbusd_epi32(sums[t], w, broadcast_i32(a[t]->qs + start + 4 * q));
            }
            const __m512i scale = _mm512_load_si512(p.scales[j]);
            for (int t = 0; t < T; ++t) {
                const __m512i s = _mm512_mullo_epi32(sums[t], scale);
                scaled[t] = j == 0 ? s : _mm512_add_epi32(scaled[t], s);
            }
        }
        __m512i bsum_terms[T];
        for (int t = 0; t < T; ++t) bsum_terms[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) {
            const __m512i m = _mm512_load_si512(p.bsum_mult[j]);
            for (int t = 0; t < T; ++t)
                bsum_terms[t] = _mm512_dpwssd_epi32(bsum_terms[t], m, broadcast_i32(a[t]->bsums + 2 * j));
        }
        const __m512 d = _mm512_load_ps(p.d);
        for (int t = 0; t < T; ++t) {
            const __m512 da = _mm512_set1_ps(a[t]->d);
            if constexpr (K::kOffsetLevels) {
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(scaled[t], bsum_terms[t])),
                                         _mm512_mul_ps(d, da), acc[t]);
            } else {
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(scaled[t]), _mm512_mul_ps(d, da), acc[t]);
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(bsum_terms[t]),
                                         _mm512_mul_ps(_mm512_load_ps(p.bsum_scale), da), acc[t]);
            }
        }
    }
    const __mmask16 rows = n_rows >= kGroupRows ? __mmask16(0xffff) : __mmask16((1u << n_rows) - 1);
    for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ldy, rows, acc[t]);
}

template <typename K>
struct RowsInLanes {
    using Group = PackedSuperBlock;
    using Activation = Q8BlockK;
    // Eight tokens a tile: 24 of the 32 registers hold their sums and outputs.
    static constexpr int kGroupRows = detail::kGroupRows, kTokenTile = 8, kBlockColumns = 256;
    template <int T>
    static void tile(const Group* group, int64_t nb, const Activation* const* tokens, float* y, int64_t ldy,
                     int64_t n_rows) {
        group_tile<K, T>(group, nb, tokens, y, ldy, n_rows);
    }
};

}  // namespace

void register_avx512_kquants_packed(IsaTable& t) {
    auto set = [&t](quant::TypeId id, PackRowsFn pack, GemmFn gemm) {
        TypeKernel& k = t.types[int(id)];
        if (!k.gemm) return;
        k.pack_rows = pack;
        k.gemm_packed = gemm;
        k.packed_row_bytes = packed_row_bytes;
        k.packed_row_group = kGroupRows;
    };
    set(quant::TypeId::Q2_K, pack_rows<Q2K>, gemm_packed_groups<RowsInLanes<Q2K>>);
    set(quant::TypeId::Q3_K, pack_rows<Q3K>, gemm_packed_groups<RowsInLanes<Q3K>>);
    set(quant::TypeId::Q4_K, pack_rows<Q4K>, gemm_packed_groups<RowsInLanes<Q4K>>);
    set(quant::TypeId::Q5_K, pack_rows<Q5K>, gemm_packed_groups<RowsInLanes<Q5K>>);
    set(quant::TypeId::Q6_K, pack_rows<Q6K>, gemm_packed_groups<RowsInLanes<Q6K>>);
}

}  // namespace dilmodeli::kernels::detail

#else
namespace dilmodeli::kernels::detail {
void register_avx512_kquants_packed(IsaTable&) {}
}  // namespace dilmodeli::kernels::detail
#endif
