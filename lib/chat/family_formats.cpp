// Model families whose tokenizer.chat_template we reproduce as llama.cpp's Jinja engine renders
// it (llama-server --jinja at de3ff81, with its defaults), for system/user/assistant text
// messages. What llama.cpp adds around the template itself is reproduced too:
//  - date_string is today's local date (common_chat_extra_context), so Llama 3.1 prints it as
//    3.2 does, although 3.1's template alone would fall back to "26 Jul 2024";
//  - enable_thinking is true where llama.cpp finds the template supports thinking (Qwen3,
//    SmolLM3, DeepSeek R1), since llama-server enables reasoning by default;
//  - templates that refuse a system role (Gemma 2, Phi-3 mini) get the system text merged into
//    the next message with "\n" (workaround::system_message_not_supported), or dropped when it is
//    the only message.
// Each renderer names the template file in tests/chat/golden it was checked against.
#include <string>
#include <vector>

#include "chat/formats.h"
#include "common/error.h"

namespace dilmodeli::chat::detail {
namespace {

using Messages = std::vector<ChatMessage>;

// Python's str.split(sep)[-1] and [0].
std::string after_last(const std::string& text, const std::string& separator) {
    const size_t at = text.rfind(separator);
    return at == std::string::npos ? text : text.substr(at + separator.size());
}
std::string before_first(const std::string& text, const std::string& separator) {
    const size_t at = text.find(separator);
    return at == std::string::npos ? text : text.substr(0, at);
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

// llama.cpp's polyfill for templates without a system role.
Messages merge_leading_system(const Messages& messages) {
    if (messages.empty() || messages.front().role != "system") return messages;
    Messages merged(messages.begin() + 1, messages.end());
    if (!merged.empty()) merged.front().content = messages.front().content + "\n" + merged.front().content;
    return merged;
}

// The check Gemma's and Mistral's templates make: user at even positions, assistant at odd.
void require_alternating_roles(const Messages& messages, size_t first_index, const std::string& family) {
    for (size_t i = 0; i < messages.size(); ++i) {
        const bool user_expected = i % 2 == 0;
        if ((messages[i].role == "user") != user_expected) {
            throw usage_error("messages[" + std::to_string(first_index + i) + "].role: '" +
                              messages[i].role + "' where the " + family + " template expects " +
                              (user_expected ? "user" : "assistant") +
                              ": conversation roles must alternate user/assistant/user/assistant/...");
        }
    }
}

std::string chatml_turn(const std::string& role, const std::string& content) {
    return "<|im_start|>" + role + "\n" + content + "<|im_end|>\n";
}

// ggml-vocab-qwen2.gguf (Qwen2 / Qwen1.5): ChatML with a default system turn.
std::string render_qwen2(const Messages& messages, bool add_generation_prompt, const SpecialTokens&) {
    std::string out;
    if (messages.front().role != "system") out += chatml_turn("system", "You are a helpful assistant");
    for (const auto& m : messages) out += chatml_turn(m.role, m.content);
    if (add_generation_prompt) out += "<|im_start|>assistant\n";
    return out;
}

// Qwen-Qwen2.5-7B-Instruct.jinja: ChatML whose default system turn introduces Qwen.
std::string render_qwen2_5(const Messages& messages, bool add_generation_prompt, const SpecialTokens&) {
    std::string out;
    const bool leading_system = messages.front().role == "system";
    out += chatml_turn("system", leading_system
                                     ? messages.front().content
                                     : "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
    for (size_t i = leading_system ? 1 : 0; i < messages.size(); ++i) {
        out += chatml_turn(messages[i].role, messages[i].content);
    }
    if (add_generation_prompt) out += "<|im_start|>assistant\n";
    return out;
}

// Qwen-Qwen3-0.6B.jinja: assistant turns after the last user message carry their <think> block
// (empty when the content has none); earlier ones lose it.
std::string render_qwen3(const Messages& messages, bool add_generation_prompt, const SpecialTokens&) {
    std::string out;
    if (messages.front().role == "system") out += chatml_turn("system", messages.front().content);
    size_t last_query = messages.size() - 1;
    for (size_t i = messages.size(); i-- > 0;) {
        const std::string& content = messages[i].content;
        const bool tool_response = content.rfind("<tool_response>", 0) == 0 &&
                                   content.size() >= 16 &&
                                   content.compare(content.size() - 16, 16, "</tool_response>") == 0;
        if (messages[i].role == "user" && !tool_response) {
            last_query = i;
            break;
        }
    }
    for (size_t i = 0; i < messages.size(); ++i) {
        const ChatMessage& m = messages[i];
        if (m.role == "user" || (m.role == "system" && i > 0)) {
            out += chatml_turn(m.role, m.content);
        } else if (m.role == "assistant") {
            std::string content = m.content;
            std::string reasoning;
            if (contains(m.content, "</think>")) {
                content = strip_chars(after_last(m.content, "</think>"), "\n", true, false);
                reasoning = strip_chars(after_last(strip_chars(before_first(m.content, "</think>"), "\n", false, true),
                                                   "<think>"),
                                        "\n", true, false);
            }
            const bool last = i + 1 == messages.size();
            out += "<|im_start|>assistant\n";
            if (i > last_query && (last || !reasoning.empty())) {
                out += "<think>\n" + strip_chars(reasoning, "\n", true, true) + "\n</think>\n\n" +
                       strip_chars(content, "\n", true, false);
            } else {
                out += content;
            }
            out += "<|im_end|>\n";
        }
    }
    if (add_generation_prompt) out += "<|im_start|>assistant\n";
    return out;
}

const char* const kSmolLM3ThinkingInstructions =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face. Your role as an assistant "
    "involves thoroughly exploring questions through a systematic thinking process before providing the "
    "final precise and accurate solutions. This requires engaging in a comprehensive cycle of analysis, "
    "summarizing, exploration, reassessment, reflection, backtracking, and iteration to develop "
    "well-considered thinking process. Please structure your response into two main sections: Thought and "
    "Solution using the specified format: <think> Thought section </think> Solution section. In the "
    "Thought section, detail your reasoning process in steps. Each step should include detailed "
    "considerations such as analysing questions, summarizing relevant findings, brainstorming new ideas, "
    "verifying the accuracy of the current steps, refining any errors, and revisiting previous steps. In "
    "the Solution section, based on various attempts, explorations, and reflections from the Thought "
    "section, systematically present the final solution that you deem correct. The Solution section "
    "should be logical, accurate, and concise and detail necessary steps needed to reach the conclusion.";

// HuggingFaceTB-SmolLM3-3B.jinja: a metadata system block always; "/think" or "/no_think" in the
// system text picks the reasoning mode (thinking by default) and is cut from it.
std::string render_smollm3(const Messages& messages, bool add_generation_prompt, const SpecialTokens&) {
    bool thinking = true;
    std::string custom_instructions;
    if (messages.front().role == "system") {
        const std::string& system = messages.front().content;
        if (contains(system, "/no_think")) {
            thinking = false;
        } else if (contains(system, "/think")) {
            thinking = true;
        }
        custom_instructions = trim_right(replace_all(replace_all(system, "/no_think", ""), "/think", ""));
    }
    std::string out = "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nReasoning Mode: ";
    out += thinking ? "/think" : "/no_think";
    out += "\n\n## Custom Instructions\n\n";
    if (!custom_instructions.empty()) {
        out += custom_instructions + "\n\n";
    } else if (thinking) {
        out += std::string(kSmolLM3ThinkingInstructions) + "\n\n";
    } else {
        out += "You are a helpful AI assistant named SmolLM, trained by Hugging Face.\n\n";
    }
    out += "<|im_end|>\n";
    const std::string empty_think = thinking ? "" : "<think>\n\n</think>\n";
    for (const auto& m : messages) {
        if (m.role == "user") {
            out += chatml_turn("user", m.content);
        } else if (m.role == "assistant") {
            out += "<|im_start|>assistant\n" + empty_think + strip_chars(m.content, "\n", true, false) + "<|im_end|>\n";
        }  // system messages appear only through the metadata block
    }
    if (add_generation_prompt) out += "<|im_start|>assistant\n" + empty_think;
    return out;
}

// deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja: BOS, the (last) system text, then turns with
// no separators; reasoning is cut from assistant turns; the generation prompt opens <think>.
std::string render_deepseek_r1(const Messages& messages, bool add_generation_prompt, const SpecialTokens& special) {
    std::string system_prompt;
    for (const auto& m : messages) {
        if (m.role == "system") system_prompt = m.content;
    }
    std::string out = special.bos + system_prompt;
    for (const auto& m : messages) {
        if (m.role == "user") {
            out += "<｜User｜>" + m.content;
        } else if (m.role == "assistant") {
            out += "<｜Assistant｜>" + after_last(m.content, "</think>") + "<｜end▁of▁sentence｜>";
        }
    }
    if (add_generation_prompt) out += "<｜Assistant｜><think>\n";
    return out;
}

// meta-llama-Llama-3.1-8B-Instruct.jinja and meta-llama-Llama-3.2-3B-Instruct.jinja: BOS, a
// system block with the knowledge cut-off and today's date, then header blocks; contents trimmed.
std::string render_llama3_x(const Messages& messages, bool add_generation_prompt, const SpecialTokens& special) {
    const bool leading_system = messages.front().role == "system";
    std::string out = special.bos + "<|start_header_id|>system<|end_header_id|>\n\n" +
                      "Cutting Knowledge Date: December 2023\nToday Date: " + template_date_today() + "\n\n" +
                      (leading_system ? trim(messages.front().content) : "") + "<|eot_id|>";
    for (size_t i = leading_system ? 1 : 0; i < messages.size(); ++i) {
        out += "<|start_header_id|>" + messages[i].role + "<|end_header_id|>\n\n" + trim(messages[i].content) +
               "<|eot_id|>";
    }
    if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
    return out;
}

// google-gemma-2-2b-it.jinja (the same as Gemma 1's): BOS, alternating turns, contents trimmed.
std::string render_gemma2(const Messages& messages, bool add_generation_prompt, const SpecialTokens& special) {
    const Messages turns = merge_leading_system(messages);
    require_alternating_roles(turns, messages.size() - turns.size(), "gemma2");
    std::string out = special.bos;
    for (const auto& m : turns) {
        out += "<start_of_turn>" + std::string(m.role == "assistant" ? "model" : m.role) + "\n" + trim(m.content) +
               "<end_of_turn>\n";
    }
    if (add_generation_prompt) out += "<start_of_turn>model\n";
    return out;
}

// microsoft-Phi-3.5-mini-instruct.jinja: an empty system message is skipped; a prompt without a
// generation prompt ends with EOS.
std::string render_phi3_5(const Messages& messages, bool add_generation_prompt, const SpecialTokens& special) {
    std::string out;
    for (const auto& m : messages) {
        if (m.role == "system" && m.content.empty()) continue;
        out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
    }
    out += add_generation_prompt ? "<|assistant|>\n" : special.eos;
    return out;
}

// ggml-vocab-phi-3.gguf (Phi-3 mini 4k): BOS; every user turn opens the assistant's, so the
// generation prompt changes nothing; no system role.
std::string render_phi3_mini_4k(const Messages& messages, bool, const SpecialTokens& special) {
    std::string out = special.bos;
    for (const auto& m : merge_leading_system(messages)) {
        if (m.role == "user") {
            out += "<|user|>\n" + m.content + "<|end|>\n<|assistant|>\n";
        } else if (m.role == "assistant") {
            out += m.content + "<|end|>\n";
        }
    }
    return out;
}

// mistralai-Mistral-Nemo-Instruct-2407.jinja: the system text goes into the last user turn
// only; no generation prompt of its own (a prompt ending in [/INST] already asks for one).
std::string render_mistral_nemo(const Messages& messages, bool, const SpecialTokens& special) {
    const bool leading_system = messages.front().role == "system";
    const Messages turns(messages.begin() + (leading_system ? 1 : 0), messages.end());
    require_alternating_roles(turns, leading_system ? 1 : 0, "mistral-nemo");
    std::string out = special.bos;
    for (size_t i = 0; i < turns.size(); ++i) {
        if (turns[i].role == "user") {
            const bool last = i + 1 == turns.size();
            out += "[INST]" + (last && leading_system ? messages.front().content + "\n\n" : std::string()) +
                   turns[i].content + "[/INST]";
        } else if (turns[i].role == "assistant") {
            out += turns[i].content + special.eos;
        } else {
            throw usage_error("messages[" + std::to_string(i + (leading_system ? 1 : 0)) + "].role: '" +
                              turns[i].role + "': the mistral-nemo template takes user and assistant roles, "
                              "with the exception of an initial optional system message");
        }
    }
    return out;
}

}  // namespace

const std::vector<NamedRenderer>& family_formats() {
    static const std::vector<NamedRenderer> formats = {
        {"qwen2", render_qwen2},
        {"qwen2.5", render_qwen2_5},
        {"qwen3", render_qwen3},
        {"smollm3", render_smollm3},
        {"deepseek-r1", render_deepseek_r1},
        {"llama3.x", render_llama3_x},
        {"gemma2", render_gemma2},
        {"phi3.5", render_phi3_5},
        {"phi3-mini-4k", render_phi3_mini_4k},
        {"mistral-nemo", render_mistral_nemo},
    };
    return formats;
}

}  // namespace dilmodeli::chat::detail
