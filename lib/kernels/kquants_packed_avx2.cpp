// Batches of the K-quants (Q2_K..Q6_K) on AVX2, with eight rows in the 32-bit lanes of a register:
// the AVX2 counterpart of kquants_packed_avx512.cpp, with the same integers and float steps, so
// the two give the same bits.
//
// The kernel for a few tokens (kquants_avx2.cpp) unpacks every super-block's levels and scales
// again for each tile of four tokens, then converts, scales and adds its partial sums across the
// lanes per row and token. Here each block of rows that a task takes is unpacked once into
// PackedSuperBlocks: one byte per level, four consecutive levels of eight rows in a register,
// scales and bsum multipliers one per row. A token's four activations (Q8BlockK in element order:
// quad P is elements 4P..4P+3) are broadcast to the eight rows, so one vpmaddubsw does 32
// multiply-adds whose sums need no reduction:
//   S = sum over sub-blocks j of scale_j * (sum of level * q)   (vpmaddubsw, vpmaddwd by scale_j)
//   M = sum over 16-element runs s of bsum_mult_s * (sum of q)  (vpmaddwd on the bsums)
// are exact integers per row, token and super-block. Levels are unsigned, at most 63, and
// |q| <= 127, so a vpmaddubsw pair is at most 16002 in magnitude: each type adds as many
// vpmaddubsw results in 16 bits as its largest level allows (kQuadsIn16; two for Q6_K), then
// vpmaddwd multiplies by the sub-block's scale, held twice in a dword, and adds the pair.
// With mins (Q2_K, Q4_K, Q5_K): acc = fma(float(S), d * da, acc), then
// acc = fma(float(M), bsum_scale * da, acc); where M is the stored offset (Q3_K, Q6_K),
// acc = fma(float(S + M), d * da, acc).
#include "kernels/kernel_table.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <type_traits>

#include "kernels/lanes_avx2_local.h"
#include "kernels/packed_gemm_local.h"
#include "kernels/tu_local.h"
#include "quant/block_layouts.h"
#include "quant/quant_type.h"

namespace dilmodeli::kernels::detail {
namespace {

constexpr int kGroupRows = 8;  // rows of a packed group: one per 32-bit lane

// One super-block of a group of eight rows.
struct alignas(32) PackedSuperBlock {
    uint8_t levels[64][kGroupRows][4];  // quad P: each row's levels of elements 4P..4P+3
    int16_t scales[16][kGroupRows][2];  // per sub-block (8 of 32 elements, or 16 of 16), twice
    int16_t bsum_mult[8][kGroupRows][2];  // the multipliers of bsums 2i and 2i + 1
    float d[kGroupRows];
    float bsum_scale[kGroupRows];  // -dmin, or d where M holds the stored levels' offset
};
static_assert(sizeof(PackedSuperBlock) % 32 == 0, "whole registers");

size_t packed_row_bytes(int64_t cols) { return size_t(cols / 256) * sizeof(PackedSuperBlock) / kGroupRows; }

__m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// One row's super-block: levels in element order (chunk c = elements 32c..32c+31), the scale of
// sub-block j as the dword (s, s) in lane j % 8 of scales[j / 8], the bsum multipliers as words.
struct RowParts {
    __m256i levels[8];
    __m256i scales[2];
    __m256i bsum_mult;
    float d, bsum_scale;
};

// Eight words as eight dwords, each holding its word twice.
__m256i twice(__m128i words) {
    const __m256i x = _mm256_cvtepi16_epi32(words);
    return _mm256_blend_epi16(x, _mm256_slli_epi32(x, 16), 0xAA);
}

// Sixteen int16 scales (as bytes, sign-extended if kSigned) into scales[0] and scales[1].
template <bool kSigned>
void sixteen_scales(__m128i bytes, RowParts& k) {
    auto widen = [](__m128i b) { return kSigned ? _mm_cvtepi8_epi16(b) : _mm_cvtepu8_epi16(b); };
    k.scales[0] = twice(widen(bytes));
    k.scales[1] = twice(widen(_mm_srli_si128(bytes, 8)));
}

// The 2-bit levels of chunk c (Q2_K, Q3_K): bits 2 (c % 4) of qs[32 (c / 4) + l].
__m256i two_bit_chunk(const uint8_t* qs, int c) {
    const __m128i shift = _mm_cvtsi32_si128(2 * (c % 4));
    return _mm256_and_si256(_mm256_srl_epi16(load256(qs + 32 * (c / 4)), shift), _mm256_set1_epi8(3));
}

// value where bit `bit` of bytes is set, else 0.
__m256i where_bit(__m256i bytes, int bit, char value) {
    const __m256i mask = _mm256_set1_epi8(char(1 << bit));
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(bytes, mask), mask), _mm256_set1_epi8(value));
}

