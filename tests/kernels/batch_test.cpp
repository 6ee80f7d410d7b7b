// Batches against their tokens one at a time (kernels/matmul.h): which paths keep each token's
// bits, the products matmul_many fuses, and the sums of the rows-in-lanes K-quant batches.
#include <catch2/catch.hpp>

#include <tbb/task_arena.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "quant/block_layouts.h"
#include "quant/quant_type.h"
#include "support/matmul_support.h"

using namespace dilmodeli;
using namespace dilmodeli::test;

namespace {

// Where a type's block scales sit, to read its rows with one of them set to 1 and the other to
// 0: the block then dequantizes to the integers scale * level, or to -min (types with mins), or
// to scale * (level - offset) (Q3_K and Q6_K, whose levels are stored with an offset).
struct ScalePlaces {
    size_t d, dmin;
    bool has_mins;
};
ScalePlaces scale_places(TypeId type) {
    switch (type) {
        case TypeId::Q2_K: return {offsetof(quant::BlockQ2_K, d), offsetof(quant::BlockQ2_K, dmin), true};
        case TypeId::Q3_K: return {offsetof(quant::BlockQ3_K, d), 0, false};
        case TypeId::Q4_K: return {offsetof(quant::BlockQ4_K, d), offsetof(quant::BlockQ4_K, dmin), true};
        case TypeId::Q5_K: return {offsetof(quant::BlockQ5_K, d), offsetof(quant::BlockQ5_K, dmin), true};
        case TypeId::Q6_K: return {offsetof(quant::BlockQ6_K, d), 0, false};
        default: FAIL("no K-quant block layout for type " << int(type)); return {};
    }
}

// Row r with every block's d and dmin replaced, dequantized.
std::vector<float> row_with_scales(const Quantized& m, int64_t r, uint16_t d, uint16_t dmin) {
    const quant::TypeInfo& info = quant::type_info(m.w.type);
    const ScalePlaces at = scale_places(m.w.type);
    std::vector<uint8_t> bytes(m.bytes.begin() + ptrdiff_t(size_t(r) * m.w.row_bytes),
                               m.bytes.begin() + ptrdiff_t(size_t(r + 1) * m.w.row_bytes));
    for (size_t b = 0; b < bytes.size(); b += info.block_bytes) {
        std::memcpy(&bytes[b + at.d], &d, 2);
        if (at.has_mins) std::memcpy(&bytes[b + at.dmin], &dmin, 2);
    }
    std::vector<float> out(static_cast<size_t>(m.w.cols));
    info.dequantize_row(bytes.data(), out.data(), m.w.cols);
    return out;
}

float half_bits_to_float(uint16_t h) {
    std::vector<float> f(1);
    quant::type_info(TypeId::F16).dequantize_row(reinterpret_cast<const uint8_t*>(&h), f.data(), 1);
    return f[0];
}

}  // namespace

TEST_CASE("a batch gives the same bits as its tokens one at a time", "[kernels]") {
    // Batches take other paths (token tiles; rows packed into scratch where the instruction set
    // has a packed layout) than single tokens, but each output is the same sequential sum.
    // Float batches by outer products and AVX-512's K-quant batches are the exceptions (see
    // batch_has_own_order); other tests pin their sums.
    // Rows of 24 or 21 blocks: AVX-512 pairs two rows' last groups of 8 or fewer blocks in one
    // register, so 24-block rows also end in row tiles of 3, 2 and 1. 39 tokens end in a tile of 3.
    IsaGuard guard;
    for (const quant::TypeInfo* info : quantizable_types()) {
        const int64_t block = info->block_size;
        const int64_t wide = block == 1 ? 768 : 24 * block, odd = block == 1 ? 771 : 21 * block;
        for (int64_t cols : {wide, odd, int64_t(2048)}) {
            for (int64_t rows : {int64_t(71), int64_t(66), int64_t(65)}) {
                if (rows != 71 && cols != wide) continue;
                const Quantized q = quantize_matrix(*info, rows, cols, 777);
                const int64_t n_tokens = 39;
                const auto x = random_values(size_t(n_tokens * cols), 5);
                for (const auto& isa : kernels::available_isas()) {
                    if (batch_has_own_order(info->id, isa, n_tokens)) continue;
                    kernels::force_isa(isa);
                    INFO(info->name << " isa " << isa << " rows " << rows << " cols " << cols);
                    CHECK(batch_matches_single_tokens(q.w, x, n_tokens));
                }
            }
        }
    }
}

