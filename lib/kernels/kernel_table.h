#pragma once
// Internal to lib/kernels: what one instruction set provides for each weight type, and the
// quantized activation layouts its kernels read. Only plain data and declarations live here:
// this header is included by files compiled for different instruction sets, so an inline
// function defined here could be emitted with AVX-512 code and then picked by the linker for a
// baseline caller.
#include <cstddef>
#include <cstdint>

namespace dilmodeli::kernels {
struct WeightMatrix;
}

namespace dilmodeli::kernels::detail {

// One tile of output: y[t * ldy + r] = dot(weight row r, activation row t) for r < nr, t < nt.
struct GemmArgs {
    const uint8_t* w;     // weight row 0
    size_t w_stride;      // bytes between weight rows
    int64_t nr;
    const uint8_t* act;   // activation row 0: the float row itself or its quantized form
    size_t act_stride;    // bytes between activation rows
    int64_t nt;
    int64_t n;            // columns (elements per row)
    float* y;
    int64_t ldy;
};

using GemmFn = void (*)(const GemmArgs& args);
// Bytes of the quantized form of one activation row of n columns.
using ActBytesFn = size_t (*)(int64_t n);
// Quantizes one activation row of n columns into `out` (act_bytes(n) bytes).
using QuantizeActFn = void (*)(const float* x, int64_t n, void* out);

// Copies n_rows weight rows of cols columns (src_stride bytes apart) into dst (dst_stride =
// PackedRowBytesFn(cols) bytes per row) in the order the instruction set's packed kernel reads.
// Where rows pack together in groups (TypeKernel::packed_row_group), dst holds n_rows rounded up
// to whole groups, the missing rows zero.
using PackRowsFn = void (*)(const uint8_t* src, size_t src_stride, uint8_t* dst, size_t dst_stride, int64_t n_rows,
                            int64_t cols);
using PackedRowBytesFn = size_t (*)(int64_t cols);

// A batch by outer products, for float weight types: y[t * ldy + r] for r < nr, t < nt, where
// each output is one chain of fused multiply-adds over the columns in order, starting from
// zero. The activations arrive transposed (xt[i * xt_stride + t]; tokens nt..xt_stride-1 are
// zero and xt_stride is a multiple of kOuterTokenAlign). scratch holds
// kOuterTileRows * kOuterDepth + nr * xt_stride floats, 64-byte aligned.
struct OuterArgs {
    const uint8_t* w;
    size_t w_stride;
    int64_t nr;
    const float* xt;
    int64_t xt_stride;
    int64_t nt;
    int64_t n;
    float* y;
    int64_t ldy;
    float* scratch;
};
constexpr int64_t kOuterTokenAlign = 16;
constexpr int64_t kOuterTileRows = 12;
constexpr int64_t kOuterDepth = 256;  // columns per pass: a tile's weights stay in L1
using OuterFn = void (*)(const OuterArgs& args);

// For each set s < n_sets: out[s * cols + i] = sum over r < n_rows, in order, of
// weights[s * n_rows + r] * row r's element i, for i < cols: one fused multiply-add chain per
// output, from zero (rows `stride` bytes apart). The sets share every load of a row, as the
// query heads of one KV head share its values.
using WeightedRowSumFn = void (*)(const uint8_t* rows, size_t stride, const float* weights, int64_t n_sets,
                                  int64_t n_rows, int64_t cols, float* out);

// How one instruction set multiplies one weight type. act_bytes/quantize are null when the
// kernel reads float activations directly. Each output element is one sequential dot product
// whose arithmetic does not depend on the tile it was computed in, so any split of the work
// gives the same bits. The batch kernels (gemm_packed, gemm_outer) may add in another order
// than gemm, so a batch of more than a few tokens need not give its tokens' bits; they too give
// the same bits however the rows and tokens are split.
struct TypeKernel {
    ActBytesFn act_bytes = nullptr;
    QuantizeActFn quantize = nullptr;
    GemmFn gemm = nullptr;  // null: this instruction set has no kernel for the type
    // Optional: a packed weight layout that gemm_packed reads with fewer shuffles, for batches
    // (each block of rows is packed once into scratch, then read once per tile of tokens).
    PackRowsFn pack_rows = nullptr;
    GemmFn gemm_packed = nullptr;
    // Optional, for batches of float weights (see OuterArgs); gemm still serves small batches.
    OuterFn gemm_outer = nullptr;
    // Optional, for float types: see WeightedRowSumFn.
    WeightedRowSumFn weighted_row_sum = nullptr;
    // With pack_rows: bytes per packed row, and how many rows pack together.
    PackedRowBytesFn packed_row_bytes = nullptr;
    int64_t packed_row_group = 1;
    // Only in IsaTable::interleaved: gemm reads whole groups of kInterleaveRows rows stored
    // interleaved (interleaved_layout.cpp), this the rows after the last group, as stored.
    GemmFn gemm_tail_rows = nullptr;
};

constexpr int kTypeSlots = 40;  // > every quant::TypeId value

// gate[i] = silu(gate[i]) * up[i] (SwiGLU's activation), i < n.
using SiluMultiplyFn = void (*)(float* gate, const float* up, int64_t n);
// x[i] = exp(x[i] - max) / sum over i < n, n >= 1.
using SoftmaxFn = void (*)(float* x, int64_t n);
// x[i] = x[i] rounded to the nearest half (ties to even) and widened back, i < n.
using RoundToHalfFn = void (*)(float* x, int64_t n);
// out[i] = x[i] rounded to the nearest half (ties to even), i < n.
using FloatToHalfFn = void (*)(const float* x, uint16_t* out, int64_t n);

struct IsaTable {
    const char* name = "";
    TypeKernel types[kTypeSlots];
    // Kernels of matrices whose rows were interleaved at load (WeightMatrix::interleaved), and
    // whether this instruction set reads a type faster that way (then the loader interleaves).
    TypeKernel interleaved[kTypeSlots];
    bool prefers_interleaved[kTypeSlots] = {};
    SiluMultiplyFn silu_multiply = nullptr;  // null: the scalar one
    SoftmaxFn softmax = nullptr;             // null: the scalar one
    RoundToHalfFn round_to_half = nullptr;   // null: the scalar one
    FloatToHalfFn float_to_half = nullptr;   // null: the scalar one
};

// ---- Activation layouts -------------------------------------------------------------------

// 32 activations as q * d, |q| <= 127; sum = sum of qs. Used by the scalar and AVX2 kernels of
// the 32-element block types.
struct Q8Block32 {
    float d;
    int32_t sum;
    int8_t qs[32];
};
static_assert(sizeof(Q8Block32) == 40, "Q8Block32 layout");

// 256 activations as q * d with the sum of each 16 in bsums. Used by every K-quant and TQ2_0
// kernel, whatever the instruction set. bsums follow the elements' order; a kernel may keep qs
// in the order its weights unpack into (AVX-512 Q4_K/Q5_K do, with their own quantizer).
struct Q8BlockK {
    float d;
    int16_t bsums[16];
    int8_t qs[256];
};
static_assert(sizeof(Q8BlockK) == 292, "Q8BlockK layout");

// 16 blocks of 32 activations transposed for AVX-512 VNNI: lane p holds block kGroupLaneBlock[p]
// of the group, and qs[s][p] its elements 4s..4s+3, so one vpdpbusd per slot s sums 16 blocks
// at once. negsum = -(sum of the block's qs), d its scale. Missing blocks (row tail) are zero,
// but a last group of at most 8 blocks repeats them in the lanes of blocks 8..15.
struct alignas(64) Q8Group16 {
    int8_t qs[8][16][4];
    int32_t negsum[16];
    float d[16];
};
static_assert(sizeof(Q8Group16) == 640, "Q8Group16 layout");
// Block of the group held by lane p (the 4x4 dword transpose used to gather weight blocks).
constexpr int kGroupLaneBlock[16] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};