void unpack_q2k(const uint8_t* p, RowParts& k) {
    const auto& w = *reinterpret_cast<const quant::BlockQ2_K*>(p);
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales));
    sixteen_scales<false>(_mm_and_si128(packed, _mm_set1_epi8(0x0f)), k);
    k.bsum_mult = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f)));
    for (int c = 0; c < 8; ++c) k.levels[c] = two_bit_chunk(w.qs, c);
    k.d = half_to_float(w.d);
    k.bsum_scale = -half_to_float(w.dmin);
}

void unpack_q3k(const uint8_t* p, RowParts& k) {
    const auto& w = *reinterpret_cast<const quant::BlockQ3_K*>(p);
    // The 12 scale bytes as words u0..u2 (no read past them: the block may end the matrix), into
    // 16 six-bit scales stored + 32, as in kquants_avx512_local.h.
    const __m128i u = _mm_insert_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(w.scales)),
                                       int(load_u32(w.scales + 8)), 2);
    const __m128i low = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(u, 0x44), _mm_setr_epi32(0, 0, 4, 4)),
                                      _mm_set1_epi32(0x0f0f0f0f));
    const __m128i top = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(u, 0xaa), _mm_setr_epi32(0, 2, 4, 6)),
                                      _mm_set1_epi32(0x03030303));
    const __m128i scales = _mm_sub_epi8(_mm_or_si128(low, _mm_slli_epi32(top, 4)), _mm_set1_epi8(32));
    sixteen_scales<true>(scales, k);
    k.bsum_mult = _mm256_mullo_epi16(_mm256_cvtepi8_epi16(scales), _mm256_set1_epi16(-4));  // levels are stored + 4
    const __m256i hmask = load256(w.hmask);
    for (int c = 0; c < 8; ++c) k.levels[c] = _mm256_or_si256(two_bit_chunk(w.qs, c), where_bit(hmask, c, 4));
    k.d = k.bsum_scale = half_to_float(w.d);
}

template <bool kFifthBit>
void unpack_q45k(const uint8_t* p, RowParts& k) {
    using Block = std::conditional_t<kFifthBit, quant::BlockQ5_K, quant::BlockQ4_K>;
    const auto& w = *reinterpret_cast<const Block*>(p);
    // llama.cpp's 12 scale bytes as eight scales (bytes 0-7) and eight mins (bytes 8-15); reads
    // the 4 bytes after them, inside the block.
    const __m128i u = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales));
    const __m128i low = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(u, 0x98), _mm_setr_epi32(0, 0, 0, 4)),
                                      _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
    const __m128i top =
        _mm_and_si128(_mm_srli_epi32(_mm_shuffle_epi32(u, 0x50), 2), _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
    const __m128i scales_mins = _mm_or_si128(low, top);
    k.scales[0] = twice(_mm_cvtepu8_epi16(scales_mins));
    k.scales[1] = _mm256_setzero_si256();
    k.bsum_mult = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(scales_mins, scales_mins));  // each min twice
    for (int c = 0; c < 4; ++c) {
        const __m256i raw = load256(w.qs + 32 * c);
        k.levels[2 * c] = _mm256_and_si256(raw, _mm256_set1_epi8(0x0f));
        k.levels[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), _mm256_set1_epi8(0x0f));
    }
    if constexpr (kFifthBit) {
        const __m256i high = load256(w.qh);
        for (int c = 0; c < 8; ++c) k.levels[c] = _mm256_or_si256(k.levels[c], where_bit(high, c, 16));
    }
    k.d = half_to_float(w.d);
    k.bsum_scale = -half_to_float(w.dmin);
}

