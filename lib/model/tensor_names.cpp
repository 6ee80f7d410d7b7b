#include "model/tensor_names.h"

#include <array>
#include <charconv>

namespace dilmodeli::model {
namespace {

struct RoleName {
    TensorRole role;
    const char* stem;  // the name without "blk.N." and without the suffix
    const char* suffix;
    bool in_block;
};

constexpr std::array kRoleNames{
    RoleName{TensorRole::TokenEmbedding, "token_embd", "weight", false},
    RoleName{TensorRole::OutputNorm, "output_norm", "weight", false},
    RoleName{TensorRole::Output, "output", "weight", false},
    RoleName{TensorRole::RopeFrequencies, "rope_freqs", "weight", false},
    RoleName{TensorRole::AttnNorm, "attn_norm", "weight", true},
    RoleName{TensorRole::AttnQ, "attn_q", "weight", true},
    RoleName{TensorRole::AttnK, "attn_k", "weight", true},
    RoleName{TensorRole::AttnV, "attn_v", "weight", true},
    RoleName{TensorRole::AttnQkv, "attn_qkv", "weight", true},
    RoleName{TensorRole::AttnQBias, "attn_q", "bias", true},
    RoleName{TensorRole::AttnKBias, "attn_k", "bias", true},
    RoleName{TensorRole::AttnVBias, "attn_v", "bias", true},
    RoleName{TensorRole::AttnQkvBias, "attn_qkv", "bias", true},
    RoleName{TensorRole::AttnQNorm, "attn_q_norm", "weight", true},
    RoleName{TensorRole::AttnKNorm, "attn_k_norm", "weight", true},
    RoleName{TensorRole::AttnOutput, "attn_output", "weight", true},
    RoleName{TensorRole::AttnOutputBias, "attn_output", "bias", true},
    RoleName{TensorRole::AttnPostNorm, "post_attention_norm", "weight", true},
    RoleName{TensorRole::FfnNorm, "ffn_norm", "weight", true},
    RoleName{TensorRole::FfnGate, "ffn_gate", "weight", true},
    RoleName{TensorRole::FfnUp, "ffn_up", "weight", true},
    RoleName{TensorRole::FfnDown, "ffn_down", "weight", true},
    RoleName{TensorRole::FfnPostNorm, "post_ffw_norm", "weight", true},
    RoleName{TensorRole::FfnGateInp, "ffn_gate_inp", "weight", true},
    RoleName{TensorRole::FfnGateExps, "ffn_gate_exps", "weight", true},
    RoleName{TensorRole::FfnUpExps, "ffn_up_exps", "weight", true},
    RoleName{TensorRole::FfnDownExps, "ffn_down_exps", "weight", true},
};

const RoleName& row_of(TensorRole role) {
    for (const RoleName& r : kRoleNames)
        if (r.role == role) return r;
    return kRoleNames[0];  // unreachable: every role has a row
}

}  // namespace

bool is_block_role(TensorRole role) { return row_of(role).in_block; }

std::string_view tensor_stem(TensorRole role) { return row_of(role).stem; }

bool is_block_matrix_role(TensorRole role) {
    switch (role) {
        case TensorRole::AttnQ:
        case TensorRole::AttnK:
        case TensorRole::AttnV:
        case TensorRole::AttnQkv:
        case TensorRole::AttnOutput:
        case TensorRole::FfnGate:
        case TensorRole::FfnUp:
        case TensorRole::FfnDown:
            return true;
        default:
            return false;
    }
}

std::string tensor_name(TensorRole role, int64_t layer) {
    const RoleName& r = row_of(role);
    std::string name = r.in_block ? "blk." + std::to_string(layer) + "." : std::string();
    return name.append(r.stem).append(".").append(r.suffix);
}

std::optional<ParsedTensorName> parse_tensor_name(std::string_view name) {
    int64_t layer = -1;
    if (name.substr(0, 4) == "blk.") {
        const char* begin = name.data() + 4;
        const char* end = name.data() + name.size();
        const auto [after, error] = std::from_chars(begin, end, layer);
        if (error != std::errc() || after == begin || after == end || *after != '.' || layer < 0) return std::nullopt;
        name.remove_prefix(size_t(after + 1 - name.data()));
    }
    const size_t dot = name.rfind('.');
    if (dot == std::string_view::npos) return std::nullopt;
    const std::string_view stem = name.substr(0, dot), suffix = name.substr(dot + 1);
    for (const RoleName& r : kRoleNames)
        if (r.in_block == (layer >= 0) && stem == r.stem && suffix == r.suffix) return ParsedTensorName{r.role, layer};
    return std::nullopt;
}

}  // namespace dilmodeli::model
