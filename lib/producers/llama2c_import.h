#pragma once
// Conversion of llama2.c checkpoints (karpathy/llama2.c: the legacy "version 0" .bin, and the
// "ak42" version-1 fp32 export) with their tokenizer.bin into a GGUF of architecture `llama`.
#include <string>

namespace dilmodeli::producers {

struct Llama2cImportOptions {
    std::string checkpoint_path;  // model .bin
    std::string tokenizer_path;   // llama2.c tokenizer.bin
    std::string output_path;      // GGUF to write
    std::string model_name;       // general.name; default: the checkpoint's file stem
    float rms_epsilon = 1e-5f;    // llama2.c's RMSNorm epsilon
};

struct Llama2cImportResult {
    int dim = 0, hidden_dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, vocab_size = 0, seq_len = 0;
    bool shared_classifier = false;
    int checkpoint_version = 0;
    size_t tensor_count = 0;
    uint64_t bytes_written = 0;
};

Llama2cImportResult import_llama2c(const Llama2cImportOptions& options);

}  // namespace dilmodeli::producers
