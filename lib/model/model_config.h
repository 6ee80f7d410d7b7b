#pragma once
// Hyper-parameters of a transformer of any supported family, read from GGUF metadata with
// llama.cpp's defaults for absent keys, and the per-family traits of architecture.h.
#include <cstdint>
#include <string>
#include <vector>

#include "model/architecture.h"

namespace dilmodeli::gguf { class GgufFile; }

namespace dilmodeli::model {

struct ModelConfig {
    std::string architecture;  // general.architecture
    const Architecture* arch = nullptr;
    int64_t n_embd = 0;        // model width
    int64_t n_layers = 0;
    int64_t n_heads = 0;
    int64_t n_kv_heads = 0;    // grouped-query attention: n_heads is a multiple of it
    // Width of one attention head (attention.key_length, else n_embd / n_heads). Qwen3 and
    // Gemma have heads whose width times their count is not the model width.
    int64_t head_dim = 0;
    int64_t n_rot = 0;         // rotated dimensions per head (rope.dimension_count)
    std::vector<int64_t> n_ff; // feed-forward width per layer
    int64_t n_vocab = 0;
    int64_t context_length = 0;  // trained context
    float rms_epsilon = 1e-5f;

    float rope_freq_base = 10000.0f;
    float rope_freq_base_swa = 10000.0f;  // of the sliding-window layers (Gemma 3: local base)
    float rope_freq_scale = 1.0f;         // 1 / rope.scaling.factor for linear scaling
    float rope_attn_factor = 1.0f;        // rope.scaling.attn_factor: scales cos and sin

    float attention_scale = 0.0f;  // multiplies Q.K (1/sqrt(head_dim) unless the family says otherwise)
    float attn_softcap = 0.0f;     // 0: none
    float final_softcap = 0.0f;    // 0: none
    float embedding_scale = 1.0f;  // sqrt(n_embd) for Gemma
    int64_t sliding_window = 0;    // keys a sliding-window layer sees, itself included
    std::vector<bool> layer_slides;  // per layer: attends within sliding_window

    int64_t n_experts = 0;       // MoE: experts per layer (0: dense)
    int64_t n_experts_used = 0;

    int64_t q_dim() const { return head_dim * n_heads; }
    int64_t kv_dim() const { return head_dim * n_kv_heads; }
    int64_t max_ff() const;

    // Throws Error(BadInput) naming the file and key for a missing or inconsistent value, and
    // for an architecture no family here has.
    static ModelConfig from_gguf(const gguf::GgufFile& file);
};

}  // namespace dilmodeli::model
