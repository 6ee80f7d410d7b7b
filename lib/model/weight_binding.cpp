#include "model/weight_binding.h"

#include "common/error.h"
#include "gguf/gguf_file.h"

namespace dilmodeli::model {

kernels::WeightMatrix matrix_of(const gguf::TensorInfo& tensor) {
    kernels::WeightMatrix w;
    w.type = tensor.type;
    w.data = tensor.data;
    w.cols = tensor.row_length();
    w.rows = tensor.n_rows();
    w.row_bytes = tensor.type_info().row_bytes(w.cols);
    kernels::check_shape(w);
    return w;
}

kernels::WeightMatrix matrix_slice(const gguf::TensorInfo& tensor, int64_t index) {
    if (tensor.dims.size() != 3 || index < 0 || index >= tensor.dims[2])
        throw usage_error("tensor '" + tensor.name + "' of shape " + tensor.shape_string() + " has no matrix " +
                          std::to_string(index));
    kernels::WeightMatrix w;
    w.type = tensor.type;
    w.cols = tensor.dims[0];
    w.rows = tensor.dims[1];
    w.row_bytes = tensor.type_info().row_bytes(w.cols);
    w.data = tensor.data + size_t(index) * size_t(w.rows) * w.row_bytes;
    kernels::check_shape(w);
    return w;
}

kernels::WeightMatrix bind_matrix(const gguf::GgufFile& file, const std::string& name, int64_t cols, int64_t rows) {
    const gguf::TensorInfo& t = file.require_tensor(name);
    if (t.dims.size() != 2 || t.dims[0] != cols || t.dims[1] != rows)
        throw input_error(file.path(), "tensor '" + name + "' has shape " + t.shape_string() + ", expected [" +
                                           std::to_string(cols) + ", " + std::to_string(rows) + "]");
    if (!t.type_info().dequantize_row)
        throw input_error(file.path(), "tensor '" + name + "' has type " + t.type_info().name +
                                           ", which cannot be computed with");
    return matrix_of(t);
}

kernels::WeightMatrix row_view(const kernels::WeightMatrix& w, int64_t first, int64_t count) {
    kernels::WeightMatrix view = w;
    view.data = w.row(first);
    view.rows = count;
    return view;
}

const float* bind_optional_vector(const gguf::GgufFile& file, const std::string& name, int64_t n,
                                  std::vector<std::vector<float>>& storage) {
    return file.find_tensor(name) ? bind_vector(file, name, n, storage) : nullptr;
}

const float* bind_vector(const gguf::GgufFile& file, const std::string& name, int64_t n,
                         std::vector<std::vector<float>>& storage) {
    const gguf::TensorInfo& t = file.require_tensor(name);
    if (t.n_elements() != n || t.dims.size() != 1)
        throw input_error(file.path(), "tensor '" + name + "' has shape " + t.shape_string() + ", expected [" +
                                           std::to_string(n) + "]");
    if (t.type == quant::TypeId::F32) return reinterpret_cast<const float*>(t.data);
    const auto& info = t.type_info();
    if (!info.dequantize_row)
        throw input_error(file.path(), "tensor '" + name + "' has unreadable type " + info.name);
    storage.emplace_back(size_t(n));
    info.dequantize_row(t.data, storage.back().data(), n);
    return storage.back().data();
}

}  // namespace dilmodeli::model
