#include "serve/completion_handler.h"

#include <httplib.h>

#include <chrono>

#include "serve/chat_loop.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::serve {

using nlohmann::json;

namespace {

// Generated text may end inside a UTF-8 character (a byte token at the limit): such bytes become
// U+FFFD rather than an exception from the JSON writer.
std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

std::vector<int32_t> chat_prompt(const ServedModel& served, const std::vector<chat::ChatMessage>& messages) {
    if (!served.chat_template)
        throw ApiError(400, "this server has no chat template: " + served.chat_template_error);
    return chat_prompt_tokens(*served.tokenizer, *served.chat_template, messages);
}

int64_t unix_time() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string event(const json& value) { return "data: " + dump(value) + "\n\n"; }

// Streams the job's deltas as Server-Sent Events; a client that goes away cancels the job.
void stream(httplib::Response& res, std::shared_ptr<Job> job, ResponseIdentity who,
            const tokenizer::Tokenizer* tokenizer, bool include_usage) {
    auto first = std::make_shared<bool>(true);
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [job, who, tokenizer, include_usage, first](size_t, httplib::DataSink& sink) {
            std::vector<CompletionDelta> deltas;
            const bool more = job->take(deltas, std::chrono::milliseconds(100));
            const bool wants_logprobs = job->request().top_logprobs >= 0;
            std::string text;
            for (const CompletionDelta& d : deltas) text += d.text;
            const bool has_logprobs = wants_logprobs && !deltas.empty();
            if (!text.empty() || has_logprobs || *first) {
                const json logprobs = logprobs_json(deltas, *tokenizer, who.chat, has_logprobs);
                const std::string data = event(chunk_json(who, text, FinishReason::None, logprobs, *first));
                *first = false;
                if (!sink.write(data.data(), data.size())) {
                    job->cancel();
                    return false;
                }
            } else if (!sink.is_writable()) {
                job->cancel();
                return false;
            }
            if (more) return true;
            const FinishReason finish = job->finish_reason();
            std::string tail;
            if (finish == FinishReason::Error || finish == FinishReason::Cancelled) {
                tail = event(error_body(finish == FinishReason::Error ? 500 : 503,
                                        finish == FinishReason::Error ? job->error() : "the server is shutting down"));
            } else {
                tail = event(chunk_json(who, "", finish, nullptr, false));
                if (include_usage) {
                    json usage = chunk_json(who, "", FinishReason::None, nullptr, false);
                    usage["choices"] = json::array();
                    usage["usage"] = usage_json(job->usage());
                    tail += event(usage);
                }
            }
            tail += "data: [DONE]\n\n";
            sink.write(tail.data(), tail.size());
            sink.done();
            return true;
        },
        [job](bool) { job->cancel(); });
}

}  // namespace

void handle_completion(ServedModel& served, const ServerOptions& options, bool chat, const std::string& id,
                       const httplib::Request& req, httplib::Response& res) {
    ApiRequest request = parse_api_request(req.body, chat, options.defaults);
    if (!request.model.empty() && request.model != options.model_name)
        throw ApiError(404, "the model '" + request.model + "' is not served here; this server serves '" +
                                options.model_name + "'", "model");
    request.completion.prompt = chat ? chat_prompt(served, request.messages)
                                     : served.tokenizer->encode(request.prompt, served.tokenizer->add_bos_default(), true);
    const ResponseIdentity who{id, unix_time(), options.model_name, chat};
    std::shared_ptr<Job> job = served.engine->submit(std::move(request.completion));
    if (request.stream) return stream(res, std::move(job), who, served.tokenizer, request.include_usage);

    std::vector<CompletionDelta> deltas;
    while (job->take(deltas, std::chrono::milliseconds(1000))) {
    }
    const FinishReason finish = job->finish_reason();
    if (finish == FinishReason::Error) return reply_error(res, 500, job->error(), {});
    if (finish == FinishReason::Cancelled) return reply_error(res, 503, "the server is shutting down", {});
    std::string text;
    for (const CompletionDelta& d : deltas) text += d.text;
    const json logprobs = logprobs_json(deltas, *served.tokenizer, chat, job->request().top_logprobs >= 0);
    res.set_content(dump(response_json(who, text, finish, job->usage(), logprobs)), "application/json");
}

void handle_embeddings(ServedModel& served, const ServerOptions& options, const std::string& body,
                       httplib::Response& res) {
    if (!served.embeddings) throw ApiError(501, "this server does not compute embeddings");
    const json request = parse_json_object(body);
    if (request.contains("model") && !request["model"].is_null() &&
        (!request["model"].is_string() || request["model"] != options.model_name))
        throw ApiError(404, "the model " + request["model"].dump() + " is not served here; this server serves '" +
                                options.model_name + "'", "model");
    if (request.contains("encoding_format") && request["encoding_format"] != "float")
        throw ApiError(400, "'encoding_format' must be \"float\"", "encoding_format");
    std::vector<std::string> texts;
    const json input = request.contains("input") ? request["input"] : json();
    if (input.is_string()) {
        texts.push_back(input.get<std::string>());
    } else if (input.is_array() && !input.empty() && input.size() <= 256) {
        for (const json& text : input) {
            if (!text.is_string()) throw ApiError(400, "'input' must hold strings", "input");
            texts.push_back(text.get<std::string>());
        }
    } else {
        throw ApiError(400, "'input' must be a string or an array of 1 to 256 strings", "input");
    }
    const EmbeddingService::Result result = served.embeddings->embed(texts);
    json data = json::array();
    for (size_t i = 0; i < result.vectors.size(); ++i)
        data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", result.vectors[i]}});
    res.set_content(dump(json{{"object", "list"},
                              {"data", data},
                              {"model", options.model_name},
                              {"usage", {{"prompt_tokens", result.prompt_tokens}, {"total_tokens", result.prompt_tokens}}}}),
                    "application/json");
}

void handle_tokenize(const tokenizer::Tokenizer& tokenizer, const std::string& body, httplib::Response& res) {
    json request = parse_json_object(body);
    if (!request.contains("content") || !request["content"].is_string())
        throw ApiError(400, "'content' must be a string", "content");
    auto flag = [&](const char* name) {
        if (!request.contains(name)) return false;
        if (!request[name].is_boolean()) throw ApiError(400, std::string("'") + name + "' must be true or false", name);
        return request[name].get<bool>();
    };
    const bool add_special = flag("add_special");
    const bool with_pieces = flag("with_pieces");
    const std::vector<int32_t> ids = tokenizer.encode(request["content"].get<std::string>(), add_special, true);
    json tokens = json::array();
    for (int32_t id : ids) {
        if (with_pieces)
            tokens.push_back({{"id", id}, {"piece", std::string(tokenizer.token_to_piece(id))}});
        else
            tokens.push_back(id);
    }
    res.set_content(dump(json{{"tokens", tokens}}), "application/json");
}

void handle_detokenize(const tokenizer::Tokenizer& tokenizer, const std::string& body, httplib::Response& res) {
    json request = parse_json_object(body);
    if (!request.contains("tokens") || !request["tokens"].is_array())
        throw ApiError(400, "'tokens' must be an array of token ids", "tokens");
    std::vector<int32_t> ids;
    for (const json& id : request["tokens"]) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= tokenizer.vocab_size())
            throw ApiError(400, "'tokens' holds " + id.dump() + ", not a token id below " +
                                    std::to_string(tokenizer.vocab_size()), "tokens");
        ids.push_back(int32_t(id.get<int64_t>()));
    }
    res.set_content(dump(json{{"content", tokenizer.decode(ids)}}), "application/json");
}

}  // namespace dilmodeli::serve
