#pragma once
// Random-weight models of realistic shapes, of every family, for speed work: the arithmetic and
// memory traffic of a real model of that shape, with a real vocabulary, without its weights.
#include <cstdint>
#include <functional>
#include <string>

#include "model/architecture.h"
#include "quant/quant_type.h"

namespace dilmodeli::producers {

struct SyntheticShape {
    model::Family family = model::Family::Llama;
    int64_t n_embd = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, n_ff = 0, context = 2048;
    int64_t head_dim = 0;          // 0: n_embd / n_heads
    bool tied_output = false;      // the output head is the embedding table
    float rope_base = 10000.0f;
    float rope_base_local = 10000.0f;  // of sliding-window layers
    int64_t sliding_window = 0;    // Gemma: keys a sliding layer sees
    bool rope_freqs = false;       // Llama 3's rope frequency factors
    float rms_epsilon = 1e-5f;
};

// Shapes by name: "110M" (llama2.c stories110M), "1B" (TinyLlama-1.1B), "DIMxLAYERS" (heads of
// 64, FFN about 8/3 x DIM rounded to 256), the real models' shapes "qwen3-0.6b", "qwen2.5-0.5b",
// "gemma3-270m", "gemma3-1b", "phi3-mini", "llama3.2-1b", "smollm2-135m", and "tiny" (a few
// layers of width 128 for tests, in the family `family`). The named shapes carry their family.
// Error(Usage) otherwise.
SyntheticShape parse_shape(const std::string& spec, model::Family family = model::Family::Llama);
// The named shapes, for --help.
std::string shape_names();

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

}  // namespace dilmodeli::producers
