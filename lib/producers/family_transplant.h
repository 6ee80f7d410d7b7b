#pragma once
// Carries a llama model into another family's shape, so that each family has a test model that
// predicts text: llama.cpp and dilmodeli can then be compared where an error shows (random
// weights give near-uniform predictions, on which a wrong forward pass can score the same).
// What the family adds is set near its neutral value; what it computes differently (NeoX rope,
// fused matrices) is arranged so that the llama weights mean the same thing.
#include <cstdint>
#include <string>

#include "model/architecture.h"

namespace dilmodeli::producers {

struct TransplantOptions {
    std::string input_path;   // a llama GGUF with F32 weights
    std::string output_path;
    model::Family family = model::Family::Llama;
    uint64_t seed = 1;        // of the small biases and norm weights the family adds
};

// Writes the model; returns the bytes written. Error(BadInput) for an input that is not an F32
// llama file, Error(Usage) for an output that would overwrite it.
uint64_t transplant_llama_model(const TransplantOptions& options);

}  // namespace dilmodeli::producers
