#pragma once
// What the kernel tests share: random matrices of every type, the instruction-set guard, and
// which batches keep each token's bits.
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "quant/quant_type.h"

namespace dilmodeli::test {

using kernels::WeightMatrix;
using quant::TypeId;

// Restores the best instruction set when a test ends.
struct IsaGuard {
    ~IsaGuard() { kernels::force_isa(kernels::available_isas().front()); }
};

inline std::vector<float> random_values(size_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
}

struct Quantized {
    std::vector<uint8_t> bytes;
    WeightMatrix w;
};

inline Quantized quantize_matrix(const quant::TypeInfo& info, int64_t rows, int64_t cols, uint32_t seed) {
    // Rows of different magnitudes, so that a mixed-up row scale cannot pass.
    Quantized q;
    const size_t row_bytes = info.row_bytes(cols);
    q.bytes.resize(row_bytes * size_t(rows));
    for (int64_t r = 0; r < rows; ++r) {
        const auto src = random_values(size_t(cols), seed + uint32_t(r), 0.5f + float(r % 5));
        info.quantize_row(src.data(), q.bytes.data() + size_t(r) * row_bytes, cols, nullptr);
    }
    q.w.type = info.id;
    q.w.data = q.bytes.data();
    q.w.rows = rows;
    q.w.cols = cols;
    q.w.row_bytes = row_bytes;
    return q;
}

// Instruction sets whose float batches are outer products: each output one fused chain.
inline bool has_outer_float_batches(const std::string& isa) { return isa == "avx512" || isa == "avx2"; }

// The 32-element block types whose AVX2 batches run with eight rows in the lanes of a register
// (legacy_packed_avx2.cpp): exact integer sums per block, then one multiply-add per block.
inline bool is_rows_in_lanes_legacy(TypeId type) {
    return type == TypeId::Q4_0 || type == TypeId::Q4_1 || type == TypeId::Q5_0 || type == TypeId::Q5_1 ||
           type == TypeId::Q8_0 || type == TypeId::IQ4_NL;
}

inline bool is_k_quant(TypeId type) {
    return type == TypeId::Q2_K || type == TypeId::Q3_K || type == TypeId::Q4_K || type == TypeId::Q5_K ||
           type == TypeId::Q6_K;
}

// Whether a batch of n_tokens of this type adds in another order than its tokens one at a time:
// float batches by outer products (one fused chain per output), and AVX-512's K-quant batches
// (rows in the lanes, exact integer sums per super-block). Both take batches of more than 8
// tokens (kWholeBatch in kernels/matmul.cpp); smaller ones keep the tokens' bits.
inline bool batch_has_own_order(TypeId type, const std::string& isa, int64_t n_tokens) {
    const bool own_kernel = (quant::type_info(type).is_float && has_outer_float_batches(isa)) ||
                            (is_k_quant(type) && (isa == "avx512" || isa == "avx2")) ||
                            (is_rows_in_lanes_legacy(type) && isa == "avx2");
    return own_kernel && n_tokens > 8;
}

// One token's activations as the integer kernels quantize them: per block of `block` elements
// d = max|x| / 127 and q = x * (1 / d) rounded to nearest even, with the sum of each block's q.
struct QuantizedToken {
    std::vector<float> d;
    std::vector<int> q, sum;
};

inline QuantizedToken quantize_token(const float* x, int64_t cols, int64_t block) {
    QuantizedToken a;
    for (int64_t b = 0; b < cols / block; ++b) {
        float amax = 0.0f;
        for (int64_t i = 0; i < block; ++i) amax = std::fmax(amax, std::fabs(x[b * block + i]));
        const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        a.d.push_back(d);
        int sum = 0;
        for (int64_t i = 0; i < block; ++i) {
            a.q.push_back(int(std::nearbyint(x[b * block + i] * id)));
            sum += a.q.back();
        }
        a.sum.push_back(sum);
    }
    return a;
}

inline std::vector<const quant::TypeInfo*> quantizable_types() {
    std::vector<const quant::TypeInfo*> types;
    for (const auto& t : quant::all_types())
        if (t.quantize_row && t.dequantize_row) types.push_back(&t);
    return types;
}

// Whether `batch` (or, when null, matmul of all n_tokens at once) holds the bits that matmul
// gives each token alone.
inline bool batch_matches_single_tokens(const WeightMatrix& w, const std::vector<float>& x, int64_t n_tokens,
                                 const float* batch = nullptr) {
    std::vector<float> whole(size_t(n_tokens * w.rows)), single(whole.size());
    if (batch == nullptr) {
        kernels::matmul(w, x.data(), n_tokens, whole.data());
        batch = whole.data();
    }
    for (int64_t t = 0; t < n_tokens; ++t) kernels::matmul(w, &x[size_t(t * w.cols)], 1, &single[size_t(t * w.rows)]);
    return std::memcmp(batch, single.data(), single.size() * sizeof(float)) == 0;
}

}  // namespace dilmodeli::test
