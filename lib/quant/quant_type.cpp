#include "quant/quant_type.h"

#include <algorithm>
#include <cctype>

#include "common/error.h"
#include "quant/type_kernels.h"

namespace dilmodeli::quant {

const std::vector<TypeInfo>& all_types() {
    using T = TypeId;
    constexpr bool Float = true, Blocks = false;
    constexpr uint32_t Guessed = kFileTypeGuessed;
    // id, name, block elements, block bytes, to float, from float, float or blocks,
    //     fallback, output head, general.file_type, ladder below, ladder above, profiler's step, leap
    static const std::vector<TypeInfo> table = {
        {T::F32, "F32", 1, 4, dequantize_row_f32, quantize_row_f32, Float,
         T::F32, T::F32, 0, T::F32, T::F32, T::F16, T::Q8_0},
        {T::F16, "F16", 1, 2, dequantize_row_f16, quantize_row_f16, Float,
         T::F16, T::F16, 1, T::Q8_0, T::F16, T::Q8_0, T::Q4_0},
        {T::Q4_0, "Q4_0", 32, 18, dequantize_row_q4_0, quantize_row_q4_0, Blocks,
         T::F16, T::Q6_K, 2, T::Q3_K, T::Q4_K, T::Q3_K, T::Q2_K},
        {T::Q4_1, "Q4_1", 32, 20, dequantize_row_q4_1, quantize_row_q4_1, Blocks,
         T::F16, T::Q6_K, 3, T::Q4_1, T::Q4_1, T::Q3_K, T::Q2_K},
        {T::Q5_0, "Q5_0", 32, 22, dequantize_row_q5_0, quantize_row_q5_0, Blocks,
         T::F16, T::Q6_K, 8, T::Q5_0, T::Q5_0, T::Q4_K, T::Q4_0},
        {T::Q5_1, "Q5_1", 32, 24, dequantize_row_q5_1, quantize_row_q5_1, Blocks,
         T::F16, T::Q6_K, 9, T::Q5_1, T::Q5_1, T::Q4_K, T::Q4_0},
        {T::Q8_0, "Q8_0", 32, 34, dequantize_row_q8_0, quantize_row_q8_0, Blocks,
         T::F16, T::Q8_0, 7, T::Q6_K, T::F16, T::Q6_K, T::Q4_0},
        {T::Q8_1, "Q8_1", 32, 36, nullptr, nullptr, Blocks,
         T::F16, T::Q8_1, Guessed, T::Q8_1, T::Q8_1, T::Q8_1, T::Q8_1},
        {T::Q2_K, "Q2_K", 256, 84, dequantize_row_q2_k, quantize_row_q2_k, Blocks,
         T::IQ4_NL, T::Q6_K, 10, T::TQ1_0, T::Q3_K, T::Q2_K, T::Q2_K},
        {T::Q3_K, "Q3_K", 256, 110, dequantize_row_q3_k, quantize_row_q3_k, Blocks,  // file type: Q3_K_S
         T::IQ4_NL, T::Q6_K, 11, T::Q2_K, T::Q4_0, T::Q3_K, T::Q3_K},
        {T::Q4_K, "Q4_K", 256, 144, dequantize_row_q4_k, quantize_row_q4_k, Blocks,  // Q4_K_S
         T::Q5_0, T::Q6_K, 14, T::Q4_0, T::Q5_K, T::Q3_K, T::Q2_K},
        {T::Q5_K, "Q5_K", 256, 176, dequantize_row_q5_k, quantize_row_q5_k, Blocks,  // Q5_K_S
         T::Q5_1, T::Q6_K, 16, T::Q4_K, T::Q6_K, T::Q4_K, T::Q4_0},
        {T::Q6_K, "Q6_K", 256, 210, dequantize_row_q6_k, quantize_row_q6_k, Blocks,
         T::Q8_0, T::Q6_K, 18, T::Q5_K, T::Q8_0, T::Q4_K, T::Q4_0},
        {T::Q8_K, "Q8_K", 256, 292, nullptr, nullptr, Blocks,
         T::F16, T::Q8_K, Guessed, T::Q8_K, T::Q8_K, T::Q8_K, T::Q8_K},
        {T::IQ4_NL, "IQ4_NL", 32, 18, dequantize_row_iq4_nl, quantize_row_iq4_nl, Blocks,
         T::F16, T::Q6_K, 25, T::IQ4_NL, T::IQ4_NL, T::Q3_K, T::Q2_K},
        {T::BF16, "BF16", 1, 2, dequantize_row_bf16, quantize_row_bf16, Float,
         T::BF16, T::BF16, 32, T::BF16, T::BF16, T::Q8_0, T::Q4_0},
        {T::TQ1_0, "TQ1_0", 256, 54, dequantize_row_tq1_0, quantize_row_tq1_0, Blocks,
         T::IQ4_NL, T::Q6_K, 36, T::TQ1_0, T::Q2_K, T::TQ1_0, T::TQ1_0},
        {T::TQ2_0, "TQ2_0", 256, 66, dequantize_row_tq2_0, quantize_row_tq2_0, Blocks,
         T::IQ4_NL, T::Q6_K, 37, T::TQ2_0, T::TQ2_0, T::TQ2_0, T::TQ2_0},
    };
    return table;
}

std::vector<TypeId> quality_ladder() {
    std::vector<TypeId> ladder;
    for (const TypeInfo& t : all_types())
        if (t.smaller == t.id && t.larger != t.id) ladder.push_back(t.id);  // the lowest rung
    while (!ladder.empty()) {
        const TypeInfo& top = type_info(ladder.back());
        if (top.larger == top.id) break;
        ladder.push_back(top.larger);
    }
    return ladder;
}

std::vector<TypeId> suggested_smaller_types(TypeId id) {
    const TypeInfo& t = type_info(id);
    std::vector<TypeId> types;
    for (TypeId s : {t.step_down, t.leap_down})
        if (s != id) types.push_back(s);
    return types;
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
