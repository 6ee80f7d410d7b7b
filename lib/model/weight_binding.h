#pragma once
// Looks up a model's tensors by name and checks their shapes before the forward pass uses them.
#include <string>
#include <vector>

#include "kernels/matmul.h"

namespace dilmodeli::gguf {
class GgufFile;
struct TensorInfo;
}

namespace dilmodeli::model {

// A GGUF tensor of shape [cols, rows] (dims[0] = cols) as a matrix of the kernels, in place.
kernels::WeightMatrix matrix_of(const gguf::TensorInfo& tensor);
// Matrix `index` of a 3-D tensor [cols, rows, n] (one expert of a MoE layer); Error(Usage) when
// there is no such matrix.
kernels::WeightMatrix matrix_slice(const gguf::TensorInfo& tensor, int64_t index);

// A 2-D tensor of shape [cols, rows]; Error(BadInput) naming it when absent or misshapen.
kernels::WeightMatrix bind_matrix(const gguf::GgufFile& file, const std::string& name, int64_t cols, int64_t rows);

// Rows first .. first + count - 1 of w, as a matrix of their own (a part of a fused tensor).
kernels::WeightMatrix row_view(const kernels::WeightMatrix& w, int64_t first, int64_t count);

// A 1-D tensor of n values as floats: a view into the mapping for F32, else a converted copy
// kept in `storage`.
const float* bind_vector(const gguf::GgufFile& file, const std::string& name, int64_t n,
                         std::vector<std::vector<float>>& storage);
// The same, or null when the file has no tensor of that name.
const float* bind_optional_vector(const gguf::GgufFile& file, const std::string& name, int64_t n,
                                  std::vector<std::vector<float>>& storage);

}  // namespace dilmodeli::model
