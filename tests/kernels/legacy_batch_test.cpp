// The sums of the AVX2 batches of the 32-element block types (kernels/legacy_packed_avx2.cpp),
// recomputed from the blocks bit for bit.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
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
                        const QuantizedToken& q = a[size_t(t)];
                        float acc = 0.0f;
                        for (int64_t b = 0; b < cols / 32; ++b) {
                            int64_t s = 0;
                            for (int64_t e = 32 * b; e < 32 * (b + 1); ++e) s += int64_t(levels[size_t(e)]) * q.q[size_t(e)];
                            const uint8_t* block = m.bytes.data() + size_t(r) * m.w.row_bytes + size_t(b) * info.block_bytes;
                            uint16_t d_bits, m_bits;
                            std::memcpy(&d_bits, block, 2);
                            std::memcpy(&m_bits, block + 2, 2);
                            const float da = q.d[size_t(b)];
                            acc = std::fma(float(s), half_bits_to_float(d_bits) * da, acc);
                            if (has_min(type))
                                acc = std::fma(half_bits_to_float(m_bits), da * float(q.sum[size_t(b)]), acc);
                        }
                        INFO(info.name << " cols " << cols << " tokens " << n_tokens << " row " << r << " token " << t);
                        CHECK(y[size_t(t * rows + r)] == acc);
                    }
                }
            }
        }
    }
}
