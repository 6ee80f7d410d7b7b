// Batches of the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) on AVX2, with
// eight rows in the lanes of a register.
//
// The tile kernel of legacy_avx2.cpp spends most of a batch's time around its products: each row
// and token pays a vpmaddwd, a conversion and a multiply-add per block, each row unpacks its
// nibbles again for every pair of tokens, and every output ends in a horizontal sum (110M Q4_0
// prompts ran at 0.64x llama.cpp's speed on AVX2-only CPUs). Here each block of rows a task
// takes is unpacked once into PackedBlocks: one byte per level, four consecutive levels of eight
// rows in a register, the rows' scales side by side. A token's four activations are broadcast to
// the eight rows, so one vpmaddubsw does 32 multiply-adds whose sums belong to one row each, and
// a block ends in one conversion and one multiply-add for eight rows:
//   S = sum over the block of level * q          (exact, in integers; + offset * sum(q))
//   acc = fma(float(S), d * da, acc)              per block, in order
//   acc = fma(m, da * float(sum(q)), acc)         for the types with a min (Q4_1, Q5_1)
// da being the activations' scale. The tile kernel sums its lanes in another order, so a batch's
// outputs may differ from its tokens' in the last bits, as other batch kernels' do.
#include "kernels/kernel_table.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include "kernels/lanes_avx2_local.h"
#include "kernels/legacy_avx2_local.h"
#include "kernels/packed_gemm_local.h"
#include "kernels/tu_local.h"
#include "quant/block_layouts.h"
#include "quant/quant_type.h"

namespace dilmodeli::kernels::detail {
namespace {

constexpr int kGroupRows = 8;  // rows of a packed group: one per 32-bit lane

// One 32-element block of a group of eight rows: quad q holds each row's levels of elements
// 4q..4q+3 (unsigned for the types with an offset or a min, signed for Q8_0 and IQ4_NL).
template <bool kHasMin>
struct alignas(32) PackedBlock {
    int8_t levels[8][kGroupRows][4];
    float d[kGroupRows];
    float m[kGroupRows];
};
template <>
struct alignas(32) PackedBlock<false> {
    int8_t levels[8][kGroupRows][4];
    float d[kGroupRows];
};
static_assert(sizeof(PackedBlock<false>) % kGroupRows == 0 && sizeof(PackedBlock<true>) % kGroupRows == 0,
              "whole bytes per row");

// How many vpmaddubsw sums of unsigned levels fit in 16 bits (a pair of products is at most
// 2 * max level * 127), at most the block's eight quads; signed levels take one each.
template <typename W>
constexpr int quads_per_16() {
    if constexpr (W::kSigned) return 1;
    const int fit = 32767 / (2 * W::kMaxLevel * 127);
    return fit < 8 ? fit : 8;
}

template <typename W>
size_t packed_row_bytes(int64_t cols) {
    return size_t(cols / 32) * sizeof(PackedBlock<W::kHasMin>) / kGroupRows;
}

template <typename W>
void pack_rows(const uint8_t* src, size_t src_stride, uint8_t* dst, size_t dst_stride, int64_t n_rows, int64_t cols) {
    using Block = PackedBlock<W::kHasMin>;
    const int64_t nb = cols / 32;
    for (int64_t g0 = 0; g0 < n_rows; g0 += kGroupRows) {
        auto* group = reinterpret_cast<Block*>(dst + size_t(g0) * dst_stride);
        const int64_t rows = min_i64(kGroupRows, n_rows - g0);
        for (int64_t b = 0; b < nb; ++b) {
            __m256i levels[kGroupRows], turned[8];
            Block& out = group[b];
            for (int r = 0; r < kGroupRows; ++r) {
                if (r < rows) {
                    const Levels l = W::unpack(src + size_t(g0 + r) * src_stride + size_t(b) * sizeof(typename W::Block));
                    levels[r] = l.levels;
                    out.d[r] = l.d;
                    if constexpr (W::kHasMin) out.m[r] = l.m;
                } else {
                    levels[r] = _mm256_setzero_si256();
                    out.d[r] = 0.0f;
                    if constexpr (W::kHasMin) out.m[r] = 0.0f;
                }
            }
            transpose8(levels, turned);
            for (int q = 0; q < 8; ++q) _mm256_store_si256(reinterpret_cast<__m256i*>(out.levels[q]), turned[q]);
        }
    }
}

// Eight rows (one packed group of nb blocks) x T tokens; row r of token t goes to y[t * ldy + r]
// for r < n_rows.
template <typename W, int T>
void group_tile(const PackedBlock<W::kHasMin>* group, int64_t nb, const Q8Block32* const* tokens, float* y,
                int64_t ldy, int64_t n_rows) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const auto& p = group[b];
        __m256i sums[T];
        for (int t = 0; t < T; ++t) sums[t] = _mm256_setzero_si256();
        if constexpr (W::kSigned) {
#pragma GCC unroll 8
            for (int q = 0; q < 8; ++q) {
                const __m256i w = _mm256_load_si256(reinterpret_cast<const __m256i*>(p.levels[q]));
                const __m256i magnitude = _mm256_sign_epi8(w, w);
                for (int t = 0; t < T; ++t) {
                    const __m256i a = _mm256_sign_epi8(broadcast_quad(tokens[t][b].qs + 4 * q), w);
                    sums[t] = _mm256_add_epi32(sums[t], _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, a), ones));
                    keep_in_register(sums[t]);
                }
            }
        } else {
            constexpr int kQuads = quads_per_16<W>();
#pragma GCC unroll 2
            for (int q0 = 0; q0 < 8; q0 += kQuads) {
                __m256i pairs[T];
                for (int t = 0; t < T; ++t) pairs[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
                for (int q = q0; q < q0 + kQuads; ++q) {
                    const __m256i w = _mm256_load_si256(reinterpret_cast<const __m256i*>(p.levels[q]));
                    for (int t = 0; t < T; ++t) {
                        pairs[t] = _mm256_add_epi16(pairs[t],
                                                    _mm256_maddubs_epi16(w, broadcast_quad(tokens[t][b].qs + 4 * q)));
                        keep_in_register(pairs[t]);
                    }
                }
                for (int t = 0; t < T; ++t) sums[t] = _mm256_add_epi32(sums[t], _mm256_madd_epi16(pairs[t], ones));
            }
        }
        const __m256 d = _mm256_load_ps(p.d);
        for (int t = 0; t < T; ++t) {
            const Q8Block32& a = tokens[t][b];
            if constexpr (W::kOffset != 0) sums[t] = _mm256_add_epi32(sums[t], _mm256_set1_epi32(W::kOffset * a.sum));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[t]), _mm256_mul_ps(d, _mm256_set1_ps(a.d)), acc[t]);
            if constexpr (W::kHasMin)
                acc[t] = _mm256_fmadd_ps(_mm256_load_ps(p.m), _mm256_set1_ps(a.d * float(a.sum)), acc[t]);
        }
    }
    store_rows8(acc, y, ldy, n_rows);
}

