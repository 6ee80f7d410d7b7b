#pragma once
// The OpenAI-compatible HTTP front of an Engine (cpp-httplib, as llama-server uses): completions
// and chat completions, streamed as Server-Sent Events or whole; tokenize / detokenize; models,
// health and Prometheus metrics. Every error is OpenAI's JSON shape with its HTTP status.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "chat/chat_template.h"
#include "serve/embedding_service.h"
#include "serve/engine.h"
#include "serve/openai_api.h"

namespace httplib { class Server; }

namespace dilmodeli::serve {

struct ServerOptions {
    std::string host = "127.0.0.1";  // loopback unless asked: a model server is not a public service by default
    int port = 8080;                 // 0: any free port
    std::string api_key;             // non-empty: every endpoint but /health wants "Authorization: Bearer KEY"
    std::string model_name;          // what /v1/models lists and requests may name
    size_t max_body_bytes = size_t(4) << 20;
    int http_threads = 0;            // 0: 2 per slot plus 4
    uint64_t max_requests = 0;       // stop after answering this many, probes aside (0: never), for tests and batch jobs
    RequestDefaults defaults;
};

// What the server answers with once the model has loaded; until then model endpoints say 503.
struct ServedModel {
    Engine* engine = nullptr;
    EmbeddingService* embeddings = nullptr;  // null: /v1/embeddings answers 501
    const tokenizer::Tokenizer* tokenizer = nullptr;
    std::optional<chat::ChatTemplate> chat_template;
    std::string chat_template_error;  // why there is none: the chat endpoint's 400 says so
};

class HttpServer {
public:
    explicit HttpServer(ServerOptions options);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds host:port; returns the port (the one chosen when options.port is 0). Error(Usage)
    // when the address cannot be bound.
    int bind();
    // Serves until stop() or max_requests; returns then.
    void serve();
    // Safe from any thread, a signal watcher included.
    void stop();
    // The model is ready: the model endpoints answer from now on. Must outlive the server.
    void attach(ServedModel model);
    uint64_t requests_answered() const { return answered_; }

private:
    void route();
    ServedModel* model();  // null while loading

    ServerOptions options_;
    std::unique_ptr<httplib::Server> http_;
    std::mutex model_mutex_;
    std::optional<ServedModel> model_;
    std::atomic<uint64_t> answered_{0};
    std::atomic<uint64_t> next_id_{0};
    std::atomic<uint64_t> http_errors_{0};
    std::atomic<bool> serving_{false};
    std::atomic<bool> stop_requested_{false};
    int listen_socket_ = -1;  // httplib's listening socket, to give it a real backlog
};

}  // namespace dilmodeli::serve
