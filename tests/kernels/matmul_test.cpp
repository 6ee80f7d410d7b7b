// Matrix products (kernels/matmul.h): every weight type x every instruction set this CPU runs,
// against the double-accumulated reference, plus determinism across threads and calls.
#include <catch2/catch.hpp>

#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "kernels/matmul.h"
#include "support/matmul_support.h"
#include "quant/quant_type.h"

using namespace dilmodeli;
using kernels::WeightMatrix;
using quant::TypeId;
using namespace dilmodeli::test;

namespace {

// Elements per activation scale when the kernels quantize activations to 8 bits (0: they read
// floats): Q8_0-style blocks of 32 for the 32-element types, Q8_K-style blocks of 256 for the
// K-quants and TQ2_0. TQ1_0 has no integer kernel and goes through dequantize + float dot.
int activation_block(TypeId type) {
    switch (type) {
        case TypeId::Q4_0: case TypeId::Q4_1: case TypeId::Q5_0: case TypeId::Q5_1: case TypeId::Q8_0:
        case TypeId::IQ4_NL:
            return 32;
        case TypeId::Q2_K: case TypeId::Q3_K: case TypeId::Q4_K: case TypeId::Q5_K: case TypeId::Q6_K:
        case TypeId::TQ2_0:
            return 256;
        default:
            return 0;
    }
}

// The bound on |y - y_ref| for output (r, t), derived rather than tuned:
// * 8-bit activations: each x_i becomes q_i * d_b with |x_i - q_i d_b| <= d_b / 2 (d_b = block
//   max / 127), so by Cauchy-Schwarz the exact dot product moves by at most
//   ||w_r|| * sqrt(sum_i (d_b(i) / 2)^2); we allow a full step d_b per element to cover rounding
//   of x * (1 / d) against x / d. The integer block sums themselves are exact.
// * float arithmetic: at most `sequential_operations` float additions/multiplications touch
//   each product, each adding a relative error of 2^-24, bounded against sum_i |w_i x_i|.
// For F32/F16/BF16 only the second term applies.
// Quantized types sum partial sums of at least 8 lanes, then reduce the lanes and apply the
// scales: n / 8 + 64 operations. Float batches may be one fused chain over all n columns (the
// outer-product kernels): n + 64.
double sequential_operations(int64_t cols, int block) {
    return block > 0 ? double(cols) / 8.0 + 64.0 : double(cols) + 64.0;
}

double tolerance(const std::vector<float>& w_row, const float* x, int64_t cols, int block) {
    double norm_w = 0, abs_dot = 0, quant_err2 = 0;
    for (int64_t i = 0; i < cols; ++i) {
        norm_w += double(w_row[size_t(i)]) * w_row[size_t(i)];
        abs_dot += std::fabs(double(w_row[size_t(i)]) * x[i]);
    }
    if (block > 0) {
        for (int64_t b = 0; b < cols / block; ++b) {
            double amax = 0;
            for (int j = 0; j < block; ++j) amax = std::fmax(amax, std::fabs(double(x[b * block + j])));
            const double d = amax / 127.0;
            quant_err2 += double(block) * d * d;
        }
    }
    const double float_err = sequential_operations(cols, block) * std::ldexp(1.0, -24) * abs_dot;
    return std::sqrt(norm_w) * std::sqrt(quant_err2) + float_err * (block > 0 ? 2.0 : 1.0) + 1e-30;
}

// Every instruction set quantizes activations with the same formula (d = max / 127, round to
// nearest even of x * (1 / d)), so all of them form the same integer block sums; they differ
// only in the order of float operations. Against the scalar kernels the bound is therefore the
// float term alone (both sides' rounding, hence the factor 2, and the activation's own rounding
// relative to x, hence the second factor 2): far tighter than the bound against the reference,
// so a kernel that mishandles even one block of a 4096-column row fails here.
double cross_isa_tolerance(const std::vector<float>& w_row, const float* x, int64_t cols, int block) {
    double abs_dot = 0;
    for (int64_t i = 0; i < cols; ++i) abs_dot += std::fabs(double(w_row[size_t(i)]) * x[i]);
    return 4.0 * sequential_operations(cols, block) * std::ldexp(1.0, -24) * abs_dot + 1e-30;
}

// y[t][r] as one fused multiply-add chain over the columns in order, from zero.
std::vector<float> fused_chain(const WeightMatrix& w, const std::vector<float>& x, int64_t n_tokens) {
    std::vector<float> y(size_t(n_tokens * w.rows)), row(size_t(w.cols));
    for (int64_t r = 0; r < w.rows; ++r) {
        kernels::dequantize_row(w, r, row.data());
        for (int64_t t = 0; t < n_tokens; ++t) {
            float acc = 0.0f;
            for (int64_t i = 0; i < w.cols; ++i) acc = std::fma(row[size_t(i)], x[size_t(t * w.cols + i)], acc);
            y[size_t(t * w.rows + r)] = acc;
        }
    }
    return y;
}

}  // namespace

