#pragma once
// Hyper-parameters of a llama-architecture model, read from GGUF metadata with llama.cpp's
// defaults for absent keys.
#include <cstdint>
#include <string>
#include <vector>

namespace dilmodeli::gguf { class GgufFile; }

namespace dilmodeli::model {

struct LlamaConfig {
    std::string architecture;  // "llama"
    int64_t n_embd = 0;        // model width
    int64_t n_layers = 0;
    int64_t n_heads = 0;
    int64_t n_kv_heads = 0;    // grouped-query attention: n_heads is a multiple of it
    int64_t head_dim = 0;      // n_embd / n_heads
    int64_t n_rot = 0;         // rotated dimensions per head (rope.dimension_count)
    std::vector<int64_t> n_ff; // feed-forward width per layer
    int64_t n_vocab = 0;
    int64_t context_length = 0;  // trained context
    float rms_epsilon = 1e-5f;
    float rope_freq_base = 10000.0f;
    int64_t n_experts = 0;       // MoE: experts per layer (0: dense)
    int64_t n_experts_used = 0;

    int64_t kv_dim() const { return head_dim * n_kv_heads; }
    int64_t max_ff() const;

    // Throws Error(BadInput) naming the file and key for a missing or inconsistent value, and
    // for an architecture other than "llama".
    static LlamaConfig from_gguf(const gguf::GgufFile& file);
};

}  // namespace dilmodeli::model
