// AVX-512 VNNI kernels for Q4_0, Q8_0 and IQ4_NL weights. Sixteen consecutive weight blocks are
// gathered and transposed (a 4x4 dword transpose per 128-bit lane) so that lane p of a register
// holds block kGroupLaneBlock[p]; the activations are quantized once per call into the same
// transposed layout (Q8Group16). Then eight vpdpbusd per token give the integer dot products of
// sixteen blocks at once, and one multiply-add per 16 blocks applies the scales. Weights are
// made unsigned (nibbles, or q + 128), and the activation sums correct for the offset. Batches
// pack their rows into that register order once (pack_rows) and read them with plain loads.
#include "kernels/kernel_table.h"

#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512VNNI__)
// GCC 12 reports its own _mm512_undefined_* placeholders inside AVX-512 intrinsics as
// (maybe-)uninitialized (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "kernels/sums_avx512_local.h"
#include "kernels/tu_local.h"
#include "quant/block_layouts.h"
#include "quant/quant_type.h"

namespace dilmodeli::kernels::detail {
namespace {

using Batch = xsimd::batch<float, xsimd::avx512f>;

// ---- activations --------------------------------------------------------------------------

size_t group16_bytes(int64_t n) { return size_t((n / 32 + 15) / 16) * sizeof(Q8Group16); }

void quantize_group16(const float* x, int64_t n, void* out) {
    const int64_t nb = n / 32;
    auto* groups = static_cast<Q8Group16*>(out);
    for (int64_t gi = 0; gi < (nb + 15) / 16; ++gi) {
        Q8Group16& grp = groups[gi];
        for (int p = 0; p < 16; ++p) {
            const int64_t b = gi * 16 + kGroupLaneBlock[p];
            alignas(16) int32_t dwords[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            float d = 0.0f;
            int32_t sum = 0;
            if (b < nb) {
                const Batch v0 = Batch::load_unaligned(x + b * 32), v1 = Batch::load_unaligned(x + b * 32 + 16);
                const float amax = _mm512_reduce_max_ps(xsimd::max(xsimd::abs(v0), xsimd::abs(v1)));
                d = amax / 127.0f;
                const Batch id(d != 0.0f ? 1.0f / d : 0.0f);
                const __m512i q0 = _mm512_cvtps_epi32(v0 * id), q1 = _mm512_cvtps_epi32(v1 * id);
                sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
                _mm_store_si128(reinterpret_cast<__m128i*>(dwords), _mm512_cvtsepi32_epi8(q0));
                _mm_store_si128(reinterpret_cast<__m128i*>(dwords + 4), _mm512_cvtsepi32_epi8(q1));
            }
            for (int s = 0; s < 8; ++s) std::memcpy(grp.qs[s][p], &dwords[s], 4);
            grp.negsum[p] = -sum;
            grp.d[p] = d;
        }
        // A last group of at most 8 blocks (lanes p % 4 < 2) repeats them in the lanes of blocks
        // 8..15, for kernels that pair two rows in one register there (GroupKernel). Weights
        // there are zero blocks with zero scales, so every other kernel still adds zero there.
        if (nb - 16 * gi <= 8) {
            for (int p = 0; p < 16; ++p) {
                if (p % 4 < 2) continue;
                for (int s = 0; s < 8; ++s) std::memcpy(grp.qs[s][p], grp.qs[s][p - 2], 4);
                grp.negsum[p] = grp.negsum[p - 2];
                grp.d[p] = grp.d[p - 2];
            }
        }
    }
}

// ---- weights ------------------------------------------------------------------------------

// The 16-byte field at `field` of blocks 0..15 (`stride` bytes apart), transposed: g[j] lane p
// holds dword j of block kGroupLaneBlock[p] = 4 (p % 4) + p / 4. Only the first `quads` groups of
// four blocks are read (a row's last group may hold 4, 8 or 12 blocks); the rest are zero.
// Quads is an int, or std::integral_constant<int, 4> so full groups compile without the test.
template <int Stride, typename Quads>
void gather_transpose(const uint8_t* field, __m512i g[4], Quads quads) {
    __m512i q[4];
    for (int m = 0; m < 4; ++m) {
        if (m >= int(quads)) {
            q[m] = _mm512_setzero_si512();
            continue;
        }
        const uint8_t* b = field + 4 * m * Stride;
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b)));
        v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + Stride)), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 2 * Stride)), 2);
        q[m] = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 3 * Stride)), 3);
    }
    const __m512i t0 = _mm512_unpacklo_epi32(q[0], q[1]), t1 = _mm512_unpackhi_epi32(q[0], q[1]);
    const __m512i t2 = _mm512_unpacklo_epi32(q[2], q[3]), t3 = _mm512_unpackhi_epi32(q[2], q[3]);
    g[0] = _mm512_unpacklo_epi64(t0, t2);
    g[1] = _mm512_unpackhi_epi64(t0, t2);
    g[2] = _mm512_unpacklo_epi64(t1, t3);
    g[3] = _mm512_unpackhi_epi64(t1, t3);
}