TEST_CASE("instruction sets are listed best first and can be forced", "[kernels]") {
    IsaGuard guard;
    const auto isas = kernels::available_isas();
    REQUIRE(!isas.empty());
    CHECK(isas.back() == "scalar");
    CHECK(kernels::active_isa() == isas.front());
    for (const auto& name : isas) {
        kernels::force_isa(name);
        CHECK(kernels::active_isa() == name);
    }
    CHECK_THROWS_AS(kernels::force_isa("no-such-isa"), Error);
}

TEST_CASE("matmul matches the reference for every type and instruction set", "[kernels]") {
    IsaGuard guard;
    const auto isas = kernels::available_isas();
    uint32_t seed = 1;
    for (const quant::TypeInfo* info : quantizable_types()) {
        const int64_t b = info->block_size;
        // 20, 24 and 28 blocks end in a partial group of 4, 8 or 12 blocks (read in place by the
        // AVX-512 kernels); 3 and 19 in one that is copied. 2048 (and 384 floats) make rows of
        // 1-2 KiB, which a single token reads one row at a time.
        std::vector<int64_t> col_counts = {b, 3 * b, 19 * b, 20 * b, 24 * b, 28 * b, 2048, 4096};
        if (b == 1) col_counts = {1, 3, 19, 384, 4096};
        for (int64_t cols : col_counts) {
            for (int64_t rows : {1, 7, 33}) {
                const Quantized q = quantize_matrix(*info, rows, cols, seed += 100);
                std::vector<std::vector<float>> w_rows(static_cast<size_t>(rows),
                                                       std::vector<float>(static_cast<size_t>(cols)));
                for (int64_t r = 0; r < rows; ++r) kernels::dequantize_row(q.w, r, w_rows[size_t(r)].data());
                for (int64_t n_tokens : {1, 3, 17}) {
                    const auto x = random_values(size_t(n_tokens * cols), seed + 7);
                    std::vector<float> expected(size_t(n_tokens * rows));
                    kernels::matmul_reference(q.w, x.data(), n_tokens, expected.data());
                    kernels::force_isa("scalar");
                    std::vector<float> scalar(size_t(n_tokens * rows), std::nanf(""));
                    kernels::matmul(q.w, x.data(), n_tokens, scalar.data());
                    for (const auto& isa : isas) {
                        kernels::force_isa(isa);
                        std::vector<float> y(size_t(n_tokens * rows), std::nanf(""));
                        kernels::matmul(q.w, x.data(), n_tokens, y.data());
                        for (int64_t t = 0; t < n_tokens; ++t)
                            for (int64_t r = 0; r < rows; ++r) {
                                const double tol = cross_isa_tolerance(w_rows[size_t(r)], &x[size_t(t * cols)], cols,
                                                                       activation_block(info->id));
                                const double got = y[size_t(t * rows + r)], want = scalar[size_t(t * rows + r)];
                                if (!(std::fabs(got - want) <= tol)) {
                                    INFO(info->name << " isa " << isa << " vs scalar, rows " << rows << " cols " << cols
                                                    << " tokens " << n_tokens << " at r " << r << " t " << t);
                                    INFO("got " << got << " scalar " << want << " tol " << tol);
                                    FAIL_CHECK("instruction sets disagree");
                                }
                            }
                        for (int64_t t = 0; t < n_tokens; ++t)
                            for (int64_t r = 0; r < rows; ++r) {
                                const double tol = tolerance(w_rows[size_t(r)], &x[size_t(t * cols)], cols,
                                                             activation_block(info->id));
                                const double got = y[size_t(t * rows + r)];
                                const double want = expected[size_t(t * rows + r)];
                                if (!(std::fabs(got - want) <= tol)) {
                                    INFO(info->name << " isa " << isa << " rows " << rows << " cols " << cols
                                                    << " tokens " << n_tokens << " at r " << r << " t " << t);
                                    INFO("got " << got << " want " << want << " tol " << tol);
                                    FAIL_CHECK("outside tolerance");
                                }
                            }
                    }
                }
            }
        }
    }
}

