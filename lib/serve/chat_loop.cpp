#include "serve/chat_loop.h"

#include <spdlog/spdlog.h>

#include <istream>
#include <ostream>

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "serve/engine.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::serve {

std::optional<chat::ChatTemplate> resolve_chat_template(const gguf::GgufFile& file, const std::string& requested,
                                                        std::string& why_none) {
    if (!requested.empty()) return chat::ChatTemplate::named(requested);  // Error(Usage) lists the names
    const std::string source = file.get_string_or("tokenizer.chat_template", "");
    std::string names;
    for (const std::string& name : chat::chat_template_names()) names += (names.empty() ? "" : ", ") + name;
    if (source.empty()) {
        why_none = "the model file has no tokenizer.chat_template; choose one with --chat-template (" + names + ")";
        return std::nullopt;
    }
    try {
        return chat::ChatTemplate::detect(source);
    } catch (const Error& e) {
        why_none = std::string(e.what()) + "; choose one with --chat-template (" + names + ")";
        return std::nullopt;
    }
}

namespace {

std::string special_text(const tokenizer::Tokenizer& tokenizer, int32_t id) {
    return id >= 0 ? tokenizer.vocabulary().text(id) : std::string();
}

}  // namespace

std::vector<int32_t> chat_prompt_tokens(const tokenizer::Tokenizer& tokenizer, const chat::ChatTemplate& chat_template,
                                        const std::vector<chat::ChatMessage>& messages) {
    const chat::SpecialTokens special{special_text(tokenizer, tokenizer.bos_id()), special_text(tokenizer, tokenizer.eos_id())};
    std::string text = chat_template.render(messages, true, special);
    // As llama.cpp: a template that prints BOS itself would otherwise get a second one.
    const bool adds_bos = tokenizer.add_bos_default();
    if (adds_bos && !special.bos.empty() && text.compare(0, special.bos.size(), special.bos) == 0)
        text.erase(0, special.bos.size());
    return tokenizer.encode(text, adds_bos, true);
}

std::vector<ChatTurn> run_chat(Engine& engine, const tokenizer::Tokenizer& tokenizer,
                               const chat::ChatTemplate& chat_template, std::istream& in, std::ostream& out,
                               const ChatOptions& options) {
    std::vector<chat::ChatMessage> conversation;
    auto start_over = [&] {
        conversation.clear();
        if (!options.system_prompt.empty()) conversation.push_back({"system", options.system_prompt});
    };
    start_over();
    const size_t first_turn = conversation.size();
    if (options.interactive) out << "(/reset forgets the conversation, /exit or Ctrl-D ends it)\n";
    std::vector<ChatTurn> turns;
    for (;;) {
        if (options.interactive) out << "> " << std::flush;
        std::string line;
        if (!std::getline(in, line) || line == "/exit") break;
        if (line == "/reset") {
            start_over();
            continue;
        }
        if (line.empty()) continue;
        conversation.push_back({"user", line});
        ChatTurn turn;
        // Leave out the oldest exchanges until the prompt leaves room for a reply (a quarter of
        // the context, or what max_tokens asks, whichever is less).
        const int64_t room = options.max_tokens > 0 ? std::min(options.max_tokens, engine.context() / 4) : engine.context() / 4;
        std::vector<int32_t> prompt = chat_prompt_tokens(tokenizer, chat_template, conversation);
        while (int64_t(prompt.size()) + room > engine.context() && conversation.size() > first_turn + 1) {
            conversation.erase(conversation.begin() + int64_t(first_turn));
            ++turn.dropped_messages;
            prompt = chat_prompt_tokens(tokenizer, chat_template, conversation);
        }
        CompletionRequest request;
        request.prompt = std::move(prompt);
        request.max_tokens = options.max_tokens;
        request.sampler = options.sampler;
        std::shared_ptr<Job> job;
        try {
            job = engine.submit(std::move(request));
        } catch (const SubmitError& e) {
            throw usage_error(e.what());
        }
        std::vector<CompletionDelta> deltas;
        for (bool more = true; more;) {
            deltas.clear();
            more = job->take(deltas, std::chrono::milliseconds(100));
            for (const CompletionDelta& d : deltas) {
                out << d.text << std::flush;
                turn.reply += d.text;
            }
        }
        if (job->finish_reason() == FinishReason::Error) throw Error(ErrorKind::Io, job->error());
        out << '\n' << std::flush;
        const CompletionUsage usage = job->usage();
        turn.prompt_tokens = usage.prompt_tokens;
        turn.cached_tokens = usage.cached_tokens;
        turn.completion_tokens = usage.completion_tokens;
        spdlog::debug("turn {}: prompt {} tokens ({} reused), reply {} tokens{}", turns.size() + 1, turn.prompt_tokens,
                      turn.cached_tokens, turn.completion_tokens,
                      turn.dropped_messages ? ", oldest messages left out: " + std::to_string(turn.dropped_messages) : "");
        conversation.push_back({"assistant", turn.reply});
        turns.push_back(std::move(turn));
    }
    return turns;
}

}  // namespace dilmodeli::serve
