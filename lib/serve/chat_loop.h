#pragma once
// `dilmodeli chat`: a conversation in the terminal, or one user turn a line from a pipe. Each
// turn renders the whole conversation with the model's template and goes through a one-slot
// engine, whose prompt reuse makes a turn cost only its new tokens.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "runtime/sampler.h"

namespace dilmodeli::gguf { class GgufFile; }
namespace dilmodeli::tokenizer { class Tokenizer; }

namespace dilmodeli::serve {

class Engine;

// `requested` (a name of chat::chat_template_names()) or the file's tokenizer.chat_template.
// Error(Usage) for an unknown name. Without either, or with a template that is not recognised,
// none, and `why_none` says so and how to choose one.
std::optional<chat::ChatTemplate> resolve_chat_template(const gguf::GgufFile& file, const std::string& requested,
                                                        std::string& why_none);

// The tokens of a conversation rendered with an open assistant turn, tokenized as llama.cpp does
// (special tokens parsed; a BOS the template prints is not doubled by the vocabulary's own).
std::vector<int32_t> chat_prompt_tokens(const tokenizer::Tokenizer& tokenizer, const chat::ChatTemplate& chat_template,
                                        const std::vector<chat::ChatMessage>& messages);

struct ChatOptions {
    std::string system_prompt;  // empty: none
    int64_t max_tokens = -1;    // per reply; -1: until end of turn or the context is full
    runtime::SamplerOptions sampler;
    bool interactive = false;   // prints a "> " prompt and the help line
};

struct ChatTurn {
    std::string reply;
    int64_t prompt_tokens = 0;
    int64_t cached_tokens = 0;     // of the prompt, reused from the previous turn
    int64_t completion_tokens = 0;
    int64_t dropped_messages = 0;  // oldest turns left out so the conversation fits the context
};

// Reads user lines from `in` until end of input or "/exit" ("/reset" forgets the conversation),
// streams each reply to `out` followed by a newline, and returns the turns.
std::vector<ChatTurn> run_chat(Engine& engine, const tokenizer::Tokenizer& tokenizer,
                               const chat::ChatTemplate& chat_template, std::istream& in, std::ostream& out,
                               const ChatOptions& options);

}  // namespace dilmodeli::serve
