#pragma once
// The registry of tensor element types: one row per ggml type id with its block geometry and
// its conversions. Everything that depends on a type (file sizes, dequantization, quantization,
// dot products) goes through this table, so adding a type touches one row.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dilmodeli::quant {

// ggml's type ids, as stored in GGUF tensor infos.
enum class TypeId : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ4_NL = 20,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
};

// Converts n elements (a multiple of the block size) from the stored form to float.
using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);
// Converts n floats (a multiple of the block size) to the stored form. `importance` is null or
// holds n non-negative weights (per-column activation energy) that the rounding should favour.
using QuantizeRowFn = void (*)(const float* src, void* dst, int64_t n, const float* importance);

struct TypeInfo {
    TypeId id;
    const char* name;
    int64_t block_size;   // elements per block
    size_t block_bytes;   // bytes per block
    DequantizeRowFn dequantize_row;  // null: this type cannot be read as numbers yet
    QuantizeRowFn quantize_row;      // null: this type cannot be produced

    double bits_per_weight() const { return 8.0 * double(block_bytes) / double(block_size); }
    // Bytes of a row of n elements; n must be a multiple of block_size.
    size_t row_bytes(int64_t n) const { return size_t(n / block_size) * block_bytes; }
};

// Every type the registry knows, in id order.
const std::vector<TypeInfo>& all_types();
// Null for an id the registry does not know.
const TypeInfo* find_type(uint32_t id);
// Case-insensitive ("q4_k" finds Q4_K); null when unknown.
const TypeInfo* find_type(std::string_view name);
// Throws Error(Usage) naming the unknown type.
const TypeInfo& type_info(TypeId id);
const TypeInfo& type_by_name(std::string_view name);

}  // namespace dilmodeli::quant
