#pragma once
// Random-weight llama models of realistic shapes, for speed work: the arithmetic and memory
// traffic of a real model of that shape, with a real vocabulary, without its weights.
#include <cstdint>
#include <functional>
#include <string>

#include "quant/quant_type.h"

namespace dilmodeli::model {

struct SyntheticShape {
    int64_t n_embd = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, n_ff = 0, context = 2048;
};

// "110M" (llama2.c stories110M), "1B" (TinyLlama-1.1B), or "DIMxLAYERS" (heads of 64, FFN
// about 8/3 x DIM rounded to 256). Error(Usage) otherwise.
SyntheticShape parse_shape(const std::string& spec);

struct SynthOptions {
    std::string output_path;
    std::string vocab_path;  // a GGUF holding tokenizer.* metadata (e.g. ggml-vocab-llama-spm.gguf)
    SyntheticShape shape;
    quant::TypeId type = quant::TypeId::F32;  // of every 2-D weight; norms stay F32
    uint64_t seed = 1;
    bool uniform_output = false;  // else output.weight is typed as llama-quantize would
    std::function<void(size_t done, size_t total)> progress;
};

struct SynthResult {
    uint64_t bytes = 0;
    int64_t parameters = 0;
    int64_t vocab = 0;
};

SynthResult write_synthetic_model(const SynthOptions& options);

}  // namespace dilmodeli::model
