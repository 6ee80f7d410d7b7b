#pragma once
// The GGUF names of a model's tensors, as llama.cpp's llama-arch table spells them: one role
// per kind of tensor, one function from (role, layer) to the name and one back.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dilmodeli::model {

enum class TensorRole {
    // Outside the blocks.
    TokenEmbedding,   // token_embd.weight
    OutputNorm,       // output_norm.weight
    Output,           // output.weight (absent when tied to the embedding)
    RopeFrequencies,  // rope_freqs.weight: Llama 3 per-pair frequency divisors
    // Inside block N ("blk.N.").
    AttnNorm,
    AttnQ,
    AttnK,
    AttnV,
    AttnQkv,          // Q, K and V rows in one matrix (Phi-3)
    AttnQBias,
    AttnKBias,
    AttnVBias,
    AttnQkvBias,
    AttnQNorm,        // per-head RMSNorm of the queries (Qwen3, Gemma 3)
    AttnKNorm,
    AttnOutput,
    AttnOutputBias,
    AttnPostNorm,     // RMSNorm of the attention output before the residual (Gemma 2/3)
    FfnNorm,
    FfnGate,
    FfnUp,            // with Phi-3, gate and up rows in one matrix
    FfnDown,
    FfnPostNorm,
    FfnGateInp,       // MoE router
    FfnGateExps,
    FfnUpExps,
    FfnDownExps,
};

// Whether the role's tensors live inside a block (and so have a layer number).
bool is_block_role(TensorRole role);
// The name without "blk.N." and the ".weight" / ".bias" suffix: "ffn_down" for FfnDown.
std::string_view tensor_stem(TensorRole role);
// Whether the role is a weight matrix of a block's attention or feed-forward products (what
// pruning may thin): Q, K, V (or fused QKV), the attention output, gate, up and down.
bool is_block_matrix_role(TensorRole role);

// "blk.3.attn_q.weight" for (AttnQ, 3), "output_norm.weight" for (OutputNorm, any layer).
std::string tensor_name(TensorRole role, int64_t layer = -1);

struct ParsedTensorName {
    TensorRole role;
    int64_t layer = -1;  // -1 outside the blocks
};

// The role and layer of a tensor name; nothing for names no architecture here uses.
std::optional<ParsedTensorName> parse_tensor_name(std::string_view name);

}  // namespace dilmodeli::model
