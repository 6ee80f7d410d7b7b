#pragma once
// Per-type row conversions referenced by the registry table in quant_type.cpp. Each family of
// types lives in its own file (float_types.cpp, legacy_quants.cpp, k_quants.cpp, ...).
#include <cstdint>

namespace dilmodeli::quant {

#define DILMODELI_DECLARE_TYPE_ROWS(suffix)                                         \
    void dequantize_row_##suffix(const void* src, float* dst, int64_t n);           \
    void quantize_row_##suffix(const float* src, void* dst, int64_t n, const float* importance);

DILMODELI_DECLARE_TYPE_ROWS(f32)
DILMODELI_DECLARE_TYPE_ROWS(f16)
DILMODELI_DECLARE_TYPE_ROWS(bf16)
DILMODELI_DECLARE_TYPE_ROWS(q4_0)
DILMODELI_DECLARE_TYPE_ROWS(q4_1)
DILMODELI_DECLARE_TYPE_ROWS(q5_0)
DILMODELI_DECLARE_TYPE_ROWS(q5_1)
DILMODELI_DECLARE_TYPE_ROWS(q8_0)
DILMODELI_DECLARE_TYPE_ROWS(iq4_nl)
DILMODELI_DECLARE_TYPE_ROWS(q2_k)
DILMODELI_DECLARE_TYPE_ROWS(q3_k)
DILMODELI_DECLARE_TYPE_ROWS(q4_k)
DILMODELI_DECLARE_TYPE_ROWS(q5_k)
DILMODELI_DECLARE_TYPE_ROWS(q6_k)
DILMODELI_DECLARE_TYPE_ROWS(tq1_0)
DILMODELI_DECLARE_TYPE_ROWS(tq2_0)

#undef DILMODELI_DECLARE_TYPE_ROWS

}  // namespace dilmodeli::quant
