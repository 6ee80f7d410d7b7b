// AVX2 products of interleaved Q4_0, IQ4_NL and Q8_0 rows (layout: interleaved_layout.cpp):
// eight rows in the lanes of a register, for one token as for a batch.
//
// A block of eight rows costs one broadcast of four activations per quad for all eight rows,
// one vpmaddubsw per quad, and a single conversion and multiply-add at its end; the row-at-a-time
// kernel (legacy_avx2.cpp) pays an unpack, a vpmaddwd, a conversion, a scale and a multiply-add
// per row and block, and a horizontal sum per output. Nibbles unpack with two instructions per
// quad pair, so batches read the stored bytes directly instead of an unpacked copy.
#include "kernels/kernel_table.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include "kernels/lanes_avx2_local.h"
#include "kernels/packed_gemm_local.h"
#include "kernels/tu_local.h"
#include "quant/block_layouts.h"
#include "quant/quant_type.h"

namespace dilmodeli::kernels::detail {
namespace {

// One block of a group of eight rows, as interleaved_layout.cpp lays it out.
template <int kQuantBytes>
struct GroupBlock {
    uint16_t d[8];
    uint8_t quads[kQuantBytes / 4][8][4];
};
static_assert(sizeof(GroupBlock<16>) == 8 * 18 && sizeof(GroupBlock<32>) == 8 * 34, "a group keeps its bytes");

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// The levels of elements 4q..4q+3 of each row (one per lane), from nibbles: quads 0..3 are the
// low nibbles of stored quads 0..3 (elements 0..15), quads 4..7 their high nibbles (16..31).
inline __m256i nibble_quad(const GroupBlock<16>& b, int q) {
    const __m256i raw = load256(b.quads[q & 3]);
    return _mm256_and_si256(q < 4 ? raw : _mm256_srli_epi16(raw, 4), _mm256_set1_epi8(0x0f));
}

// kSigned: levels are signed bytes, multiplied by the sign trick (|level| against the
// activations with the level's sign), one vpmaddwd per quad since a pair of products can reach
// 2 * 128 * 127; else unsigned nibbles whose eight quads sum in 16 bits (8 * 2 * 15 * 127).
struct Q4_0 {
    using Block = GroupBlock<16>;
    static constexpr bool kSigned = false;
    static constexpr int kOffset = -8;
    static __m256i quad(const Block& b, int q) { return nibble_quad(b, q); }
};
struct IQ4_NL {
    using Block = GroupBlock<16>;
    static constexpr bool kSigned = true;
    static constexpr int kOffset = 0;
    static __m256i quad(const Block& b, int q) {
        const __m256i table =
            _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(quant::kIq4nlValues)));
        return _mm256_shuffle_epi8(table, nibble_quad(b, q));
    }
};
struct Q8_0 {
    using Block = GroupBlock<32>;
    static constexpr bool kSigned = true;
    static constexpr int kOffset = 0;
    static __m256i quad(const Block& b, int q) { return load256(b.quads[q]); }
};

// Eight rows x T tokens: per block S (exact), then acc = fma(float(S), d * da, acc). Quads
// outside, tokens inside: a quad's levels are decoded once for the tile of tokens.
template <typename W, int T>
void group_tile(const typename W::Block* group, int64_t nb, const Q8Block32* const* tokens, float* y, int64_t ldy,
                int64_t n_rows) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const typename W::Block& block = group[b];
        __m256i sums[T];
        if constexpr (W::kSigned) {
            for (int t = 0; t < T; ++t) sums[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
            for (int q = 0; q < 8; ++q) {
                const __m256i w = W::quad(block, q), magnitude = _mm256_sign_epi8(w, w);
                for (int t = 0; t < T; ++t) {
                    const __m256i a = _mm256_sign_epi8(broadcast_quad(tokens[t][b].qs + 4 * q), w);
                    sums[t] = _mm256_add_epi32(sums[t], _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, a), ones));
                    keep_in_register(sums[t]);
                }
            }
        } else {
            __m256i pairs[T];
            for (int t = 0; t < T; ++t) pairs[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
            for (int q = 0; q < 8; ++q) {
                const __m256i w = W::quad(block, q);
                for (int t = 0; t < T; ++t) {
                    pairs[t] = _mm256_add_epi16(pairs[t], _mm256_maddubs_epi16(w, broadcast_quad(tokens[t][b].qs + 4 * q)));
                    keep_in_register(pairs[t]);
                }
            }
            for (int t = 0; t < T; ++t)
                sums[t] = _mm256_add_epi32(_mm256_madd_epi16(pairs[t], ones),
                                           _mm256_set1_epi32(W::kOffset * tokens[t][b].sum));
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block.d)));
        for (int t = 0; t < T; ++t)
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[t]), _mm256_mul_ps(d, _mm256_set1_ps(tokens[t][b].d)), acc[t]);
    }
    store_rows8(acc, y, ldy, n_rows);
}

template <typename W>
struct Interleaved {
    using Group = typename W::Block;
    using Activation = Q8Block32;
    // The tokens' sums and outputs, a quad, its magnitude, a broadcast and the ones within sixteen
    // registers.
    static constexpr int kGroupRows = 8, kTokenTile = W::kSigned ? 5 : 6, kBlockColumns = 32;
    template <int T>
    static void tile(const Group* group, int64_t nb, const Activation* const* tokens, float* y, int64_t ldy,
                     int64_t n_rows) {
        group_tile<W, T>(group, nb, tokens, y, ldy, n_rows);
    }
};

}  // namespace

void register_avx2_interleaved(IsaTable& t) {
    auto set = [&t](quant::TypeId id, GemmFn groups) {
        const TypeKernel& rows = t.types[int(id)];
        if (rows.quantize != quantize_q8_block32_avx2) return;  // the tail rows read the same activations
        TypeKernel& k = t.interleaved[int(id)];
        k.act_bytes = q8_block32_bytes;
        k.quantize = quantize_q8_block32_avx2;
        k.gemm = groups;
        k.gemm_tail_rows = rows.gemm;
        t.prefers_interleaved[int(id)] = true;
    };
    set(quant::TypeId::Q4_0, gemm_packed_groups<Interleaved<Q4_0>>);
    set(quant::TypeId::IQ4_NL, gemm_packed_groups<Interleaved<IQ4_NL>>);
    set(quant::TypeId::Q8_0, gemm_packed_groups<Interleaved<Q8_0>>);
}

}  // namespace dilmodeli::kernels::detail

#else
namespace dilmodeli::kernels::detail {
void register_avx2_interleaved(IsaTable&) {}
}  // namespace dilmodeli::kernels::detail
#endif
