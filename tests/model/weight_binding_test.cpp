// GGUF tensors as matrices of the kernels: a 3-D tensor's slices (one expert each) and the whole.
#include <catch2/catch.hpp>

#include <vector>

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "kernels/matmul.h"
#include "model/weight_binding.h"
#include "quant/quant_type.h"
#include "support/matmul_support.h"

using namespace dilmodeli;
using dilmodeli::kernels::WeightMatrix;
using dilmodeli::quant::TypeId;
using dilmodeli::test::random_values;

TEST_CASE("matrix_slice and matrix_of view a GGUF tensor's stored rows in place", "[model]") {
    const quant::TypeInfo& info = quant::type_info(TypeId::Q8_0);
    const int64_t cols = 64, rows = 3, experts = 2;
    std::vector<uint8_t> bytes(info.row_bytes(cols) * size_t(rows * experts));
    const auto src = random_values(size_t(cols * rows * experts), 11);
    for (int64_t r = 0; r < rows * experts; ++r)
        info.quantize_row(&src[size_t(r * cols)], bytes.data() + size_t(r) * info.row_bytes(cols), cols, nullptr);
    gguf::TensorInfo tensor;
    tensor.name = "blk.0.ffn_up_exps.weight";
    tensor.dims = {cols, rows, experts};
    tensor.type = TypeId::Q8_0;
    tensor.data = bytes.data();
    const WeightMatrix second = model::matrix_slice(tensor, 1);
    CHECK(second.rows == rows);
    CHECK(second.cols == cols);
    std::vector<float> got(static_cast<size_t>(cols)), want(static_cast<size_t>(cols));
    kernels::dequantize_row(second, 2, got.data());
    info.dequantize_row(bytes.data() + size_t(rows + 2) * info.row_bytes(cols), want.data(), cols);
    CHECK(got == want);
    CHECK_THROWS_AS(model::matrix_slice(tensor, 2), Error);
    const WeightMatrix all = model::matrix_of(tensor);
    CHECK(all.rows == rows * experts);
}
