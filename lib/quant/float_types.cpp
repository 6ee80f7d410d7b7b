// Row conversions of the unquantized types F32, F16 and BF16. The `importance` weights have no
// meaning here: every element is rounded on its own, to nearest.
#include <cstring>

#include "quant/half.h"
#include "quant/type_kernels.h"

namespace dilmodeli::quant {

void dequantize_row_f32(const void* src, float* dst, int64_t n) {
    std::memcpy(dst, src, size_t(n) * sizeof(float));
}

void quantize_row_f32(const float* src, void* dst, int64_t n, const float* /*importance*/) {
    std::memcpy(dst, src, size_t(n) * sizeof(float));
}

// Stored halves are read with memcpy: an F16 tensor in a mapped file is only guaranteed to be
// aligned to its element size by the writer, and memcpy keeps that assumption out of the code.
void dequantize_row_f16(const void* src, float* dst, int64_t n) {
    const auto* bytes = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, bytes + 2 * i, 2);
        dst[i] = fp16_to_fp32(h);
    }
}

void quantize_row_f16(const float* src, void* dst, int64_t n, const float* /*importance*/) {
    auto* bytes = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = fp32_to_fp16(src[i]);
        std::memcpy(bytes + 2 * i, &h, 2);
    }
}

void dequantize_row_bf16(const void* src, float* dst, int64_t n) {
    const auto* bytes = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n; ++i) {
        uint16_t b;
        std::memcpy(&b, bytes + 2 * i, 2);
        dst[i] = bf16_to_fp32(b);
    }
}

void quantize_row_bf16(const float* src, void* dst, int64_t n, const float* /*importance*/) {
    auto* bytes = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t b = fp32_to_bf16(src[i]);
        std::memcpy(bytes + 2 * i, &b, 2);
    }
}

}  // namespace dilmodeli::quant
