#include "model/architecture.h"

namespace dilmodeli::model {

const std::vector<Architecture>& architectures() {
    using R = RopeMode;
    using A = FfnActivation;
    // Fields in Architecture's order: family, name, rope, activation, qk_norm, post_norms,
    // scale_embedding, query_prescaled, fused_gate_up, always_tied_output, swa_pattern,
    // default_window, attn_softcap, default_final_softcap.
    static const std::vector<Architecture> table{
        {Family::Llama, "llama", R::AdjacentPairs, A::Silu, false, false, false, false, false, false, 0, 0, false, 0.0f},
        {Family::Qwen2, "qwen2", R::NeoxHalves, A::Silu, false, false, false, false, false, false, 0, 0, false, 0.0f},
        {Family::Qwen3, "qwen3", R::NeoxHalves, A::Silu, true, false, false, false, false, false, 0, 0, false, 0.0f},
        {Family::Gemma2, "gemma2", R::NeoxHalves, A::GeluTanh, false, true, true, true, false, true, 2, 4096, true,
         30.0f},
        {Family::Gemma3, "gemma3", R::NeoxHalves, A::GeluTanh, true, true, true, true, false, false, 6, 0, false,
         0.0f},
        {Family::Phi3, "phi3", R::NeoxHalves, A::Silu, false, false, false, true, true, false, 0, 0, false, 0.0f},
    };
    return table;
}

const Architecture* find_architecture(const std::string& name) {
    for (const Architecture& a : architectures())
        if (name == a.name) return &a;
    return nullptr;
}

const Architecture& architecture(Family family) {
    for (const Architecture& a : architectures())
        if (a.family == family) return a;
    return architectures().front();
}

std::string supported_architecture_names() {
    std::string names;
    for (const Architecture& a : architectures()) names += (names.empty() ? "" : ", ") + std::string(a.name);
    return names;
}

}  // namespace dilmodeli::model
