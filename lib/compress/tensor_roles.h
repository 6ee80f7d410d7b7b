#pragma once
// What a tensor is for, from its GGUF name, and llama.cpp's conventions for quantizing it:
// which tensors stay in float and which type replaces one whose rows fit no block. The per-type
// conventions are columns of the type registry (quant/quant_type.h); these apply them.
#include <string>

#include "quant/quant_type.h"

namespace dilmodeli::gguf { struct TensorInfo; }

namespace dilmodeli::compress {

// True for the 2-D+ weight matrices llama.cpp quantizes; norms, biases and other 1-D tensors
// (and anything not named *.weight) stay as they are.
bool is_quantizable(const gguf::TensorInfo& tensor);

// llama.cpp's replacement for `wanted` when a row of `row_length` is not a multiple of its
// block: the registry's fallback (K-quants fall back to 32-blocks: Q2_K/Q3_K -> IQ4_NL,
// Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0), and anything that still does not fit becomes F16.
quant::TypeId fallback_type(quant::TypeId wanted, int64_t row_length);

// The type llama.cpp gives output.weight when a whole model is quantized to `file_type`:
// Q6_K for the 2- to 5-bit types, else the type itself.
quant::TypeId output_type_for(quant::TypeId file_type);

// llama.cpp's general.file_type (LLAMA_FTYPE_*) for a model quantized mostly to `type`.
uint32_t llama_file_type(quant::TypeId type);
constexpr uint32_t kFileTypeMixed = quant::kFileTypeGuessed;

}  // namespace dilmodeli::compress