void unpack_q6k(const uint8_t* p, RowParts& k) {
    const auto& w = *reinterpret_cast<const quant::BlockQ6_K*>(p);
    const __m128i scales = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales));
    sixteen_scales<true>(scales, k);
    k.bsum_mult = _mm256_mullo_epi16(_mm256_cvtepi8_epi16(scales), _mm256_set1_epi16(-32));  // levels are stored + 32
    const __m256i low = _mm256_set1_epi8(0x0f), bits45 = _mm256_set1_epi8(0x30);
    for (int h = 0; h < 2; ++h) {
        const __m256i ql0 = load256(w.ql + 64 * h), ql1 = load256(w.ql + 64 * h + 32), qh = load256(w.qh + 32 * h);
        __m256i* lv = k.levels + 4 * h;
        lv[0] = _mm256_or_si256(_mm256_and_si256(ql0, low), _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45));
        lv[1] = _mm256_or_si256(_mm256_and_si256(ql1, low), _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45));
        lv[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low), _mm256_and_si256(qh, bits45));
        lv[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low),
                                _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45));
    }
    k.d = k.bsum_scale = half_to_float(w.d);
}

// The types: unpacking, block size, sub-blocks, whether M is the levels' stored offset, and how
// many vpmaddubsw results (quads) may be added in 16 bits: each pair is at most 2 * 127 * the
// largest level, and the sum must stay <= 32767 (a power of two dividing the sub-block's quads).
constexpr int quads_in_16_bits(int quads, int max_level) {
    while (quads > 1 && quads * 2 * 127 * max_level > 32767) quads /= 2;
    return quads;
}
template <void (*Unpack)(const uint8_t*, RowParts&), size_t Bytes, int SubBlocks, bool kOffset, int MaxLevel>
struct KQuant {
    static constexpr size_t kBytes = Bytes;
    static constexpr int kSubBlocks = SubBlocks;
    static constexpr int kQuadsPerSub = 64 / SubBlocks;
    static constexpr int kQuadsIn16 = quads_in_16_bits(kQuadsPerSub, MaxLevel);
    static constexpr bool kOffsetLevels = kOffset;
    static void unpack(const uint8_t* p, RowParts& k) { Unpack(p, k); }
};
using Q2K = KQuant<unpack_q2k, sizeof(quant::BlockQ2_K), 16, false, 3>;
using Q3K = KQuant<unpack_q3k, sizeof(quant::BlockQ3_K), 16, true, 7>;
using Q4K = KQuant<unpack_q45k<false>, sizeof(quant::BlockQ4_K), 8, false, 15>;
using Q5K = KQuant<unpack_q45k<true>, sizeof(quant::BlockQ5_K), 8, false, 31>;
using Q6K = KQuant<unpack_q6k, sizeof(quant::BlockQ6_K), 16, true, 63>;
static_assert(Q2K::kQuadsIn16 == 4 && Q3K::kQuadsIn16 == 4 && Q4K::kQuadsIn16 == 8 && Q5K::kQuadsIn16 == 4 &&
              Q6K::kQuadsIn16 == 2, "16-bit sums of at most 32767");

// Transposes one register of each row into out[0..7].
template <typename Pick>
inline __attribute__((always_inline)) void store_turned(const RowParts* rows, Pick pick, void* out) {
    __m256i in[kGroupRows], turned[8];
    for (int r = 0; r < kGroupRows; ++r) in[r] = pick(rows[r]);
    transpose8(in, turned);
    for (int q = 0; q < 8; ++q) _mm256_storeu_si256(static_cast<__m256i*>(out) + q, turned[q]);
}

