#include "compress/tensor_roles.h"

#include "gguf/gguf_file.h"

namespace dilmodeli::compress {

using quant::TypeId;

bool is_quantizable(const gguf::TensorInfo& tensor) {
    const std::string& n = tensor.name;
    const std::string suffix = ".weight";
    if (n.size() < suffix.size() || n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
    if (tensor.dims.size() < 2) return false;
    // MoE routers are tiny and precision-sensitive; llama.cpp keeps them as they are.
    if (n.find("ffn_gate_inp") != std::string::npos) return false;
    return true;
}

TypeId fallback_type(TypeId wanted, int64_t row_length) {
    auto fits = [&](TypeId t) { return row_length % quant::type_info(t).block_size == 0; };
    if (fits(wanted)) return wanted;
    const TypeId t = quant::type_info(wanted).fallback;
    return fits(t) ? t : TypeId::F16;  // F16's blocks are single elements: every row fits
}

TypeId output_type_for(TypeId file_type) { return quant::type_info(file_type).output_type; }

uint32_t llama_file_type(TypeId type) { return quant::type_info(type).file_type; }

}  // namespace dilmodeli::compress
