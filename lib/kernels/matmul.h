#pragma once
// Matrix products of stored (possibly quantized) weights with float activations: the hot spot
// of inference. Weights stay in their stored type; activations are converted once per call to
// whatever the weight type's dot product wants (float, or 8-bit blocks).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "quant/quant_type.h"


namespace dilmodeli::kernels {

// Rows per group of an interleaved matrix.
constexpr int64_t kInterleaveRows = 8;

// A 2-D weight: `rows` rows of `cols` elements, each row `row_bytes` bytes in `type`.
// Interleaved (interleave_rows): each group of kInterleaveRows rows holds the same bytes as
// before, in the order an instruction set reads them, and row(r) is only the start of a group
// (r a multiple of kInterleaveRows) or one of the rows after the last group, which stay as stored.
struct WeightMatrix {
    quant::TypeId type = quant::TypeId::F32;
    const uint8_t* data = nullptr;
    int64_t rows = 0;
    int64_t cols = 0;
    size_t row_bytes = 0;
    bool interleaved = false;

    const uint8_t* row(int64_t r) const { return data + size_t(r) * row_bytes; }
};

// Error(Usage) for a matrix whose rows are not whole blocks of its type.
void check_shape(const WeightMatrix& w);

// y (n_tokens x w.rows, row-major) = x (n_tokens x w.cols, row-major) * w^T.
// Parallel over output rows (and tokens for large batches) with TBB; call it inside a
// tbb::task_arena to bound the threads. Results do not depend on the number of threads.
// y must not overlap x.
void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y);

// Products of several matrices with the same input and column count (a layer's Q, K and V; its
// gate and up): products[i].y = x * products[i].w^T, each with exactly matmul's bits. The input
// is quantized (or, for float batches, transposed) once per form the types read, and all the
// products' tasks run as one parallel loop, so threads meet once instead of once per matrix.
// Products whose column counts differ, an empty matrix, or a type without a kernel make them
// run one after another.
struct Product {
    WeightMatrix w;
    float* y;
};
void matmul_many(const Product* products, int64_t count, const float* x, int64_t n_tokens);

// For each of n_sets sets of weights (w.rows floats each, one after another): a row of
// w.cols floats in out, the rows of w weighted and summed, as attention sums its values for
// each query head of a KV head. Each element is one fused multiply-add chain over the rows in
// order, so every instruction set, and any number of sets, gives the same bits.
void weighted_row_sum(const WeightMatrix& w, const float* weights, int64_t n_sets, float* out);

// Row r of w converted to float (embedding lookup).
void dequantize_row(const WeightMatrix& w, int64_t r, float* out);

// Whether the active instruction set multiplies w faster with its rows interleaved (AVX2 reads
// eight rows of Q4_0, Q8_0 or IQ4_NL in one register: one broadcast of four activations serves
// eight rows), and w has a whole group of rows to interleave.
bool prefers_interleaved(const WeightMatrix& w);
// Rearranges the groups of w's rows in place and marks w interleaved: `bytes` is w.data,
// writable (rows * row_bytes bytes). Products keep their values; every instruction set can
// compute with the result. Error(Usage) for a type without an interleaved layout or a matrix
// already interleaved.
void interleave_rows(WeightMatrix& w, uint8_t* bytes);

// The plain reference: dequantize each row, then a double-accumulated dot product.
void matmul_reference(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y);

// Instruction sets compiled in and supported by this CPU, best first (e.g. {"avx512",
// "avx2", "scalar"}); the first is used unless force_isa() or the environment variable
// DILMODELI_ISA (read once, at the first product) chose another.
std::vector<std::string> available_isas();
std::string active_isa();
// For tests and benchmarks: use the named ISA from now on (must be in available_isas()).
void force_isa(const std::string& name);

}  // namespace dilmodeli::kernels
