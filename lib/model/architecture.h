#pragma once
// The model families dilmodeli runs, one row each, as llama.cpp's llama-arch table has them:
// the value of general.architecture, which optional parts the family has and how its forward
// pass differs from llama's. The forward pass reads these traits; it has no per-family branch.
#include <cstdint>
#include <string>
#include <vector>

namespace dilmodeli::model {

enum class Family { Llama, Qwen2, Qwen3, Gemma2, Gemma3, Phi3 };

// Which dimensions of a head rope rotates together: llama's adjacent pairs (2i, 2i+1), or
// GPT-NeoX's halves (i, i + n_rot/2), which Qwen, Gemma and Phi use.
enum class RopeMode { AdjacentPairs, NeoxHalves };

// The gated feed-forward's activation: act(gate x) * (up x).
enum class FfnActivation { Silu, GeluTanh };

struct Architecture {
    Family family;
    const char* name;  // general.architecture, and the prefix of its metadata keys
    RopeMode rope;
    FfnActivation activation;
    bool qk_norm;             // per-head RMSNorm of Q and K before rope (attn_q_norm, attn_k_norm)
    bool post_norms;          // RMSNorm of the attention and FFN outputs before each residual
    bool scale_embedding;     // token embeddings times sqrt(n_embd)
    // Q is multiplied by the attention scale before its product with K (scores then unscaled):
    // the same numbers, rounded at another step, as llama.cpp's graph for the family does it.
    bool query_prescaled;
    bool fused_gate_up;       // ffn_up holds the gate rows, then the up rows (Phi-3)
    bool always_tied_output;  // the output head is the embedding table even if output.weight exists
    // Sliding-window layers: 0 none; n: of every n layers, the first n-1 slide (llama.cpp's
    // sliding_window_pattern), when the file or the family sets a window.
    int swa_pattern;
    int64_t default_window;   // window when the file names none (0: no sliding layers then)
    bool attn_softcap;        // scores -> cap * tanh(scores / cap), cap from attn_logit_softcapping
    float default_final_softcap;  // logits soft-cap when final_logit_softcapping is absent (0: none)
};

// The row for general.architecture = name; nullptr when no family here has that name.
const Architecture* find_architecture(const std::string& name);
const Architecture& architecture(Family family);
// "llama, qwen2, ...", for error messages and --help.
std::string supported_architecture_names();
const std::vector<Architecture>& architectures();

}  // namespace dilmodeli::model