TEST_CASE("matmul is bit-identical across thread counts and calls", "[kernels]") {
    IsaGuard guard;
    const int64_t rows = 260, cols = 2048;
    for (const quant::TypeInfo* info : quantizable_types()) {
        const Quantized q = quantize_matrix(*info, rows, cols, 4242);
        for (int64_t n_tokens : {1, 2, 21}) {
            const auto x = random_values(size_t(n_tokens * cols), 99);
            for (const auto& isa : kernels::available_isas()) {
                kernels::force_isa(isa);
                std::vector<float> one(size_t(n_tokens * rows)), two(one.size()), again(one.size());
                tbb::task_arena(1).execute([&] { kernels::matmul(q.w, x.data(), n_tokens, one.data()); });
                tbb::task_arena(2).execute([&] { kernels::matmul(q.w, x.data(), n_tokens, two.data()); });
                tbb::task_arena(2).execute([&] { kernels::matmul(q.w, x.data(), n_tokens, again.data()); });
                INFO(info->name << " isa " << isa << " tokens " << n_tokens);
                CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
                CHECK(std::memcmp(two.data(), again.data(), two.size() * sizeof(float)) == 0);
            }
        }
    }
}

TEST_CASE("weighted_row_sum is one fused chain per output on every instruction set", "[kernels]") {
    // Columns in whole groups of vectors, single vectors and a scalar tail; rows any count; sets
    // alone, in whole groups that share the row loads, and with a partial last group.
    IsaGuard guard;
    for (TypeId type : {TypeId::F32, TypeId::F16, TypeId::BF16}) {
        const quant::TypeInfo& info = quant::type_info(type);
        for (int64_t cols : {int64_t(5), int64_t(64), int64_t(100), int64_t(200)}) {
            for (int64_t rows : {int64_t(1), int64_t(13), int64_t(90)}) {
                const Quantized q = quantize_matrix(info, rows, cols, 61 + uint32_t(rows + cols));
                for (int64_t sets : {int64_t(1), int64_t(3), int64_t(4), int64_t(5), int64_t(8)}) {
                    const auto weights = random_values(size_t(sets * rows), 3 + uint32_t(rows + sets));
                    std::vector<float> expected(size_t(sets * cols), 0.0f), row(static_cast<size_t>(cols));
                    for (int64_t r = 0; r < rows; ++r) {
                        kernels::dequantize_row(q.w, r, row.data());
                        for (int64_t s = 0; s < sets; ++s)
                            for (int64_t i = 0; i < cols; ++i) {
                                float& e = expected[size_t(s * cols + i)];
                                e = std::fma(weights[size_t(s * rows + r)], row[size_t(i)], e);
                            }
                    }
                    for (const auto& isa : kernels::available_isas()) {
                        kernels::force_isa(isa);
                        std::vector<float> out(expected.size(), std::nanf(""));
                        kernels::weighted_row_sum(q.w, weights.data(), sets, out.data());
                        INFO(info.name << " isa " << isa << " rows " << rows << " cols " << cols << " sets " << sets);
                        CHECK(std::memcmp(out.data(), expected.data(), out.size() * sizeof(float)) == 0);
                    }
                }
            }
        }
    }
}

// y[t][r] as AVX-512's float dot products form it: sixteen lane chains of fused multiply-adds
// (lane l takes columns l, l + 16, ...; a last partial vector adds zeros in the missing lanes),
// then the lanes summed in xsimd::hadd's tree: halves of 512 bits, of 256, then pairs twice.
std::vector<float> sixteen_lane_sums(const WeightMatrix& w, const std::vector<float>& x, int64_t n_tokens) {
    std::vector<float> y(size_t(n_tokens * w.rows)), row(size_t(w.cols));
    for (int64_t r = 0; r < w.rows; ++r) {
        kernels::dequantize_row(w, r, row.data());
        for (int64_t t = 0; t < n_tokens; ++t) {
            float lane[16] = {};
            for (int64_t i0 = 0; i0 < w.cols; i0 += 16)
                for (int64_t l = 0; l < 16; ++l) {
                    const bool in = i0 + l < w.cols;
                    lane[l] = std::fma(in ? row[size_t(i0 + l)] : 0.0f, in ? x[size_t(t * w.cols + i0 + l)] : 0.0f,
                                       lane[l]);
                }
            float half[8], quarter[4];
            for (int j = 0; j < 8; ++j) half[j] = lane[j] + lane[j + 8];
            for (int j = 0; j < 4; ++j) quarter[j] = half[j] + half[j + 4];
            y[size_t(t * w.rows + r)] = (quarter[0] + quarter[1]) + (quarter[2] + quarter[3]);
        }
    }
    return y;
}

