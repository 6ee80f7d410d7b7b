#include "quant/quant_type.h"

#include <algorithm>
#include <cctype>

#include "common/error.h"
#include "quant/type_kernels.h"

namespace dilmodeli::quant {

const std::vector<TypeInfo>& all_types() {
    // id, name, block elements, block bytes, to float, from float
    static const std::vector<TypeInfo> table = {
        {TypeId::F32, "F32", 1, 4, dequantize_row_f32, quantize_row_f32},
        {TypeId::F16, "F16", 1, 2, dequantize_row_f16, quantize_row_f16},
        {TypeId::Q4_0, "Q4_0", 32, 18, dequantize_row_q4_0, quantize_row_q4_0},
        {TypeId::Q4_1, "Q4_1", 32, 20, dequantize_row_q4_1, quantize_row_q4_1},
        {TypeId::Q5_0, "Q5_0", 32, 22, dequantize_row_q5_0, quantize_row_q5_0},
        {TypeId::Q5_1, "Q5_1", 32, 24, dequantize_row_q5_1, quantize_row_q5_1},
        {TypeId::Q8_0, "Q8_0", 32, 34, dequantize_row_q8_0, quantize_row_q8_0},
        {TypeId::Q8_1, "Q8_1", 32, 36, nullptr, nullptr},
        {TypeId::Q2_K, "Q2_K", 256, 84, dequantize_row_q2_k, quantize_row_q2_k},
        {TypeId::Q3_K, "Q3_K", 256, 110, dequantize_row_q3_k, quantize_row_q3_k},
        {TypeId::Q4_K, "Q4_K", 256, 144, dequantize_row_q4_k, quantize_row_q4_k},
        {TypeId::Q5_K, "Q5_K", 256, 176, dequantize_row_q5_k, quantize_row_q5_k},
        {TypeId::Q6_K, "Q6_K", 256, 210, dequantize_row_q6_k, quantize_row_q6_k},
        {TypeId::Q8_K, "Q8_K", 256, 292, nullptr, nullptr},
        {TypeId::IQ4_NL, "IQ4_NL", 32, 18, dequantize_row_iq4_nl, quantize_row_iq4_nl},
        {TypeId::BF16, "BF16", 1, 2, dequantize_row_bf16, quantize_row_bf16},
        {TypeId::TQ1_0, "TQ1_0", 256, 54, dequantize_row_tq1_0, quantize_row_tq1_0},
        {TypeId::TQ2_0, "TQ2_0", 256, 66, dequantize_row_tq2_0, quantize_row_tq2_0},
    };
    return table;
}

const TypeInfo* find_type(uint32_t id) {
    for (const auto& t : all_types())
        if (static_cast<uint32_t>(t.id) == id) return &t;
    return nullptr;
}

const TypeInfo* find_type(std::string_view name) {
    auto equal = [](std::string_view a, std::string_view b) {
        return a.size() == b.size() &&
               std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
                   return std::toupper(static_cast<unsigned char>(x)) ==
                          std::toupper(static_cast<unsigned char>(y));
               });
    };
    for (const auto& t : all_types())
        if (equal(t.name, name)) return &t;
    return nullptr;
}

const TypeInfo& type_info(TypeId id) {
    const TypeInfo* t = find_type(static_cast<uint32_t>(id));
    if (!t) throw usage_error("unknown tensor type id " + std::to_string(static_cast<uint32_t>(id)));
    return *t;
}

const TypeInfo& type_by_name(std::string_view name) {
    const TypeInfo* t = find_type(name);
    if (!t) throw usage_error("unknown tensor type '" + std::string(name) + "'");
    return *t;
}

}  // namespace dilmodeli::quant