TEST_CASE("a corrupt row's infinite scale stays in its own outputs", "[kernels]") {
    // Paired rows share registers in their last group; a row whose stored scale is infinite
    // must not turn its partner's outputs into NaN (single tokens never mix rows).
    IsaGuard guard;
    const quant::TypeInfo& info = quant::type_info(TypeId::Q4_0);
    const int64_t rows = 8, cols = 24 * 32, n_tokens = 20;
    Quantized q = quantize_matrix(info, rows, cols, 808);
    const int64_t bad_row = 3, last_block = cols / 32 - 1;
    const uint16_t half_infinity = 0x7C00;  // Q4_0 blocks start with their fp16 scale
    std::memcpy(q.bytes.data() + size_t(bad_row) * q.w.row_bytes + size_t(last_block) * info.block_bytes,
                &half_infinity, sizeof half_infinity);
    const auto x = random_values(size_t(n_tokens * cols), 6);
    for (const auto& isa : kernels::available_isas()) {
        kernels::force_isa(isa);
        std::vector<float> batch(size_t(n_tokens * rows));
        kernels::matmul(q.w, x.data(), n_tokens, batch.data());
        for (int64_t t = 0; t < n_tokens; ++t)
            for (int64_t r = 0; r < rows; ++r) {
                if (r == bad_row) continue;
                INFO("isa " << isa << " row " << r << " token " << t);
                CHECK(std::isfinite(batch[size_t(t * rows + r)]));
            }
    }
}

TEST_CASE("matmul_many gives each product matmul's bits", "[kernels]") {
    // One loop over the tiles of all products, the input quantized once per activation format:
    // each product must get the bits of matmul alone, and (where a batch is the same sum as its
    // tokens) of its tokens one at a time, which take no shared plan. Mixed groups read two or
    // three formats (AVX-512's Q4_K has its own); 768 columns end in AVX-512's paired half groups.
    IsaGuard guard;
    const std::vector<std::vector<TypeId>> groups = {
        {TypeId::Q4_0, TypeId::Q4_0, TypeId::Q4_0}, {TypeId::Q8_0, TypeId::Q4_0}, {TypeId::Q4_K, TypeId::Q6_K},
        {TypeId::Q5_K, TypeId::Q4_0, TypeId::Q6_K, TypeId::F32},
        {TypeId::F32, TypeId::F16}, {TypeId::Q4_0, TypeId::F32}};
    for (int64_t cols : {int64_t(512), int64_t(768)}) {
        for (const auto& types : groups) {
            std::vector<Quantized> matrices;
            for (size_t i = 0; i < types.size(); ++i)
                matrices.push_back(
                    quantize_matrix(quant::type_info(types[i]), 200 + 67 * int64_t(i), cols, 41 + uint32_t(i)));
            for (const auto& isa : kernels::available_isas()) {
                kernels::force_isa(isa);
                for (int64_t n_tokens : {int64_t(1), int64_t(3), int64_t(9), int64_t(39)}) {
                    const auto x = random_values(size_t(n_tokens * cols), 9 + uint32_t(n_tokens));
                    std::vector<std::vector<float>> fused, alone;
                    std::vector<kernels::Product> products;
                    for (const Quantized& q : matrices) {
                        fused.emplace_back(size_t(n_tokens * q.w.rows), std::nanf(""));
                        alone.emplace_back(size_t(n_tokens * q.w.rows), std::nanf(""));
                        kernels::matmul(q.w, x.data(), n_tokens, alone.back().data());
                    }
                    for (size_t i = 0; i < matrices.size(); ++i) products.push_back({matrices[i].w, fused[i].data()});
                    tbb::task_arena arena(2);
                    arena.execute(
                        [&] { kernels::matmul_many(products.data(), int64_t(products.size()), x.data(), n_tokens); });
                    for (size_t i = 0; i < matrices.size(); ++i) {
                        INFO(quant::type_info(types[i]).name << " product " << i << " isa " << isa << " cols " << cols
                                                             << " tokens " << n_tokens);
                        CHECK(std::memcmp(fused[i].data(), alone[i].data(), fused[i].size() * sizeof(float)) == 0);
                        if (!batch_has_own_order(types[i], isa, n_tokens))
                            CHECK(batch_matches_single_tokens(matrices[i].w, x, n_tokens, fused[i].data()));
                    }
                }
            }
        }
    }
}

