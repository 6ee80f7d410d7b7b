// llama.cpp's built-in chat formats, as its llm_chat_apply_template (src/llama-chat.cpp at
// de3ff81) writes them when a template is chosen by name without --jinja. They never print the
// model's BOS/EOS text; Gemma and Llama 3 trim contents, the others copy them as they are.
#include <string>
#include <vector>

#include "chat/formats.h"

namespace dilmodeli::chat::detail {
namespace {

using Messages = std::vector<ChatMessage>;

std::string render_chatml(const Messages& messages, bool add_generation_prompt, const SpecialTokens&) {
    std::string out;
    for (const auto& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    if (add_generation_prompt) out += "<|im_start|>assistant\n";
    return out;
}

// Mistral v7: [SYSTEM_PROMPT] blocks; v7-tekken drops the space after each opening tag.
std::string render_mistral_v7_like(const Messages& messages, const char* space) {
    std::string out;
    for (const auto& m : messages) {
        if (m.role == "system") {
            out += "[SYSTEM_PROMPT]" + std::string(space) + m.content + "[/SYSTEM_PROMPT]";
        } else if (m.role == "user") {
            out += "[INST]" + std::string(space) + m.content + "[/INST]";
        } else {
            out += space + m.content + "</s>";
        }
    }
    return out;
}
std::string render_mistral_v7(const Messages& messages, bool, const SpecialTokens&) {
    return render_mistral_v7_like(messages, " ");
}
std::string render_mistral_v7_tekken(const Messages& messages, bool, const SpecialTokens&) {
    return render_mistral_v7_like(messages, "");
}

// Mistral v1 / v3 / v3-tekken: the system text opens the next [INST] block.
enum class MistralVersion { V1, V3, V3Tekken };
std::string render_mistral_v1_v3(const Messages& messages, MistralVersion version) {
    const std::string leading_space = version == MistralVersion::V1 ? " " : "";
    const std::string trailing_space = version == MistralVersion::V3Tekken ? "" : " ";
    const bool trim_assistant = version == MistralVersion::V3;
    std::string out;
    bool inside_turn = false;
    for (const auto& m : messages) {
        if (!inside_turn) {
            out += leading_space + "[INST]" + trailing_space;
            inside_turn = true;
        }
        if (m.role == "system") {
            out += m.content + "\n\n";
        } else if (m.role == "user") {
            out += m.content + leading_space + "[/INST]";
        } else {
            out += trailing_space + (trim_assistant ? trim(m.content) : m.content) + "</s>";
            inside_turn = false;
        }
    }
    return out;
}
std::string render_mistral_v1(const Messages& messages, bool, const SpecialTokens&) {
    return render_mistral_v1_v3(messages, MistralVersion::V1);
}
std::string render_mistral_v3(const Messages& messages, bool, const SpecialTokens&) {
    return render_mistral_v1_v3(messages, MistralVersion::V3);
}
std::string render_mistral_v3_tekken(const Messages& messages, bool, const SpecialTokens&) {
    return render_mistral_v1_v3(messages, MistralVersion::V3Tekken);
}

// Llama 2 and its variants: with <<SYS>> blocks, with <s> before later turns, with trimming.
struct Llama2Variant {
    bool system_block;
    bool bos_inside_history;
    bool strip;
};
std::string render_llama2_like(const Messages& messages, Llama2Variant variant) {
    std::string out = "[INST] ";
    bool inside_turn = true;  // the first [INST] is already written, without BOS
    for (const auto& m : messages) {
        const std::string content = variant.strip ? trim(m.content) : m.content;
        if (!inside_turn) {
            inside_turn = true;
            out += variant.bos_inside_history ? "<s>[INST] " : "[INST] ";
        }
        if (m.role == "system") {
            out += variant.system_block ? "<<SYS>>\n" + content + "\n<</SYS>>\n\n" : content + "\n";
        } else if (m.role == "user") {
            out += content + " [/INST]";
        } else {
            out += content + "</s>";
            inside_turn = false;
        }
    }
    return out;
}
std::string render_llama2(const Messages& messages, bool, const SpecialTokens&) {
    return render_llama2_like(messages, {false, false, false});
}
std::string render_llama2_sys(const Messages& messages, bool, const SpecialTokens&) {
    return render_llama2_like(messages, {true, false, false});
}
std::string render_llama2_sys_bos(const Messages& messages, bool, const SpecialTokens&) {
    return render_llama2_like(messages, {true, true, false});
}
std::string render_llama2_sys_strip(const Messages& messages, bool, const SpecialTokens&) {
    return render_llama2_like(messages, {true, false, true});
}

std::string render_phi3(const Messages& messages, bool add_generation_prompt, const SpecialTokens&) {
    std::string out;
    for (const auto& m : messages) out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
    if (add_generation_prompt) out += "<|assistant|>\n";
    return out;
}

std::string render_phi4(const Messages& messages, bool add_generation_prompt, const SpecialTokens&) {
    std::string out;
    for (const auto& m : messages) out += "<|im_start|>" + m.role + "<|im_sep|>" + m.content + "<|im_end|>";
    if (add_generation_prompt) out += "<|im_start|>assistant<|im_sep|>";
    return out;
}

std::string render_falcon3(const Messages& messages, bool add_generation_prompt, const SpecialTokens&) {
    std::string out;
    for (const auto& m : messages) out += "<|" + m.role + "|>\n" + m.content + "\n";
    if (add_generation_prompt) out += "<|assistant|>\n";
    return out;
}

std::string render_zephyr(const Messages& messages, bool add_generation_prompt, const SpecialTokens&) {
    std::string out;
    for (const auto& m : messages) out += "<|" + m.role + "|>\n" + m.content + "<|endoftext|>\n";
    if (add_generation_prompt) out += "<|assistant|>\n";
    return out;
}

// Gemma has no system role: system text opens the next user turn.
std::string render_gemma(const Messages& messages, bool add_generation_prompt, const SpecialTokens&) {
    std::string out;
    std::string system_prompt;
    for (const auto& m : messages) {
        if (m.role == "system") {
            system_prompt += trim(m.content);
            continue;
        }
        const std::string role = m.role == "assistant" ? "model" : m.role;
        out += "<start_of_turn>" + role + "\n";
        if (!system_prompt.empty() && role != "model") {
            out += system_prompt + "\n\n";
            system_prompt.clear();
        }
        out += trim(m.content) + "<end_of_turn>\n";
    }
    if (add_generation_prompt) out += "<start_of_turn>model\n";
    return out;
}

std::string render_vicuna_like(const Messages& messages, bool add_generation_prompt, bool orca) {
    std::string out;
    for (const auto& m : messages) {
        if (m.role == "system") {
            out += orca ? "SYSTEM: " + m.content + "\n" : m.content + "\n\n";
        } else if (m.role == "user") {
            out += "USER: " + m.content + "\n";
        } else {
            out += "ASSISTANT: " + m.content + "</s>\n";
        }
    }
    if (add_generation_prompt) out += "ASSISTANT:";
    return out;
}
std::string render_vicuna(const Messages& messages, bool add_generation_prompt, const SpecialTokens&) {
    return render_vicuna_like(messages, add_generation_prompt, false);
}
std::string render_vicuna_orca(const Messages& messages, bool add_generation_prompt, const SpecialTokens&) {
    return render_vicuna_like(messages, add_generation_prompt, true);
}

// deepseek-coder-instruct.
std::string render_deepseek(const Messages& messages, bool add_generation_prompt, const SpecialTokens&) {
    std::string out;
    for (const auto& m : messages) {
        if (m.role == "system") {
            out += m.content;
        } else if (m.role == "user") {
            out += "### Instruction:\n" + m.content + "\n";
        } else {
            out += "### Response:\n" + m.content + "\n<|EOT|>\n";
        }
    }
    if (add_generation_prompt) out += "### Response:\n";
    return out;
}

// DeepSeek V3 (and R1 without --jinja).
std::string render_deepseek3(const Messages& messages, bool add_generation_prompt, const SpecialTokens&) {
    std::string out;
    for (const auto& m : messages) {
        if (m.role == "system") {
            out += m.content + "\n\n";
        } else if (m.role == "user") {
            out += "<｜User｜>" + m.content;
        } else {
            out += "<｜Assistant｜>" + m.content + "<｜end▁of▁sentence｜>";
        }
    }
    if (add_generation_prompt) out += "<｜Assistant｜>";
    return out;
}

std::string render_llama3(const Messages& messages, bool add_generation_prompt, const SpecialTokens&) {
    std::string out;
    for (const auto& m : messages) {
        out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + trim(m.content) + "<|eot_id|>";
    }
    if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
    return out;
}

// SmolVLM: <|im_start|> serves as BOS; the turns themselves are not ChatML.
std::string render_smolvlm(const Messages& messages, bool add_generation_prompt, const SpecialTokens&) {
    std::string out = "<|im_start|>";
    for (const auto& m : messages) {
        if (m.role == "system") {
            out += m.content + "\n\n";
        } else if (m.role == "user") {
            out += "User: " + m.content + "<end_of_utterance>\n";
        } else {
            out += "Assistant: " + m.content + "<end_of_utterance>\n";
        }
    }
    if (add_generation_prompt) out += "Assistant:";
    return out;
}

}  // namespace

// In the order of llama.cpp's LLM_CHAT_TEMPLATES table.
const std::vector<NamedRenderer>& builtin_formats() {
    static const std::vector<NamedRenderer> formats = {
        {"chatml", render_chatml},
        {"llama2", render_llama2},
        {"llama2-sys", render_llama2_sys},
        {"llama2-sys-bos", render_llama2_sys_bos},
        {"llama2-sys-strip", render_llama2_sys_strip},
        {"mistral-v1", render_mistral_v1},
        {"mistral-v3", render_mistral_v3},
        {"mistral-v3-tekken", render_mistral_v3_tekken},
        {"mistral-v7", render_mistral_v7},
        {"mistral-v7-tekken", render_mistral_v7_tekken},
        {"phi3", render_phi3},
        {"phi4", render_phi4},
        {"falcon3", render_falcon3},
        {"zephyr", render_zephyr},
        {"gemma", render_gemma},
        {"vicuna", render_vicuna},
        {"vicuna-orca", render_vicuna_orca},
        {"deepseek", render_deepseek},
        {"deepseek3", render_deepseek3},
        {"llama3", render_llama3},
        {"smolvlm", render_smolvlm},
    };
    return formats;
}

}  // namespace dilmodeli::chat::detail