// ---- Per instruction set ------------------------------------------------------------------

// Fill the rows of `table` the file provides. Call an AVX function only after the CPU has been
// checked (dispatch.cpp).
void register_scalar_float(IsaTable& table);
void register_scalar_legacy(IsaTable& table);
void register_scalar_kquants(IsaTable& table);
void register_avx2_float(IsaTable& table);
void register_avx2_legacy(IsaTable& table);
void register_avx2_kquants(IsaTable& table);
void register_avx2_legacy_packed(IsaTable& table);   // after register_avx2_legacy
void register_avx2_kquants_packed(IsaTable& table);  // after register_avx2_kquants
void register_avx512_float(IsaTable& table);
void register_avx512_legacy(IsaTable& table);
void register_avx512_kquants(IsaTable& table);
void register_avx512_kquants_packed(IsaTable& table);  // after register_avx512_kquants
void register_neon(IsaTable& table);
void register_scalar_interleaved(IsaTable& table);  // the reference; after register_scalar_legacy
void register_avx2_interleaved(IsaTable& table);    // after register_avx2_legacy

// The scalar activations (activation.cpp), the fallbacks of every table.
void silu_multiply_scalar(float* gate, const float* up, int64_t n);
void softmax_scalar(float* x, int64_t n);
void round_to_half_scalar(float* x, int64_t n);
void float_to_half_scalar(const float* x, uint16_t* out, int64_t n);

// Baseline activation quantizers (any instruction set may use them).
size_t q8_block32_bytes(int64_t n);
void quantize_q8_block32_scalar(const float* x, int64_t n, void* out);
size_t q8_block_k_bytes(int64_t n);
void quantize_q8_block_k_scalar(const float* x, int64_t n, void* out);

// AVX2 activation quantizers (legacy_avx2.cpp; same layouts as the scalar ones).
void quantize_q8_block32_avx2(const float* x, int64_t n, void* out);
void quantize_q8_block_k_avx2(const float* x, int64_t n, void* out);

// Row r of w as stored in the file, whether or not w is interleaved (w.row_bytes into out).
void stored_row(const WeightMatrix& w, int64_t r, uint8_t* out);

// The active table and its name (dispatch.cpp); the scalar table is the fallback for missing
// rows.
const IsaTable& active_table();
const IsaTable& scalar_table();

}  // namespace dilmodeli::kernels::detail