TEST_CASE("AVX-512 float products of a few tokens sum sixteen lane chains in one tree, whatever the tile",
          "[kernels]") {
    // Tiles of one to four rows and up to six tokens, sums taken one at a time or sixteen at
    // once, sixteen short rows at once for one token: every output must have the same bits.
    IsaGuard guard;
    const auto isas = kernels::available_isas();
    if (std::find(isas.begin(), isas.end(), "avx512") == isas.end()) {
        WARN("no AVX-512 on this CPU");
        return;
    }
    kernels::force_isa("avx512");
    for (TypeId type : {TypeId::F32, TypeId::F16, TypeId::BF16}) {
        const quant::TypeInfo& info = quant::type_info(type);
        for (int64_t cols : {int64_t(5), int64_t(64), int64_t(100), int64_t(700)}) {
            for (int64_t rows : {int64_t(1), int64_t(7), int64_t(16), int64_t(53)}) {
                const Quantized q = quantize_matrix(info, rows, cols, 91 + uint32_t(rows + cols));
                for (int64_t n_tokens = 1; n_tokens <= 8; ++n_tokens) {
                    const auto x = random_values(size_t(n_tokens * cols), 23 + uint32_t(n_tokens));
                    const auto expected = sixteen_lane_sums(q.w, x, n_tokens);
                    std::vector<float> y(expected.size(), std::nanf(""));
                    kernels::matmul(q.w, x.data(), n_tokens, y.data());
                    INFO(info.name << " rows " << rows << " cols " << cols << " tokens " << n_tokens);
                    CHECK(std::memcmp(y.data(), expected.data(), y.size() * sizeof(float)) == 0);
                }
            }
        }
    }
}

TEST_CASE("float batches by outer products are fused chains over the columns in order", "[kernels]") {
    // Bit for bit, whatever the tile: rows beyond a whole tile, tokens beyond a whole panel,
    // columns beyond a whole pass and a partial vector.
    IsaGuard guard;
    const auto isas = kernels::available_isas();
    bool tested = false;
    for (TypeId type : {TypeId::F32, TypeId::F16, TypeId::BF16}) {
        const quant::TypeInfo& info = quant::type_info(type);
        for (int64_t cols : {int64_t(5), int64_t(256), int64_t(700)}) {
            for (int64_t rows : {int64_t(1), int64_t(13), int64_t(61)}) {
                const Quantized q = quantize_matrix(info, rows, cols, 31 + uint32_t(rows + cols));
                for (int64_t n_tokens : {int64_t(9), int64_t(33), int64_t(50)}) {
                    const auto x = random_values(size_t(n_tokens * cols), 17 + uint32_t(n_tokens));
                    const auto expected = fused_chain(q.w, x, n_tokens);
                    for (const auto& isa : isas) {
                        if (!has_outer_float_batches(isa)) continue;
                        kernels::force_isa(isa);
                        std::vector<float> y(expected.size(), std::nanf(""));
                        tbb::task_arena(2).execute([&] { kernels::matmul(q.w, x.data(), n_tokens, y.data()); });
                        INFO(info.name << " isa " << isa << " rows " << rows << " cols " << cols << " tokens "
                                       << n_tokens);
                        CHECK(std::memcmp(y.data(), expected.data(), y.size() * sizeof(float)) == 0);
                        tested = true;
                    }
                }
            }
        }
    }
    if (!tested) WARN("no instruction set with outer-product float batches on this CPU");
}

TEST_CASE("tiny products run serially and still match", "[kernels]") {
    // A 64x64 F32 matrix (a 260K-parameter model's) with 1 token.
    const auto values = random_values(64 * 64, 5);
    WeightMatrix w{TypeId::F32, reinterpret_cast<const uint8_t*>(values.data()), 64, 64, 64 * sizeof(float)};
    const auto x = random_values(64, 6);
    std::vector<float> y(64), expected(64);
    kernels::matmul(w, x.data(), 1, y.data());
    kernels::matmul_reference(w, x.data(), 1, expected.data());
    for (size_t i = 0; i < y.size(); ++i) CHECK(y[i] == Approx(expected[i]).epsilon(1e-5).margin(1e-5));
}
