#pragma once
// Chat templates: the prompt text a chat model expects for a conversation of system, user and
// assistant messages. No Jinja engine: each supported format is a hand-written renderer, picked
// by name (llama.cpp's names for its built-in formats) or recognised in a GGUF's
// tokenizer.chat_template by telltale substrings, as llama.cpp's llm_chat_detect_template does.
// Renderers of model families reproduce llama.cpp's Jinja rendering of the real templates byte
// for byte (tests/chat/golden holds what llama.cpp printed); tool calls are out of scope.
#include <string>
#include <utility>
#include <vector>

namespace dilmodeli::chat {

struct ChatMessage {
    std::string role;     // system, user, assistant
    std::string content;
};

// The model's BOS/EOS text, for templates that print them (Llama 3.x, Gemma, Mistral, DeepSeek
// R1 print bos_token first; Phi-3.5 ends an unfinished prompt with eos_token). llama.cpp strips a
// leading BOS from the rendered prompt when the vocabulary adds one itself; a caller that
// tokenizes with add_bos must do the same, or tokenize without it.
struct SpecialTokens {
    std::string bos;
    std::string eos;
};

class ChatTemplate {
public:
    // llama.cpp's names for its built-in formats (chatml, llama2, llama3, gemma, phi3,
    // mistral-v7, smolvlm, ...), rendered as its non-Jinja llama_chat_apply_template does, and
    // the model families below (qwen2.5, qwen3, llama3.x, gemma2, ...), rendered as llama.cpp's
    // Jinja engine renders their templates. Error(Usage) for an unknown name; the message lists
    // the choices.
    static ChatTemplate named(const std::string& name);
    // Recognises a tokenizer.chat_template Jinja source: a model family whose template we
    // reproduce exactly, else the built-in format llama.cpp's llm_chat_detect_template would
    // pick. Error(BadInput) naming tokenizer.chat_template when unrecognised.
    static ChatTemplate detect(const std::string& jinja_source);

    const std::string& name() const { return name_; }

    // The prompt text for a conversation; add_generation_prompt opens the assistant's turn.
    // Error(Usage) for what the real template refuses (roles out of order for Gemma and Mistral,
    // a role other than system/user/assistant, an empty conversation).
    std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                       const SpecialTokens& special) const;

    using Renderer = std::string (*)(const std::vector<ChatMessage>& messages,
                                     bool add_generation_prompt, const SpecialTokens& special);

private:
    ChatTemplate(std::string name, Renderer renderer) : name_(std::move(name)), renderer_(renderer) {}
    std::string name_;
    Renderer renderer_;
};

// Every name named() accepts: llama.cpp's built-in formats first, then the model families.
std::vector<std::string> chat_template_names();

// The "Today Date" that Llama 3.x templates print: the local date as "%d %b %Y" ("07 Dec 2026"),
// which is what llama.cpp passes them as date_string (its common_chat_extra_context).
std::string template_date_today();

}  // namespace dilmodeli::chat
