#include "serve/openai_api.h"

#include <cmath>

#include "tokenizer/tokenizer.h"

namespace dilmodeli::serve {

using nlohmann::json;

namespace {

const char* error_type(int status) {
    switch (status) {
        case 401: return "authentication_error";
        case 404: return "not_found_error";
        case 413: return "invalid_request_error";
        case 503: return "unavailable_error";
        default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

[[noreturn]] void bad_field(const std::string& field, const std::string& what) {
    throw ApiError(400, "'" + field + "' " + what, field);
}

const char* json_type_name(const json& value) { return value.type_name(); }

// The field's value, or null when absent or null.
const json& field(const json& object, const std::string& name) {
    static const json null_value;
    const auto it = object.find(name);
    return it == object.end() ? null_value : *it;
}

double number_field(const json& object, const std::string& name, double fallback, double low, double high) {
    const json& value = field(object, name);
    if (value.is_null()) return fallback;
    if (!value.is_number()) bad_field(name, std::string("must be a number, not ") + json_type_name(value));
    const double x = value.get<double>();
    if (!std::isfinite(x) || x < low || x > high)
        bad_field(name, "is " + value.dump() + ", outside " + json(low).dump() + " .. " + json(high).dump());
    return x;
}

int64_t integer_field(const json& object, const std::string& name, int64_t fallback, int64_t low, int64_t high) {
    const json& value = field(object, name);
    if (value.is_null()) return fallback;
    if (!value.is_number_integer()) bad_field(name, std::string("must be an integer, not ") + json_type_name(value));
    const int64_t x = value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX
                                                                                               : value.get<int64_t>();
    if (x < low || x > high) bad_field(name, "is " + value.dump() + ", outside " + std::to_string(low) + " .. " + std::to_string(high));
    return x;
}

bool bool_field(const json& object, const std::string& name, bool fallback) {
    const json& value = field(object, name);
    if (value.is_null()) return fallback;
    if (!value.is_boolean()) bad_field(name, std::string("must be true or false, not ") + json_type_name(value));
    return value.get<bool>();
}

std::string string_field(const json& object, const std::string& name, bool required) {
    const json& value = field(object, name);
    if (value.is_null()) {
        if (required) bad_field(name, "is required");
        return {};
    }
    if (!value.is_string()) bad_field(name, std::string("must be a string, not ") + json_type_name(value));
    return value.get<std::string>();
}

std::vector<std::string> stop_field(const json& object) {
    const json& value = field(object, "stop");
    if (value.is_null()) return {};
    std::vector<std::string> stops;
    if (value.is_string()) {
        stops.push_back(value.get<std::string>());
    } else if (value.is_array()) {
        if (value.size() > 16) bad_field("stop", "has " + std::to_string(value.size()) + " strings; at most 16");
        for (const json& item : value) {
            if (!item.is_string()) bad_field("stop", std::string("must hold strings, not ") + json_type_name(item));
            stops.push_back(item.get<std::string>());
        }
    } else {
        bad_field("stop", std::string("must be a string or an array of strings, not ") + json_type_name(value));
    }
    for (const std::string& stop : stops)
        if (stop.empty()) bad_field("stop", "holds an empty string");
    return stops;
}

// A message's content: a string, or OpenAI's array of parts of which only text parts are read.
std::string message_content(const json& message, size_t index) {
    const std::string where = "messages[" + std::to_string(index) + "].content";
    const json& content = field(message, "content");
    if (content.is_string()) return content.get<std::string>();
    if (content.is_null()) return {};
    if (!content.is_array()) bad_field(where, std::string("must be a string or an array of parts, not ") + json_type_name(content));
    std::string text;
    for (const json& part : content) {
        if (!part.is_object() || field(part, "type") != "text" || !field(part, "text").is_string())
            bad_field(where, "may only hold parts {\"type\": \"text\", \"text\": ...}");
        text += part["text"].get<std::string>();
    }
    return text;
}

std::vector<chat::ChatMessage> messages_field(const json& object) {
    const json& value = field(object, "messages");
    if (value.is_null()) bad_field("messages", "is required");
    if (!value.is_array()) bad_field("messages", std::string("must be an array, not ") + json_type_name(value));
    if (value.empty()) bad_field("messages", "is empty");
    std::vector<chat::ChatMessage> messages;
    for (size_t i = 0; i < value.size(); ++i) {
        const json& message = value[i];
        if (!message.is_object()) bad_field("messages[" + std::to_string(i) + "]", "must be an object");
        const std::string role = string_field(message, "role", true);
        if (role != "system" && role != "user" && role != "assistant")
            bad_field("messages[" + std::to_string(i) + "].role", "is '" + role + "', not system, user or assistant");
        messages.push_back({role, message_content(message, i)});
    }
    return messages;
}

}  // namespace

json error_body(int status, const std::string& message, const std::string& param) {
    json error = {{"message", message}, {"type", error_type(status)}, {"code", status}};
    error["param"] = param.empty() ? json(nullptr) : json(param);
    return json{{"error", error}};
}

json parse_json_object(const std::string& body) {
    json request;
    try {
        request = json::parse(body);
    } catch (const json::exception& e) {
        throw ApiError(400, std::string("the request body is not valid JSON: ") + e.what());
    }
    if (!request.is_object()) throw ApiError(400, "the request body must be a JSON object");
    return request;
}

ApiRequest parse_api_request(const std::string& body, bool chat, const RequestDefaults& defaults) {
    const json request = parse_json_object(body);

    ApiRequest parsed;
    parsed.chat = chat;
    parsed.model = string_field(request, "model", false);
    if (chat) {
        parsed.messages = messages_field(request);
    } else {
        const json& prompt = field(request, "prompt");
        if (prompt.is_array() && prompt.size() == 1 && prompt[0].is_string())
            parsed.prompt = prompt[0].get<std::string>();
        else if (prompt.is_string() || prompt.is_null())
            parsed.prompt = string_field(request, "prompt", true);
        else
            bad_field("prompt", std::string("must be a string (one prompt a request), not ") + json_type_name(prompt));
    }
    if (integer_field(request, "n", 1, 1, 1) != 1) bad_field("n", "must be 1");

    CompletionRequest& c = parsed.completion;
    const bool has_max_completion = !field(request, "max_completion_tokens").is_null();
    c.max_tokens = integer_field(request, has_max_completion ? "max_completion_tokens" : "max_tokens",
                                 defaults.max_tokens, 0, INT32_MAX);
    runtime::SamplerOptions& s = c.sampler;
    s = defaults.sampler;
    s.temperature = float(number_field(request, "temperature", s.temperature, 0.0, 100.0));
    s.top_p = float(number_field(request, "top_p", s.top_p, 0.0, 1.0));
    if (s.top_p <= 0.0f) bad_field("top_p", "must be above 0");
    s.top_k = int(integer_field(request, "top_k", s.top_k, 0, INT32_MAX));
    s.min_p = float(number_field(request, "min_p", s.min_p, 0.0, 1.0));
    s.repeat_penalty = float(number_field(request, "repeat_penalty", s.repeat_penalty, 0.0, 100.0));
    if (s.repeat_penalty <= 0.0f) bad_field("repeat_penalty", "must be above 0");
    s.seed = uint64_t(integer_field(request, "seed", int64_t(s.seed), INT64_MIN, INT64_MAX));
    c.stop = stop_field(request);
    c.ignore_eos = bool_field(request, "ignore_eos", false);
    if (chat) {
        const bool wants = bool_field(request, "logprobs", false);
        const int64_t top = integer_field(request, "top_logprobs", 0, 0, 20);
        if (!wants && !field(request, "top_logprobs").is_null()) bad_field("top_logprobs", "needs \"logprobs\": true");
        c.top_logprobs = wants ? int(top) : -1;
    } else {
        c.top_logprobs = int(integer_field(request, "logprobs", -1, 0, 20));
    }
    parsed.stream = bool_field(request, "stream", false);
    const json& options = field(request, "stream_options");
    if (!options.is_null()) {
        if (!options.is_object()) bad_field("stream_options", "must be an object");
        parsed.include_usage = bool_field(options, "include_usage", false);
    }
    return parsed;
}

json usage_json(const CompletionUsage& usage) {
    return {{"prompt_tokens", usage.prompt_tokens},
            {"completion_tokens", usage.completion_tokens},
            {"total_tokens", usage.prompt_tokens + usage.completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", usage.cached_tokens}}}};
}

json logprobs_json(const std::vector<CompletionDelta>& deltas, const tokenizer::Tokenizer& tokenizer, bool chat,
                   bool requested) {
    if (!requested) return nullptr;
    auto piece = [&](int32_t id) { return std::string(tokenizer.token_to_piece(id)); };
    auto bytes = [](const std::string& text) {
        json list = json::array();
        for (unsigned char b : text) list.push_back(int(b));
        return list;
    };
    // A token piece may end inside a UTF-8 character; JSON strings must be valid UTF-8.
    auto text_of = [](const std::string& text) { return json(text).dump(-1, ' ', false, json::error_handler_t::replace); };
    if (chat) {
        json content = json::array();
        for (const CompletionDelta& d : deltas)
            for (size_t i = 0; i < d.chosen.size(); ++i) {
                const std::string token = piece(d.chosen[i].token);
                json top = json::array();
                for (const TokenLogprob& t : d.top[i]) {
                    const std::string other = piece(t.token);
                    top.push_back({{"token", json::parse(text_of(other))}, {"logprob", t.logprob}, {"bytes", bytes(other)}});
                }
                content.push_back({{"token", json::parse(text_of(token))},
                                   {"logprob", d.chosen[i].logprob},
                                   {"bytes", bytes(token)},
                                   {"top_logprobs", top}});
            }
        return {{"content", content}};
    }
    json tokens = json::array(), token_logprobs = json::array(), top_logprobs = json::array();
    for (const CompletionDelta& d : deltas)
        for (size_t i = 0; i < d.chosen.size(); ++i) {
            tokens.push_back(json::parse(text_of(piece(d.chosen[i].token))));
            token_logprobs.push_back(d.chosen[i].logprob);
            json top = json::object();
            for (const TokenLogprob& t : d.top[i]) top[json::parse(text_of(piece(t.token))).get<std::string>()] = t.logprob;
            top_logprobs.push_back(top);
        }
    return {{"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top_logprobs}};
}

namespace {
json finish_json(FinishReason finish) {
    return finish == FinishReason::Stop || finish == FinishReason::Length ? json(finish_reason_name(finish))
                                                                          : json(nullptr);
}
}  // namespace

json response_json(const ResponseIdentity& who, const std::string& text, FinishReason finish,
                   const CompletionUsage& usage, const json& logprobs) {
    json choice = {{"index", 0}, {"logprobs", logprobs}, {"finish_reason", finish_json(finish)}};
    if (who.chat)
        choice["message"] = {{"role", "assistant"}, {"content", text}};
    else
        choice["text"] = text;
    return {{"id", who.id},
            {"object", who.chat ? "chat.completion" : "text_completion"},
            {"created", who.created},
            {"model", who.model},
            {"choices", json::array({choice})},
            {"usage", usage_json(usage)}};
}

json chunk_json(const ResponseIdentity& who, const std::string& text, FinishReason finish, const json& logprobs,
                bool first) {
    json choice = {{"index", 0}, {"logprobs", logprobs}, {"finish_reason", finish_json(finish)}};
    if (who.chat) {
        json delta = json::object();
        if (first) delta["role"] = "assistant";
        if (!text.empty() || first) delta["content"] = text;
        choice["delta"] = delta;
    } else {
        choice["text"] = text;
    }
    return {{"id", who.id},
            {"object", who.chat ? "chat.completion.chunk" : "text_completion"},
            {"created", who.created},
            {"model", who.model},
            {"choices", json::array({choice})}};
}

}  // namespace dilmodeli::serve
