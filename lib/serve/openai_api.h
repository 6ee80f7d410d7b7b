#pragma once
// OpenAI's HTTP API as JSON: requests of /v1/completions and /v1/chat/completions read into the
// engine's terms (with a 400 naming the field for anything wrong), and responses, stream chunks
// and errors written in OpenAI's shapes.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "serve/job.h"

namespace dilmodeli::tokenizer { class Tokenizer; }

namespace dilmodeli::serve {

// An error a client gets as {"error": {"message", "type", "code"}} with this HTTP status.
class ApiError : public std::runtime_error {
public:
    ApiError(int status, const std::string& message, std::string param = {})
        : std::runtime_error(message), status_(status), param_(std::move(param)) {}
    int status() const { return status_; }
    const std::string& param() const { return param_; }

private:
    int status_;
    std::string param_;
};

nlohmann::json error_body(int status, const std::string& message, const std::string& param = {});

// A request body as a JSON object; ApiError(400) for anything else.
nlohmann::json parse_json_object(const std::string& body);

// The server's defaults for what a request leaves out.
struct RequestDefaults {
    runtime::SamplerOptions sampler;  // its seed is the server's --seed
    int64_t max_tokens = -1;          // -1: until end of generation or the context is full
};

struct ApiRequest {
    bool chat = false;
    std::string model;                        // as the client named it ("" if absent)
    std::string prompt;                       // /v1/completions
    std::vector<chat::ChatMessage> messages;  // /v1/chat/completions
    CompletionRequest completion;             // everything but the prompt's tokens
    bool stream = false;
    bool include_usage = false;               // stream_options.include_usage
};

// ApiError(400) for malformed JSON, wrong types, missing fields and values out of range.
ApiRequest parse_api_request(const std::string& body, bool chat, const RequestDefaults& defaults);

// What every response and chunk of one request shares.
struct ResponseIdentity {
    std::string id;
    int64_t created = 0;
    std::string model;
    bool chat = false;
};

// The logprobs object of a choice for these deltas, in the shape the endpoint uses; null when the
// request asked for none.
nlohmann::json logprobs_json(const std::vector<CompletionDelta>& deltas, const tokenizer::Tokenizer& tokenizer,
                             bool chat, bool requested);

nlohmann::json usage_json(const CompletionUsage& usage);

// The whole answer of a request that did not stream.
nlohmann::json response_json(const ResponseIdentity& who, const std::string& text, FinishReason finish,
                             const CompletionUsage& usage, const nlohmann::json& logprobs);

// One stream chunk: text (and logprobs) so far not sent, finish_reason once finished. A chat
// stream's first chunk carries the assistant role.
nlohmann::json chunk_json(const ResponseIdentity& who, const std::string& text, FinishReason finish,
                          const nlohmann::json& logprobs, bool first);

}  // namespace dilmodeli::serve
