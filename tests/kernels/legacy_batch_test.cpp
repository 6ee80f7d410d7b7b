// The sums of the AVX2 batches of the 32-element block types (kernels/legacy_packed_avx2.cpp),
// recomputed from the blocks bit for bit.
#include <catch2/catch.hpp>

#include <cmath>
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

float half_bits_to_float(uint16_t h) {
    float f = 0.0f;
    quant::type_info(TypeId::F16).dequantize_row(reinterpret_cast<const uint8_t*>(&h), &f, 1);
    return f;
}

bool has_min(TypeId type) { return type == TypeId::Q4_1 || type == TypeId::Q5_1; }

// Row r dequantized with every block's scale set to 1 and min to 0: the integer levels less
// their stored offset (Q4_0's 8, Q5_0's 16), or IQ4_NL's table values.
std::vector<float> integer_levels(const Quantized& m, int64_t r) {
    const quant::TypeInfo& info = quant::type_info(m.w.type);
    std::vector<uint8_t> bytes(m.bytes.begin() + ptrdiff_t(size_t(r) * m.w.row_bytes),
                               m.bytes.begin() + ptrdiff_t(size_t(r + 1) * m.w.row_bytes));
    const uint16_t one = 0x3C00, zero = 0;
    for (size_t b = 0; b < bytes.size(); b += info.block_bytes) {
        std::memcpy(&bytes[b], &one, 2);  // every block starts with its fp16 scale
        if (has_min(m.w.type)) std::memcpy(&bytes[b + 2], &zero, 2);  // then the min
    }
    std::vector<float> out(static_cast<size_t>(m.w.cols));
    info.dequantize_row(bytes.data(), out.data(), m.w.cols);
    return out;
}

// Row r's product with one quantized token: per block S = sum of level * q in integers (the
// offset included), acc = fma(S, d * da, acc), and for Q4_1 / Q5_1 acc = fma(m, da * sum(q), acc),
// in block order.
float exact_block_sums(const Quantized& m, int64_t r, const std::vector<float>& levels, const QuantizedToken& q) {
    const quant::TypeInfo& info = quant::type_info(m.w.type);
    float acc = 0.0f;
    for (int64_t b = 0; b < m.w.cols / 32; ++b) {
        int64_t s = 0;
        for (int64_t e = 32 * b; e < 32 * (b + 1); ++e) s += int64_t(levels[size_t(e)]) * q.q[size_t(e)];
        const uint8_t* block = m.bytes.data() + size_t(r) * m.w.row_bytes + size_t(b) * info.block_bytes;
        uint16_t d_bits, m_bits;
        std::memcpy(&d_bits, block, 2);
        std::memcpy(&m_bits, block + 2, 2);
        const float da = q.d[size_t(b)];
        acc = std::fma(float(s), half_bits_to_float(d_bits) * da, acc);
        if (has_min(m.w.type)) acc = std::fma(half_bits_to_float(m_bits), da * float(q.sum[size_t(b)]), acc);
    }
    return acc;
}

}  // namespace

TEST_CASE("AVX2 batches of the 32-element block types are exact integer sums per block", "[kernels]") {
    // Per block: S = sum of level * q in integers (the offset included), acc = fma(S, d * da, acc),
    // and for Q4_1 / Q5_1 acc = fma(m, da * sum(q), acc), in block order. Bit for bit, so a level,
    // scale or min in the wrong lane fails, and so does another order. 37 and 83 rows end in
    // partial groups of eight; 10, 11, 14 and 23 tokens end in tiles of 2, 3, 2 and 3.
    bool has_avx2 = false;
    for (const auto& isa : kernels::available_isas()) has_avx2 = has_avx2 || isa == "avx2";
    if (!has_avx2) {
        WARN("this CPU has no AVX2: the rows-in-lanes kernel of the 32-element types is not built for it");
        return;
    }
    IsaGuard guard;
    kernels::force_isa("avx2");
    for (TypeId type : {TypeId::Q4_0, TypeId::Q4_1, TypeId::Q5_0, TypeId::Q5_1, TypeId::Q8_0, TypeId::IQ4_NL}) {
        const quant::TypeInfo& info = quant::type_info(type);
        for (int64_t cols : {int64_t(96), int64_t(768)}) {
            const int64_t rows = cols == 96 ? 37 : 83;
            const Quantized m = quantize_matrix(info, rows, cols, 616);
            for (int64_t n_tokens : {int64_t(10), int64_t(11), int64_t(14), int64_t(23)}) {
                const auto x = random_values(size_t(n_tokens * cols), 7 + uint32_t(n_tokens));
                std::vector<float> y(size_t(n_tokens * rows));
                kernels::matmul(m.w, x.data(), n_tokens, y.data());
                std::vector<QuantizedToken> a;
                for (int64_t t = 0; t < n_tokens; ++t) a.push_back(quantize_token(&x[size_t(t * cols)], cols, 32));
                for (int64_t r = 0; r < rows; ++r) {
                    const auto levels = integer_levels(m, r);
                    for (int64_t t = 0; t < n_tokens; ++t) {
                        INFO(info.name << " cols " << cols << " tokens " << n_tokens << " row " << r << " token " << t);
                        CHECK(y[size_t(t * rows + r)] == exact_block_sums(m, r, levels, a[size_t(t)]));
                    }
                }
            }
        }
    }
}

