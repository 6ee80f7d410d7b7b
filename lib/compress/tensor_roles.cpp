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
    TypeId t = wanted;
    switch (wanted) {
        case TypeId::Q2_K: case TypeId::Q3_K: t = TypeId::IQ4_NL; break;
        case TypeId::Q4_K: t = TypeId::Q5_0; break;
        case TypeId::Q5_K: t = TypeId::Q5_1; break;
        case TypeId::Q6_K: t = TypeId::Q8_0; break;
        case TypeId::TQ1_0: case TypeId::TQ2_0: t = TypeId::IQ4_NL; break;
        default: break;
    }
    if (fits(t)) return t;
    return fits(TypeId::F16) ? TypeId::F16 : TypeId::F32;
}

TypeId output_type_for(TypeId file_type) {
    switch (file_type) {
        case TypeId::Q4_0: case TypeId::Q4_1: case TypeId::Q5_0: case TypeId::Q5_1: case TypeId::IQ4_NL:
        case TypeId::Q2_K: case TypeId::Q3_K: case TypeId::Q4_K: case TypeId::Q5_K:
        case TypeId::TQ1_0: case TypeId::TQ2_0:
            return TypeId::Q6_K;
        default:
            return file_type;
    }
}

uint32_t llama_file_type(TypeId type) {
    switch (type) {
        case TypeId::F32: return 0;
        case TypeId::F16: return 1;
        case TypeId::Q4_0: return 2;
        case TypeId::Q4_1: return 3;
        case TypeId::Q8_0: return 7;
        case TypeId::Q5_0: return 8;
        case TypeId::Q5_1: return 9;
        case TypeId::Q2_K: return 10;
        case TypeId::Q3_K: return 11;  // Q3_K_S: every matrix Q3_K
        case TypeId::Q4_K: return 14;  // Q4_K_S
        case TypeId::Q5_K: return 16;  // Q5_K_S
        case TypeId::Q6_K: return 18;
        case TypeId::IQ4_NL: return 25;
        case TypeId::BF16: return 32;
        case TypeId::TQ1_0: return 36;
        case TypeId::TQ2_0: return 37;
        default: return kFileTypeMixed;
    }
}

}  // namespace dilmodeli::compress
