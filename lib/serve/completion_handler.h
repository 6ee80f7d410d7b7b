#pragma once
// The request handlers behind the HTTP routes that use the model: a completion or chat request
// from JSON to a job, answered whole or streamed as Server-Sent Events; tokenize and detokenize.
#include <string>

#include "serve/http_server.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace dilmodeli::serve {

// Sets an OpenAI-shaped error body and the status.
void reply_error(httplib::Response& res, int status, const std::string& message, const std::string& param);

// Throws ApiError / SubmitError for what the client must fix, or when the server is full.
void handle_completion(ServedModel& served, const ServerOptions& options, bool chat, const std::string& id,
                       const httplib::Request& req, httplib::Response& res);
void handle_embeddings(ServedModel& served, const ServerOptions& options, const std::string& body,
                       httplib::Response& res);
void handle_tokenize(const tokenizer::Tokenizer& tokenizer, const std::string& body, httplib::Response& res);
void handle_detokenize(const tokenizer::Tokenizer& tokenizer, const std::string& body, httplib::Response& res);

}  // namespace dilmodeli::serve
