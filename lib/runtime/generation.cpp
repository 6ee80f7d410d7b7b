#include "runtime/generation.h"

#include <chrono>

#include "common/error.h"
#include "model/model.h"
#include "tokenizer/token_streamer.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::runtime {

using namespace model;  // the runtime drives the model layer's sessions
namespace {
double milliseconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

double GenerationResult::prompt_tokens_per_second() const {
    return prompt_ms > 0 ? 1000.0 * double(prompt_tokens.size()) / prompt_ms : 0.0;
}

double GenerationResult::generation_tokens_per_second() const {
    // The first generated token comes from the prompt's logits; each later one costs a decode.
    return generation_ms > 0 && tokens.size() > 1 ? 1000.0 * double(tokens.size() - 1) / generation_ms : 0.0;
}

GenerationResult generate(Session& session, const tokenizer::Tokenizer& tokenizer, const std::string& prompt,
                          const GenerationOptions& options, const std::function<void(const std::string&)>& on_text) {
    if (options.n_predict < 0) throw usage_error("-n " + std::to_string(options.n_predict) + " is negative");
    GenerationResult result;
    result.prompt_tokens = tokenizer.encode(prompt, tokenizer.add_bos_default());
    if (result.prompt_tokens.empty()) throw usage_error("the prompt is empty and the model adds no BOS token");
    const int64_t n_prompt = int64_t(result.prompt_tokens.size());
    if (session.n_past() + n_prompt >= session.context())
        throw usage_error("the prompt has " + std::to_string(n_prompt) + " tokens, which does not fit in --ctx " +
                          std::to_string(session.context()) + " with room to generate");

    Sampler sampler(options.sampler);
    tokenizer::TokenStreamer streamer(tokenizer);
    auto emit = [&](const std::string& piece) {
        if (piece.empty()) return;
        result.text += piece;
        if (on_text) on_text(piece);
    };

    auto start = std::chrono::steady_clock::now();
    session.decode(result.prompt_tokens.data(), n_prompt, false);
    result.prompt_ms = milliseconds_since(start);

    std::vector<int32_t> history = result.prompt_tokens;
    const int64_t n_vocab = session.model().config().n_vocab;
    start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < options.n_predict; ++i) {
        const int32_t next = sampler.sample(session.logits().data(), n_vocab, history);
        if (options.stop_at_end_of_generation && tokenizer.is_end_of_generation(next)) {
            result.stopped_at_eos = true;
            break;
        }
        result.tokens.push_back(next);
        history.push_back(next);
        emit(streamer.push(next));
        if (i + 1 == options.n_predict) break;
        if (session.n_past() >= session.context()) {
            result.stopped_at_context = true;
            break;
        }
        session.decode(&next, 1, false);
    }
    result.generation_ms = milliseconds_since(start);
    emit(streamer.flush());
    return result;
}

}  // namespace dilmodeli::runtime