// The fp16 scales at the start of blocks 0..15, as floats in lane order; blocks of quads not
// read are 0. (In tiles of four rows, scalar loads packed in general registers measured faster
// than vpgatherdd or word permutes; single rows use permute_scales.)
template <int Stride, typename Quads>
__m512 gather_scales(const uint8_t* blocks, Quads quads) {
    uint64_t h[4] = {0, 0, 0, 0};
    for (int l = 0; l < 4; ++l)
        for (int m = 0; m < int(quads); ++m) h[l] |= uint64_t(load_u16(blocks + (4 * m + l) * Stride)) << (16 * m);
    const __m256i halves = _mm256_set_epi64x(int64_t(h[3]), int64_t(h[2]), int64_t(h[1]), int64_t(h[0]));
    return _mm512_cvtph_ps(halves);
}

// gather_scales of a full group of 18-byte blocks (Q4_0, IQ4_NL) by vector instructions: a
// 64-byte load at each quad's first block holds the quad's four scales (words 0, 9, 18, 27), and
// two word permutes and a blend put lane p = 4m + k on block 4k + m. Single-row tiles use it:
// read one row at a time, 2048-column Q4_0 products streamed 22 -> 29 GB/s from memory on one
// thread. So do tiles of four short rows: 512-1024-column products ran 5-12% faster in cache and
// 5-15% from memory. But with four long rows interleaved, these line-crossing loads made
// 5632-column products 25-45% slower from memory (though faster in cache).
__m512 permute_scales(const uint8_t* blocks) {
    constexpr int kStride = 18;
    alignas(64) static constexpr uint16_t kIndex[32] = {0,  32, 0,  32, 9,  41, 9,  41, 18, 50, 18,
                                                       50, 27, 59, 27, 59, 0,  0,  0,  0,  0,  0,
                                                       0,  0,  0,  0,  0,  0,  0,  0,  0,  0};
    const __m512i index = _mm512_load_si512(kIndex);
    const __m512i quads01 = _mm512_permutex2var_epi16(_mm512_loadu_si512(blocks), index,
                                                      _mm512_loadu_si512(blocks + 4 * kStride));
    const __m512i quads23 = _mm512_permutex2var_epi16(_mm512_loadu_si512(blocks + 8 * kStride), index,
                                                      _mm512_loadu_si512(blocks + 12 * kStride));
    // Lanes with k = 2 or 3 (p % 4 >= 2) come from quads 2 and 3.
    return _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_mask_blend_epi16(0xCCCC, quads01, quads23)));
}

// Each type's quant fields (kFields of 16 bytes from byte 2 of a block) become 4 registers each
// (load_field(field, g): gathered from blocks, or loaded packed), then the eight unsigned byte
// slots that vpdpbusd reads. Q8_0 uses its first field's slots before loading the second, which
// keeps fewer registers live.

