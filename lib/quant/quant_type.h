#pragma once
// The registry of tensor element types: one row per ggml type id with its block geometry, its
// conversions and llama.cpp's conventions for it. Everything outside the kernels that depends on
// a type (file sizes, dequantization, quantization, fallbacks, the output head, general.file_type,
// which types a mixture or the profiler tries) reads this table, so adding a type touches its row
// and its kernels.
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

// llama.cpp's general.file_type for a file of mixed types (LLAMA_FTYPE_GUESSED), and the value
// of a type that llama.cpp never writes as a whole file.
constexpr uint32_t kFileTypeGuessed = 1024;

struct TypeInfo {
    TypeId id;
    const char* name;
    int64_t block_size;   // elements per block
    size_t block_bytes;   // bytes per block
    DequantizeRowFn dequantize_row;  // null: this type cannot be read as numbers yet
    QuantizeRowFn quantize_row;      // null: this type cannot be produced
    bool is_float;        // F32, F16, BF16: one number per element, no blocks, no scales
    // llama.cpp's replacement when a row's length is not a multiple of block_size: a K-quant
    // falls back to a 32-block type; F16 when there is none (the type itself for float types).
    TypeId fallback;
    TypeId output_type;      // output.weight's type when a whole model is quantized to this one
    uint32_t file_type;      // general.file_type (LLAMA_FTYPE_*) of a model mostly of this type
    // The quality ladder a mixture chooses among, in increasing bits: the neighbours below and
    // above; the type itself at an end, or for both when the type is not on the ladder.
    TypeId smaller, larger;
    // The smaller types the profiler suggests when generation is bandwidth-bound: a conservative
    // step and a bolder leap; the type itself for none.
    TypeId step_down, leap_down;

    double bits_per_weight() const { return 8.0 * double(block_bytes) / double(block_size); }
    // Bytes of a row of n elements; n must be a multiple of block_size.
    size_t row_bytes(int64_t n) const { return size_t(n / block_size) * block_bytes; }
};

// Every type the registry knows, in id order.
const std::vector<TypeInfo>& all_types();
// The types on the quality ladder, smallest first.
std::vector<TypeId> quality_ladder();
// The profiler's suggestions for a model of this type, most conservative first (0 to 2 types).
std::vector<TypeId> suggested_smaller_types(TypeId id);
// Null for an id the registry does not know.
const TypeInfo* find_type(uint32_t id);
// Case-insensitive ("q4_k" finds Q4_K); null when unknown.
const TypeInfo* find_type(std::string_view name);
// Throws Error(Usage) naming the unknown type.
const TypeInfo& type_info(TypeId id);
const TypeInfo& type_by_name(std::string_view name);

}  // namespace dilmodeli::quant