// Tokens a tile: their sums and outputs, the weights, the ones and a broadcast in 16 registers.
template <typename W>
constexpr int token_tile() {
    return W::kSigned ? 5 : quads_per_16<W>() == 8 ? 6 : 4;
}

template <typename W>
struct RowsInLanes {
    using Group = PackedBlock<W::kHasMin>;
    using Activation = Q8Block32;
    static constexpr int kGroupRows = detail::kGroupRows, kTokenTile = token_tile<W>(), kBlockColumns = 32;
    template <int T>
    static void tile(const Group* group, int64_t nb, const Activation* const* tokens, float* y, int64_t ldy,
                     int64_t n_rows) {
        group_tile<W, T>(group, nb, tokens, y, ldy, n_rows);
    }
};

}  // namespace

void register_avx2_legacy_packed(IsaTable& t) {
    auto set = [&t](quant::TypeId id, PackRowsFn pack, GemmFn gemm, PackedRowBytesFn bytes) {
        TypeKernel& k = t.types[int(id)];
        if (!k.gemm) return;
        k.pack_rows = pack;
        k.gemm_packed = gemm;
        k.packed_row_bytes = bytes;
        k.packed_row_group = kGroupRows;
    };
    set(quant::TypeId::Q4_0, pack_rows<Q4_0>, gemm_packed_groups<RowsInLanes<Q4_0>>, packed_row_bytes<Q4_0>);
    set(quant::TypeId::Q4_1, pack_rows<Q4_1>, gemm_packed_groups<RowsInLanes<Q4_1>>, packed_row_bytes<Q4_1>);
    set(quant::TypeId::Q5_0, pack_rows<Q5_0>, gemm_packed_groups<RowsInLanes<Q5_0>>, packed_row_bytes<Q5_0>);
    set(quant::TypeId::Q5_1, pack_rows<Q5_1>, gemm_packed_groups<RowsInLanes<Q5_1>>, packed_row_bytes<Q5_1>);
    set(quant::TypeId::Q8_0, pack_rows<Q8_0>, gemm_packed_groups<RowsInLanes<Q8_0>>, packed_row_bytes<Q8_0>);
    set(quant::TypeId::IQ4_NL, pack_rows<IQ4_NL>, gemm_packed_groups<RowsInLanes<IQ4_NL>>, packed_row_bytes<IQ4_NL>);
}

}  // namespace dilmodeli::kernels::detail

#else
namespace dilmodeli::kernels::detail {
void register_avx2_legacy_packed(IsaTable&) {}
}  // namespace dilmodeli::kernels::detail
#endif