// Q4_0: unsigned nibbles; activation offset -8 * sum.
struct Q4_0 {
    static constexpr int kBlockBytes = 18;
    static constexpr int kFields = 1;
    static constexpr int kShift = 3;
    template <typename L, typename F>
    static void for_each_slot(L&& load_field, F&& f) {
        __m512i g[4];
        load_field(0, g);
        const __m512i low = _mm512_set1_epi8(0x0f);
        for (int j = 0; j < 4; ++j) f(j, _mm512_and_si512(g[j], low));
        for (int j = 0; j < 4; ++j) f(4 + j, _mm512_and_si512(_mm512_srli_epi32(g[j], 4), low));
    }
};

// IQ4_NL: nibbles index the non-linear levels, looked up already offset by +128.
struct IQ4_NL {
    static constexpr int kBlockBytes = 18;
    static constexpr int kFields = 1;
    static constexpr int kShift = 7;
    template <typename L, typename F>
    static void for_each_slot(L&& load_field, F&& f) {
        __m512i g[4];
        load_field(0, g);
        alignas(16) uint8_t table[16];
        for (int i = 0; i < 16; ++i) table[i] = uint8_t(quant::kIq4nlValues[i] + 128);
        const __m512i lut = _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(table)));
        const __m512i low = _mm512_set1_epi8(0x0f);
        for (int j = 0; j < 4; ++j) f(j, _mm512_shuffle_epi8(lut, _mm512_and_si512(g[j], low)));
        for (int j = 0; j < 4; ++j)
            f(4 + j, _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi32(g[j], 4), low)));
    }
};

// Q8_0: q + 128 (flip the sign bit); activation offset -128 * sum.
struct Q8_0 {
    static constexpr int kBlockBytes = 34;
    static constexpr int kFields = 2;
    static constexpr int kShift = 7;
    template <typename L, typename F>
    static void for_each_slot(L&& load_field, F&& f) {
        const __m512i flip = _mm512_set1_epi8(char(0x80));
        for (int field = 0; field < 2; ++field) {
            __m512i g[4];
            load_field(field, g);
            for (int j = 0; j < 4; ++j) f(4 * field + j, _mm512_xor_si512(g[j], flip));
        }
    }
};

// The packed layout of a row: its blocks in groups of 16 (the last one completed with zero
// blocks), the groups in pairs (a lone last one alone), each pair holding first the 4 * kFields
// registers gather_transpose builds for each group, then each group's 16 fp16 scales in lane
// order. A kernel then reads a group with 1 + 4 * kFields plain loads instead of 16 scalar scale
// loads, 12 lane inserts and 8 unpacks, and its register loads stay on cache-line boundaries.
template <typename W>
struct PackedGroup {
    static constexpr int kGroupBytes = 16 * W::kBlockBytes;
    static constexpr int kRegisterBytes = 64 * 4 * W::kFields;
    static_assert(kRegisterBytes + 32 == kGroupBytes, "a packed group fills its blocks' bytes");
    // Offsets of group gi's registers and scales within a row of n_groups groups.
    static size_t registers(int64_t gi) { return size_t(gi / 2) * 2 * kGroupBytes + size_t(gi % 2) * kRegisterBytes; }
    static size_t scales(int64_t gi, int64_t n_groups) {
        const int64_t pair_start = gi / 2 * 2;
        const int64_t in_pair = std::min<int64_t>(2, n_groups - pair_start);
        return size_t(pair_start) * kGroupBytes + size_t(in_pair) * kRegisterBytes + size_t(gi % 2) * 32;
    }
};