// Unpacks super-block b of the group's rows (n_rows of them, the rest zero) into out.
template <typename K>
void pack_super_block(const uint8_t* src, size_t src_stride, int64_t n_rows, int64_t b, PackedSuperBlock& out) {
    RowParts rows[kGroupRows];
    for (int r = 0; r < kGroupRows; ++r) {
        if (r < n_rows)
            K::unpack(src + size_t(r) * src_stride + size_t(b) * K::kBytes, rows[r]);
        else
            rows[r] = RowParts{};
        out.d[r] = rows[r].d;
        out.bsum_scale[r] = rows[r].bsum_scale;
    }
    for (int c = 0; c < 8; ++c) store_turned(rows, [c](const RowParts& k) { return k.levels[c]; }, out.levels[8 * c]);
    for (int h = 0; h < K::kSubBlocks / 8; ++h)
        store_turned(rows, [h](const RowParts& k) { return k.scales[h]; }, out.scales[8 * h]);
    store_turned(rows, [](const RowParts& k) { return k.bsum_mult; }, out.bsum_mult[0]);
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

// Eight rows (one packed group of nb super-blocks) x T tokens; row r of token t goes to
// y[t * ldy + r] for r < n_rows.
template <typename K, int T>
void group_tile(const PackedSuperBlock* group, int64_t nb, const Q8BlockK* const* tokens, float* y, int64_t ldy,
                int64_t n_rows) {
    __m256 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const PackedSuperBlock& p = group[b];
        const Q8BlockK* a[T];
        for (int t = 0; t < T; ++t) a[t] = tokens[t] + b;
        __m256i sums[T];
#pragma GCC unroll 16
        for (int j = 0; j < K::kSubBlocks; ++j) {
#pragma GCC unroll 8
            for (int g = 0; g < K::kQuadsPerSub / K::kQuadsIn16; ++g) {
                const int q0 = j * K::kQuadsPerSub + g * K::kQuadsIn16;
                __m256i part[T];
#pragma GCC unroll 8
                for (int q = 0; q < K::kQuadsIn16; ++q) {
                    const __m256i w = load256(p.levels[q0 + q]);
                    for (int t = 0; t < T; ++t) {
                        const __m256i prod = _mm256_maddubs_epi16(w, broadcast_quad(a[t]->qs + 4 * (q0 + q)));
                        part[t] = q == 0 ? prod : _mm256_add_epi16(part[t], prod);
                        keep_in_register(part[t]);
                    }
                }
                const __m256i scale = load256(p.scales[j]);
                for (int t = 0; t < T; ++t) {
                    const __m256i s = _mm256_madd_epi16(part[t], scale);
                    sums[t] = j == 0 && g == 0 ? s : _mm256_add_epi32(sums[t], s);
                    keep_in_register(sums[t]);
                }
            }
        }
        __m256i bsum_terms[T];
#pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) {
            const __m256i m = load256(p.bsum_mult[i]);
            for (int t = 0; t < T; ++t) {
                const __m256i term = _mm256_madd_epi16(m, broadcast_quad(a[t]->bsums + 2 * i));
                bsum_terms[t] = i == 0 ? term : _mm256_add_epi32(bsum_terms[t], term);
                keep_in_register(bsum_terms[t]);
            }
        }
        const __m256 d = _mm256_loadu_ps(p.d);
        for (int t = 0; t < T; ++t) {
            const __m256 da = _mm256_set1_ps(a[t]->d);
            if constexpr (K::kOffsetLevels) {
                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(sums[t], bsum_terms[t])),
                                         _mm256_mul_ps(d, da), acc[t]);
            } else {
                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[t]), _mm256_mul_ps(d, da), acc[t]);
                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(bsum_terms[t]),
                                         _mm256_mul_ps(_mm256_loadu_ps(p.bsum_scale), da), acc[t]);
            }
        }
    }
    store_rows8(acc, y, ldy, n_rows);
}

template <typename K>
struct RowsInLanes {
    using Group = PackedSuperBlock;
    using Activation = Q8BlockK;
    // Five tokens a tile: their sums, 16-bit parts and outputs take 15 of the 16 registers (the
    // outputs spill, but are touched once per super-block). Measured on AMD EPYC (Q2_K..Q6_K, 64
    // rows x 2048 columns x 128 tokens, one thread): 3-12% faster than tiles of 4, and than 6.
    static constexpr int kGroupRows = detail::kGroupRows, kTokenTile = 5, kBlockColumns = 256;
    template <int T>
    static void tile(const Group* group, int64_t nb, const Activation* const* tokens, float* y, int64_t ldy,
                     int64_t n_rows) {
        group_tile<K, T>(group, nb, tokens, y, ldy, n_rows);
    }
};

}  // namespace

void register_avx2_kquants_packed(IsaTable& t) {
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
void register_avx2_kquants_packed(IsaTable&) {}
}  // namespace dilmodeli::kernels::detail
#endif
