#include "chat/chat_template.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "chat/formats.h"
#include "common/error.h"

namespace dilmodeli::chat {
namespace detail {

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

std::string strip_chars(const std::string& text, const std::string& chars, bool left, bool right) {
    size_t begin = 0;
    size_t end = text.size();
    while (left && begin < end && chars.find(text[begin]) != std::string::npos) ++begin;
    while (right && end > begin && chars.find(text[end - 1]) != std::string::npos) --end;
    return text.substr(begin, end - begin);
}

namespace {
const std::string kAsciiSpace = " \t\n\v\f\r";
}  // namespace

std::string trim(const std::string& text) { return strip_chars(text, kAsciiSpace, true, true); }
std::string trim_left(const std::string& text) { return strip_chars(text, kAsciiSpace, true, false); }
std::string trim_right(const std::string& text) { return strip_chars(text, kAsciiSpace, false, true); }

}  // namespace detail

namespace {

using detail::contains;

std::string joined_names() {
    std::string out;
    for (const auto& name : chat_template_names()) out += (out.empty() ? "" : ", ") + name;
    return out;
}

// A model family whose template we reproduce exactly, by substrings only its template has.
std::string detect_family(const std::string& src) {
    auto has = [&src](const char* needle) { return contains(src, needle); };
    if (has("<|im_start|>")) {
        if (has("Reasoning Mode: ") && has("## Custom Instructions")) return "smollm3";
        // Qwen3.5, Qwen3-Coder (XML tool calls) and the Qwen3-like templates that print BOS
        // differ; they fall through to ChatML.
        if (has("last_query_index") && has("reasoning_content") &&
            has("You may call one or more functions to assist with the user query.") &&
            has("enable_thinking is defined and enable_thinking is false") && !has("<function=") &&
            !has("bos_token")) {
            return "qwen3";
        }
        if (has("You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")) return "qwen2.5";
        if (has("You are a helpful assistant<|im_end|>") && has("loop.first and messages[0]['role'] != 'system'")) {
            return "qwen2";
        }
        return "";
    }
    // R1's distills open <think> in the generation prompt; V3.1 (an empty think block) and
    // llama.cpp's own R1 template (EOS after each user turn) differ.
    if (has("{{'<｜Assistant｜><think>\\n'}}") && has("'<｜User｜>' + message['content']}}") && has("bos_token")) {
        return "deepseek-r1";
    }
    if (has("<|start_header_id|>") && has("Cutting Knowledge Date: December 2023") && has("Today Date: ") &&
        has("date_string") && has("bos_token")) {
        return "llama3.x";
    }
    if (has("<start_of_turn>") && has("System role not supported") &&
        has("Conversation roles must alternate user/assistant/user/assistant/...")) {
        return "gemma2";
    }
    if (has("<|assistant|>") && has("<|end|>")) {
        if (has("message['role'] == 'system' and message['content']") && has("eos_token")) return "phi3.5";
        if (!has("<|system|>") && has("bos_token") && has("<|end|>' + '\n' + '<|assistant|>'")) return "phi3-mini-4k";
        return "";
    }
    if (has("[INST]") && has("[AVAILABLE_TOOLS]") && has("\"[INST]\"") &&
        has("loop.last and system_message is defined") && has("eos_token")) {
        return "mistral-nemo";
    }
    return "";
}

// llama.cpp's llm_chat_detect_template, in its order, down to the formats we have; "" where it
// would pick one we do not render.
std::string detect_builtin(const std::string& src) {
    auto has = [&src](const char* needle) { return contains(src, needle); };
    if (has("<|im_start|>")) {
        if (has("<|im_sep|>")) return "phi4";
        if (has("<end_of_utterance>")) return "smolvlm";
        return "chatml";
    }
    if (src.rfind("mistral", 0) == 0 || has("[INST]")) {
        if (has("[SYSTEM_PROMPT]")) return "mistral-v7";
        if (has("' [INST] ' + system_message") || has("[AVAILABLE_TOOLS]")) {
            if (has(" [INST]")) return "mistral-v1";
            if (has("\"[INST]\"")) return "mistral-v3-tekken";
            return "mistral-v3";
        }
        if (has("content.strip()")) return "llama2-sys-strip";
        if (has("bos_token + '[INST]")) return "llama2-sys-bos";
        if (has("<<SYS>>")) return "llama2-sys";
        return "llama2";
    }
    if (has("<|assistant|>") && has("<|end|>")) return "phi3";
    if (has("[gMASK]<sop>")) return "";  // chatglm4
    if (has("<|assistant|>") && has("<|user|>")) {
        if (has("<|tool_declare|>")) return "";  // exaone-moe
        return has("</s>") ? "falcon3" : "";     // else glmedge
    }
    if (has("<|{{ item['role'] }}|>") && has("<|begin_of_image|>")) return "";  // glmedge
    if (has("<|user|>") && has("<|endoftext|>")) return "zephyr";
    if (has("bos_token + message['role']")) return "";  // monarch
    if (has("<start_of_turn>")) return "gemma";
    if (has("'\\n\\nAssistant: ' + eos_token")) return "";  // orion
    if (has("GPT4 Correct ")) return "";                    // openchat
    if (has("USER: ") && has("ASSISTANT: ")) return has("SYSTEM: ") ? "vicuna-orca" : "vicuna";
    if (has("### Instruction:") && has("<|EOT|>")) return "deepseek";
    if (has("<|START_OF_TURN_TOKEN|>") && has("<|USER_TOKEN|>")) return "";  // command-r
    if (has("<|start_header_id|>") && has("<|end_header_id|>")) return "llama3";
    if (has("[gMASK]sop")) return "";                                          // chatglm3
    if (has("<用户>")) return "";                                              // minicpm
    if (has("'Assistant: ' + message['content'] + eos_token")) return "";      // deepseek2
    if (has("<｜Assistant｜>") && has("<｜User｜>") && has("<｜end▁of▁sentence｜>")) return "deepseek3";
    return "";
}

}  // namespace

ChatTemplate ChatTemplate::named(const std::string& name) {
    for (const auto* table : {&detail::builtin_formats(), &detail::family_formats()}) {
        for (const auto& format : *table) {
            if (name == format.name) return ChatTemplate(format.name, format.render);
        }
    }
    throw usage_error("chat template '" + name + "' is unknown; choose one of: " + joined_names());
}

ChatTemplate ChatTemplate::detect(const std::string& jinja_source) {
    for (const auto& name : chat_template_names()) {
        if (jinja_source == name) return named(name);  // a bare name, as llama.cpp accepts one
    }
    std::string name = detect_family(jinja_source);
    if (name.empty()) name = detect_builtin(jinja_source);
    if (name.empty()) {
        size_t cut = std::min<size_t>(jinja_source.size(), 60);
        while (cut < jinja_source.size() && (static_cast<unsigned char>(jinja_source[cut]) & 0xC0) == 0x80) --cut;
        const std::string start = jinja_source.substr(0, cut);  // whole UTF-8 characters only
        throw Error(ErrorKind::BadInput, "tokenizer.chat_template: not a chat template dilmodeli recognises (" +
                                             std::to_string(jinja_source.size()) + " bytes starting '" + start +
                                             "'); name one with --chat-template: " + joined_names());
    }
    return named(name);
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                 const SpecialTokens& special) const {
    if (messages.empty()) throw usage_error("messages: the conversation is empty");
    for (size_t i = 0; i < messages.size(); ++i) {
        const std::string& role = messages[i].role;
        if (role != "system" && role != "user" && role != "assistant") {
            throw usage_error("messages[" + std::to_string(i) + "].role: '" + role +
                              "' is not one of system, user, assistant");
        }
    }
    return renderer_(messages, add_generation_prompt, special);
}

std::vector<std::string> chat_template_names() {
    std::vector<std::string> names;
    for (const auto* table : {&detail::builtin_formats(), &detail::family_formats()}) {
        for (const auto& format : *table) names.emplace_back(format.name);
    }
    return names;
}

std::string template_date_today() {
    // Month names fixed in English: llama.cpp formats through the classic locale, whatever
    // LC_TIME the process runs with.
    static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char text[32];
    std::snprintf(text, sizeof(text), "%02d %s %04d", local.tm_mday, kMonths[local.tm_mon], local.tm_year + 1900);
    return text;
}

}  // namespace dilmodeli::chat