template <typename W>
void pack_rows(const uint8_t* src, size_t src_stride, uint8_t* dst, size_t dst_stride, int64_t n_rows, int64_t cols) {
    using P = PackedGroup<W>;
    const int64_t nb = cols / 32, n_groups = (nb + 15) / 16;
    alignas(64) uint8_t tail[P::kGroupBytes];
    for (int64_t r = 0; r < n_rows; ++r) {
        for (int64_t gi = 0; gi < n_groups; ++gi) {
            const uint8_t* group = src + size_t(r) * src_stride + size_t(gi) * P::kGroupBytes;
            if (nb - 16 * gi < 16) {
                std::memset(tail, 0, sizeof tail);
                std::memcpy(tail, group, size_t(nb - 16 * gi) * W::kBlockBytes);
                group = tail;
            }
            uint8_t* row = dst + size_t(r) * dst_stride;
            for (int field = 0; field < W::kFields; ++field) {
                __m512i g[4];
                gather_transpose<W::kBlockBytes>(group + 2 + 16 * field, g, std::integral_constant<int, 4>{});
                for (int j = 0; j < 4; ++j) _mm512_storeu_si512(row + P::registers(gi) + 64 * (4 * field + j), g[j]);
            }
            uint16_t scales[16];
            for (int p = 0; p < 16; ++p) scales[p] = load_u16(group + kGroupLaneBlock[p] * W::kBlockBytes);
            std::memcpy(row + P::scales(gi, n_groups), scales, sizeof scales);
        }
    }
}