TEST_CASE("K-quant batches with rows in lanes are exact integer sums per super-block", "[kernels]") {
    // The rows-in-lanes batch kernels' arithmetic (kquants_packed_avx512.cpp, sixteen rows a
    // register; kquants_packed_avx2.cpp, eight), recomputed from the blocks: per super-block the
    // exact integers S = sum of scale * level * q and M = sum of min * q, then
    // acc = fma(S, d * da, acc) and acc = fma(M, -dmin * da, acc); for Q3_K / Q6_K one integer,
    // the stored offset included, and acc = fma(S + M, d * da, acc). Bit for bit, so a scale, min
    // or level in the wrong lane fails, and so does another order; the two instruction sets thus
    // give the same bits. 37 and 83 rows end in partial groups of 16 and of 8 (83: two chunks of
    // rows); 10, 11, 14 and 23 tokens: AVX-512 tiles of 8 and of 2, 3, 6 and 7, AVX2 tiles of 5
    // and of 1, 4 and 3.
    std::vector<std::string> isas;
    for (const auto& isa : kernels::available_isas())
        if (isa == "avx512" || isa == "avx2") isas.push_back(isa);
    if (isas.empty()) {
        WARN("this CPU has neither AVX-512 VNNI nor AVX2: no rows-in-lanes K-quant kernel is built for it");
        return;
    }
    IsaGuard guard;
    constexpr uint16_t kHalfOne = 0x3C00, kHalfZero = 0;
    for (TypeId type : {TypeId::Q2_K, TypeId::Q3_K, TypeId::Q4_K, TypeId::Q5_K, TypeId::Q6_K}) {
        const quant::TypeInfo& info = quant::type_info(type);
        const ScalePlaces at = scale_places(type);
        for (int64_t cols : {int64_t(256), int64_t(768)}) {
            const int64_t rows = cols == 256 ? 37 : 83;
            const Quantized m = quantize_matrix(info, rows, cols, 515);
            for (int64_t n_tokens : {int64_t(10), int64_t(11), int64_t(14), int64_t(23)}) {
                const auto x = random_values(size_t(n_tokens * cols), 4 + uint32_t(n_tokens));
                std::vector<std::vector<float>> y;
                for (const auto& isa : isas) {
                    kernels::force_isa(isa);
                    y.emplace_back(size_t(n_tokens * rows));
                    kernels::matmul(m.w, x.data(), n_tokens, y.back().data());
                }
                std::vector<QuantizedToken> a;
                for (int64_t t = 0; t < n_tokens; ++t) a.push_back(quantize_token(&x[size_t(t * cols)], cols, 256));
                for (int64_t r = 0; r < rows; ++r) {
                    const auto scaled_levels = row_with_scales(m, r, kHalfOne, kHalfZero);
                    const auto negated_mins = at.has_mins ? row_with_scales(m, r, kHalfZero, kHalfOne)
                                                          : std::vector<float>(static_cast<size_t>(cols), 0.0f);
                    for (int64_t t = 0; t < n_tokens; ++t) {
                        const QuantizedToken& q = a[size_t(t)];
                        float acc = 0.0f;
                        for (int64_t b = 0; b < cols / 256; ++b) {
                            int64_t s = 0, mins = 0;
                            for (int64_t e = 256 * b; e < 256 * (b + 1); ++e) {
                                s += int64_t(scaled_levels[size_t(e)]) * q.q[size_t(e)];
                                mins -= int64_t(negated_mins[size_t(e)]) * q.q[size_t(e)];
                            }
                            const uint8_t* block =
                                m.bytes.data() + size_t(r) * m.w.row_bytes + size_t(b) * info.block_bytes;
                            uint16_t d_bits, dmin_bits = 0;
                            std::memcpy(&d_bits, block + at.d, 2);
                            if (at.has_mins) std::memcpy(&dmin_bits, block + at.dmin, 2);
                            const float da = q.d[size_t(b)];
                            acc = std::fma(float(s), half_bits_to_float(d_bits) * da, acc);
                            if (at.has_mins) acc = std::fma(float(mins), -half_bits_to_float(dmin_bits) * da, acc);
                        }
                        for (size_t i = 0; i < isas.size(); ++i) {
                            INFO(info.name << " isa " << isas[i] << " cols " << cols << " tokens " << n_tokens
                                           << " row " << r << " token " << t);
                            CHECK(y[i][size_t(t * rows + r)] == acc);
                        }
                    }
                }
            }
        }
        // A larger batch (tiles of full groups, three chunks of rows, a last group of 7 rows):
        // AVX2 and AVX-512 give the same bits.
        if (isas.size() == 2) {
            const int64_t rows = 135, cols = 2048, n_tokens = 39;
            const Quantized m = quantize_matrix(info, rows, cols, 516);
            const auto x = random_values(size_t(n_tokens * cols), 17);
            std::vector<float> y[2];
            for (size_t i = 0; i < 2; ++i) {
                kernels::force_isa(isas[i]);
                y[i].assign(size_t(n_tokens * rows), std::nanf(""));
                kernels::matmul(m.w, x.data(), n_tokens, y[i].data());
            }
            INFO(info.name << ": " << isas[0] << " against " << isas[1]);
            CHECK(std::memcmp(y[0].data(), y[1].data(), y[0].size() * sizeof(float)) == 0);
        }
    }
}
