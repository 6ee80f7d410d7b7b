#pragma once
// Looks up a model's tensors by name and checks their shapes before the forward pass uses them.
#include <string>
#include <vector>

#include "kernels/matmul.h"

namespace dilmodeli::gguf { class GgufFile; }

namespace dilmodeli::model {

// A 2-D tensor of shape [cols, rows]; Error(BadInput) naming it when absent or misshapen.
kernels::WeightMatrix bind_matrix(const gguf::GgufFile& file, const std::string& name, int64_t cols, int64_t rows);

// A 1-D tensor of n values as floats: a view into the mapping for F32, else a converted copy
// kept in `storage`.
const float* bind_vector(const gguf::GgufFile& file, const std::string& name, int64_t n,
                         std::vector<std::vector<float>>& storage);

}  // namespace dilmodeli::model