template <typename W, bool Packed>
struct GroupKernel {
    template <int R, int T>
    static void run(const GemmArgs& g, int64_t r0, int64_t t0) {
        constexpr int kGroupBytes = 16 * W::kBlockBytes;
        const size_t prefetch = prefetch_offset(g.w_stride, R);
        // Rows under 1 KiB (the 110M shape's 768 columns) are bound by instructions more than
        // by memory, so even their four-row tiles take the permuted scales (see permute_scales).
        const bool short_rows = g.w_stride < kSingleRowTileMin;
        const int64_t nb = g.n / 32;
        const Q8Group16* a[T];
        for (int t = 0; t < T; ++t) a[t] = reinterpret_cast<const Q8Group16*>(g.act + size_t(t0 + t) * g.act_stride);
        Batch acc[R][T];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) acc[r][t] = Batch(0.0f);
        alignas(64) uint8_t tail[kGroupBytes];
        // The integer dot products of group gi for every token, from the weight registers
        // load_field builds. Integer sums are exact, so splitting them over two chains (shorter
        // dependency chains when few tokens) cannot change any result.
        constexpr int kChains = T <= 2 ? 2 : 1;
        auto integer_sums = [&](int64_t gi, auto&& load_field, __m512i (&isum)[T]) __attribute__((always_inline)) {
            __m512i chain[kChains][T];
            for (int t = 0; t < T; ++t) {
                chain[0][t] = _mm512_slli_epi32(_mm512_load_si512(a[t][gi].negsum), W::kShift);
                if constexpr (kChains == 2) chain[1][t] = _mm512_setzero_si512();
            }
            W::for_each_slot(load_field, [&](int s, __m512i v) {
                for (int t = 0; t < T; ++t)
                    chain[s % kChains][t] =
                        _mm512_dpbusd_epi32(chain[s % kChains][t], v, _mm512_load_si512(a[t][gi].qs[s]));
            });
            for (int t = 0; t < T; ++t)
                isum[t] = kChains == 2 ? _mm512_add_epi32(chain[0][t], chain[1][t]) : chain[0][t];
        };
        // Full groups read all four quads (a constant, so the test compiles away). A last group
        // of 4, 8 or 12 blocks is read in place, its missing quads zero registers; any other
        // remainder is copied into a zeroed group first, so no row is read past its end.
        auto row_step = [&](int64_t gi, int r, auto quads_read, auto copy_tail,
                            auto packed) __attribute__((always_inline)) {
            const uint8_t* blocks = g.w + size_t(r0 + r) * g.w_stride + size_t(gi) * kGroupBytes;
            for (int line = 0; line < kGroupBytes; line += 64)
                _mm_prefetch(reinterpret_cast<const char*>(blocks + prefetch + line), _MM_HINT_T0);
            if constexpr (decltype(copy_tail)::value) {
                std::memset(tail, 0, sizeof tail);
                std::memcpy(tail, blocks, size_t(nb % 16) * W::kBlockBytes);
                blocks = tail;
            }
            const uint8_t* packed_row = g.w + size_t(r0 + r) * g.w_stride;
            __m512i isum[T];
            integer_sums(gi, [&](int field, __m512i* four) __attribute__((always_inline)) {
                if constexpr (decltype(packed)::value) {
                    const uint8_t* regs = packed_row + PackedGroup<W>::registers(gi) + 256 * field;
                    for (int j = 0; j < 4; ++j) four[j] = _mm512_loadu_si512(regs + 64 * j);
                } else {
                    gather_transpose<W::kBlockBytes>(blocks + 2 + 16 * field, four, quads_read);
                }
            }, isum);
            Batch dw;
            if constexpr (decltype(packed)::value)
                dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(
                    packed_row + PackedGroup<W>::scales(gi, (nb + 15) / 16))));
            else if constexpr (W::kBlockBytes == 18 && decltype(quads_read)::value == 4)
                dw = R == 1 || short_rows ? permute_scales(blocks) : gather_scales<W::kBlockBytes>(blocks, quads_read);
            else
                dw = gather_scales<W::kBlockBytes>(blocks, quads_read);
            for (int t = 0; t < T; ++t) {
                const Batch scale = dw * Batch::load_aligned(a[t][gi].d);
                acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), scale, acc[r][t]);
            }
        };
        auto group_step = [&](int64_t gi, auto quads_read, auto copy_tail, auto packed) __attribute__((always_inline)) {
            for (int r = 0; r < R; ++r) row_step(gi, r, quads_read, copy_tail, packed);
        };
        // A packed row's last group of at most 8 blocks fills only the lanes with p % 4 < 2, and
        // the activations repeat those blocks in the lanes with p % 4 >= 2 (quantize_group16). So
        // rows r and r + 1 share one register, r + 1's blocks in the upper lanes, and each row's
        // sums get the products of its own lanes (r + 1's moved down first), the other lanes'
        // zeroed: the same products in the same lanes as row_step's, whose other lanes add zero.
        // The 110M shape's 768-column rows (24 blocks) then take half the vpdpbusd for their last
        // group; 128-token products ran only 3-4% faster (so the multiply-adds are not what bounds
        // them), and the zeroing masks (instead of masked merges into the sums, which GCC keeps in
        // memory and whose masked stores cannot be forwarded to the next loads) another 2%.
        auto paired_half_step = [&](int64_t gi, int r) __attribute__((always_inline)) {
            const uint8_t* rows[2];
            for (int k = 0; k < 2; ++k) {
                rows[k] = g.w + size_t(r0 + r + k) * g.w_stride;
                for (int line = 0; line < kGroupBytes; line += 64)
                    _mm_prefetch(reinterpret_cast<const char*>(rows[k] + size_t(gi) * kGroupBytes + prefetch + line),
                                 _MM_HINT_T0);
            }
            __m512i isum[T];
            integer_sums(gi, [&](int field, __m512i* four) __attribute__((always_inline)) {
                const size_t at = PackedGroup<W>::registers(gi) + 256 * field;
                for (int j = 0; j < 4; ++j)
                    four[j] = _mm512_unpacklo_epi64(_mm512_loadu_si512(rows[0] + at + 64 * j),
                                                    _mm512_loadu_si512(rows[1] + at + 64 * j));
            }, isum);
            const size_t scales_at = PackedGroup<W>::scales(gi, (nb + 15) / 16);
            auto scales = [&](int k) {
                return _mm512_castps_pd(
                    _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[k] + scales_at))));
            };
            const __m512 dw = _mm512_castpd_ps(_mm512_unpacklo_pd(scales(0), scales(1)));
            constexpr __mmask16 kLowPairs = 0x3333;  // lanes p with p % 4 < 2
            // The partner's scales are zeroed with its sums: an inf or NaN scale in a corrupt row
            // would otherwise turn this row's zeroed lanes into NaN, which row_step never does.
            const __m512 dw_low = _mm512_maskz_mov_ps(kLowPairs, dw);
            const __m512 dw_high = _mm512_maskz_permute_ps(kLowPairs, dw, 0x4E);
            for (int t = 0; t < T; ++t) {
                const __m512 sums = _mm512_cvtepi32_ps(isum[t]), da = Batch::load_aligned(a[t][gi].d);
                acc[r][t] = _mm512_fmadd_ps(_mm512_maskz_mov_ps(kLowPairs, sums), _mm512_mul_ps(dw_low, da),
                                            acc[r][t]);
                acc[r + 1][t] = _mm512_fmadd_ps(_mm512_maskz_permute_ps(kLowPairs, sums, 0x4E),
                                                _mm512_mul_ps(dw_high, _mm512_permute_ps(da, 0x4E)), acc[r + 1][t]);
            }
        };
        using AllQuads = std::integral_constant<int, 4>;
        using No = std::false_type;
        using Yes = std::true_type;
        if constexpr (Packed) {
            const int64_t n_groups = (nb + 15) / 16;
            const bool half_last = nb % 16 != 0 && nb % 16 <= 8;
            for (int64_t gi = 0; gi < n_groups - (half_last ? 1 : 0); ++gi) group_step(gi, AllQuads{}, No{}, Yes{});
            if (half_last) {
                int r = 0;
                for (; r + 1 < R; r += 2) paired_half_step(n_groups - 1, r);
                if (r < R) row_step(n_groups - 1, r, AllQuads{}, No{}, Yes{});
            }
            store_sums<R, T>(acc, g, r0, t0);
            return;
        }
        const int64_t full_groups = nb / 16;
        for (int64_t gi = 0; gi < full_groups; ++gi) group_step(gi, AllQuads{}, No{}, No{});
        const int tail_blocks = int(nb % 16);
        switch (tail_blocks) {
            case 0: break;
            case 4: group_step(full_groups, std::integral_constant<int, 1>{}, No{}, No{}); break;
            case 8: group_step(full_groups, std::integral_constant<int, 2>{}, No{}, No{}); break;
            case 12: group_step(full_groups, std::integral_constant<int, 3>{}, No{}, No{}); break;
            default: group_step(full_groups, AllQuads{}, Yes{}, No{}); break;
        }
        store_sums<R, T>(acc, g, r0, t0);
    }
};

template <typename W, bool Packed>
void gemm(const GemmArgs& g) {
    run_tiles<GroupKernel<W, Packed>>(g);
}

// A packed row: its blocks rounded up to whole groups of 16.
template <typename W>
size_t packed_row_bytes(int64_t cols) {
    return size_t((cols / 32 + 15) / 16 * 16) * W::kBlockBytes;
}

template <typename W>
TypeKernel legacy_kernel() {
    TypeKernel k{group16_bytes, quantize_group16, gemm<W, false>, pack_rows<W>, gemm<W, true>};
    k.packed_row_bytes = packed_row_bytes<W>;
    return k;
}

}  // namespace

void register_avx512_legacy(IsaTable& t) {
    t.types[int(quant::TypeId::Q4_0)] = legacy_kernel<Q4_0>();
    t.types[int(quant::TypeId::IQ4_NL)] = legacy_kernel<IQ4_NL>();
    t.types[int(quant::TypeId::Q8_0)] = legacy_kernel<Q8_0>();
}

}  // namespace dilmodeli::kernels::detail

#else
namespace dilmodeli::kernels::detail {
void register_avx512_legacy(IsaTable&) {}
}  // namespace dilmodeli::kernels::detail
#endif