TEST_CASE("Interleaved rows keep their values and are exact integer sums per block on every instruction set",
          "[kernels][interleaved]") {
    // A group of eight rows is rewritten in place (kernels/interleaved_layout.cpp); every row
    // must read back as stored, and each product of a group row must be the exact per-block sum
    // above, bit for bit, alone or in a batch, whichever instruction set runs it (AVX-512 falls
    // back to the AVX2 kernel, others to the scalar one). The 5 rows after the last group of 37
    // and the 3 after 80 of 83 stay as stored and go to the row kernel: within rounding of the
    // 8-bit activations.
    IsaGuard guard;
    for (TypeId type : {TypeId::Q4_0, TypeId::IQ4_NL, TypeId::Q8_0}) {
        const quant::TypeInfo& info = quant::type_info(type);
        for (int64_t cols : {int64_t(96), int64_t(768)}) {
            const int64_t rows = cols == 96 ? 37 : 83, groups_end = rows / 8 * 8;
            const Quantized m = quantize_matrix(info, rows, cols, 717);
            std::vector<uint8_t> bytes = m.bytes;
            WeightMatrix w = m.w;
            w.data = bytes.data();
            kernels::interleave_rows(w, bytes.data());
            REQUIRE(w.interleaved);
            REQUIRE(bytes != m.bytes);
            std::vector<float> stored(static_cast<size_t>(cols)), read_back(static_cast<size_t>(cols));
            for (int64_t r = 0; r < rows; ++r) {
                kernels::dequantize_row(m.w, r, stored.data());
                kernels::dequantize_row(w, r, read_back.data());
                INFO(info.name << " row " << r);
                REQUIRE(stored == read_back);
            }
            for (const std::string& isa : kernels::available_isas()) {
                kernels::force_isa(isa);
                for (int64_t n_tokens : {int64_t(1), int64_t(3), int64_t(11), int64_t(23)}) {
                    const auto x = random_values(size_t(n_tokens * cols), 9 + uint32_t(n_tokens));
                    std::vector<float> y(size_t(n_tokens * rows)), reference(y.size());
                    kernels::matmul(w, x.data(), n_tokens, y.data());
                    kernels::matmul_reference(m.w, x.data(), n_tokens, reference.data());
                    for (int64_t t = 0; t < n_tokens; ++t) {
                        const QuantizedToken a = quantize_token(&x[size_t(t * cols)], cols, 32);
                        for (int64_t r = 0; r < rows; ++r) {
                            INFO(isa << " " << info.name << " cols " << cols << " tokens " << n_tokens << " row " << r
                                     << " token " << t);
                            const float got = y[size_t(t * rows + r)], want = reference[size_t(t * rows + r)];
                            if (r < groups_end) {
                                CHECK(got == exact_block_sums(m, r, integer_levels(m, r), a));
                            } else {
                                // Activations rounded to 8 bits: off by well under 1% of sum |w x|.
                                kernels::dequantize_row(m.w, r, stored.data());
                                float magnitude = 0.0f;
                                for (int64_t i = 0; i < cols; ++i)
                                    magnitude += std::fabs(stored[size_t(i)] * x[size_t(t * cols + i)]);
                                CHECK(std::fabs(got - want) <= 0.01f * magnitude);
                            }
                        }
                    }
                    // Both kernels keep each token's bits, whatever the batch.
                    CHECK(batch_matches_single_tokens(w, x, n_tokens, y.data()));
                }
            }
        }
    }
}

TEST_CASE("Interleaving refuses what it cannot lay out", "[kernels][interleaved]") {
    const Quantized q4k = quantize_matrix(quant::type_info(TypeId::Q4_K), 8, 256, 1);
    std::vector<uint8_t> bytes = q4k.bytes;
    WeightMatrix w = q4k.w;
    w.data = bytes.data();
    CHECK_THROWS_WITH(kernels::interleave_rows(w, bytes.data()), Catch::Contains("Q4_K has no interleaved layout"));
    const Quantized q8 = quantize_matrix(quant::type_info(TypeId::Q8_0), 16, 64, 2);
    bytes = q8.bytes;
    w = q8.w;
    w.data = bytes.data();
    kernels::interleave_rows(w, bytes.data());
    CHECK_THROWS_WITH(kernels::interleave_rows(w, bytes.data()), Catch::Contains("interleaved already"));
    CHECK(!kernels::prefers_interleaved(w));
}
