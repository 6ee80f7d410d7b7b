#include "serve/http_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "serve/completion_handler.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::serve {

using nlohmann::json;

namespace {

// Compares without returning early, so the time taken does not reveal how much of a key matched.
bool same_secret(const std::string& given, const std::string& expected) {
    unsigned char difference = given.size() == expected.size() ? 0 : 1;
    for (size_t i = 0; i < given.size(); ++i)
        difference |= static_cast<unsigned char>(given[i] ^ expected[i % std::max<size_t>(expected.size(), 1)]);
    return difference == 0;
}

std::string metrics_text(const EngineStats& s, uint64_t http_errors) {
    std::ostringstream out;
    auto metric = [&](const char* name, const char* type, const char* help, double value) {
        out << "# HELP dilmodeli_" << name << ' ' << help << "\n# TYPE dilmodeli_" << name << ' ' << type
            << "\ndilmodeli_" << name << ' ' << value << '\n';
    };
    metric("requests_total", "counter", "Completion requests finished.", double(s.requests));
    metric("http_errors_total", "counter", "Requests answered with a 4xx or 5xx status.", double(http_errors));
    metric("prompt_tokens_total", "counter", "Prompt tokens evaluated (reused ones not counted).", double(s.prompt_tokens));
    metric("generated_tokens_total", "counter", "Tokens generated.", double(s.generated_tokens));
    metric("decode_steps_total", "counter", "Forward passes of the batched sequences.", double(s.steps));
    metric("decode_seconds_total", "counter", "Time spent in forward passes.", s.busy_seconds);
    metric("tokens_per_second", "gauge", "Prompt and generated tokens per second of forward passes.",
           s.busy_seconds > 0 ? double(s.prompt_tokens + s.generated_tokens) / s.busy_seconds : 0.0);
    metric("queue_depth", "gauge", "Requests waiting for a slot.", double(s.queued));
    metric("slots_busy", "gauge", "Slots serving a request.", double(s.slots_busy));
    metric("slots_total", "gauge", "Slots (--parallel).", double(s.slots));
    return out.str();
}

}  // namespace

void reply_error(httplib::Response& res, int status, const std::string& message, const std::string& param) {
    res.status = status;
    // Messages may quote the request, which need not be UTF-8.
    res.set_content(error_body(status, message, param).dump(-1, ' ', false, json::error_handler_t::replace),
                    "application/json");
}

HttpServer::HttpServer(ServerOptions options) : options_(std::move(options)), http_(new httplib::Server) {
    const int threads = options_.http_threads > 0 ? options_.http_threads : 8;
    http_->new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
    http_->set_payload_max_length(options_.max_body_bytes);
    http_->set_keep_alive_timeout(2);
    // httplib writes a response's headers and body, and each streamed event, as separate small
    // writes: with Nagle's algorithm on, each waits for the client's delayed ACK (up to 40 ms).
    http_->set_tcp_nodelay(true);
    // httplib 0.11 listens with a backlog of 5, compiled into Debian's libcpp-httplib. When more
    // clients connect at once than that (32 in the 1,000-request test) while the accepting thread
    // waits for a core, the kernel answers the extra handshakes with SYN cookies and then drops
    // the completed connection, as the accept queue is full; the client, connected as far as it
    // knows, sends its request and gets a reset: httplib's Error::Read before any response.
    // bind() listens again on the same socket with the system's backlog (Linux allows that).
    http_->set_socket_options([this](int socket) {
        httplib::default_socket_options(socket);  // what httplib does when not asked otherwise
        listen_socket_ = socket;                  // the last one tried is the one bound
    });
    route();
}

HttpServer::~HttpServer() { stop(); }

int HttpServer::bind() {
    const int port = options_.port == 0 ? http_->bind_to_any_port(options_.host)
                                        : (http_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
    if (port < 0)
        throw usage_error("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                          " (in use, or not an address of this machine)");
    if (listen_socket_ < 0 || ::listen(listen_socket_, SOMAXCONN) != 0)
        spdlog::warn("the listen backlog stays httplib's 5: clients connecting together may be reset");
    return port;
}

void HttpServer::serve() {
    serving_ = true;
    if (!stop_requested_) http_->listen_after_bind();
    serving_ = false;
}

void HttpServer::stop() {
    stop_requested_ = true;
    // httplib's stop() does nothing before its loop runs: a stop that comes while serve() is
    // starting waits for the loop (serve() itself returns at once when it sees the request first).
    while (serving_ && !http_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    http_->stop();
}

void HttpServer::attach(ServedModel model) {
    std::lock_guard<std::mutex> lock(model_mutex_);
    model_ = std::move(model);
}

ServedModel* HttpServer::model() {
    std::lock_guard<std::mutex> lock(model_mutex_);
    return model_ ? &*model_ : nullptr;
}

void HttpServer::route() {
    httplib::Server& http = *http_;
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        if (options_.api_key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
        const std::string header = req.get_header_value("Authorization");
        const std::string prefix = "Bearer ";
        if (header.compare(0, prefix.size(), prefix) == 0 && same_secret(header.substr(prefix.size()), options_.api_key))
            return httplib::Server::HandlerResponse::Unhandled;
        reply_error(res, 401, "a valid API key is required: send \"Authorization: Bearer KEY\"", {});
        return httplib::Server::HandlerResponse::Handled;
    });
    http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return;
        if (res.status == 404)
            reply_error(res, 404, "no endpoint " + req.method + " " + req.path, {});
        else if (res.status == 413)
            reply_error(res, 413, "the request body is larger than the server's limit", {});
        else
            reply_error(res, res.status, "the request could not be served", {});
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            reply_error(res, 500, e.what(), {});
        } catch (...) {
            reply_error(res, 500, "unknown error", {});
        }
    });
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
        if (res.status >= 400) {
            ++http_errors_;
            std::string message;
            try {
                message = json::parse(res.body).at("error").at("message").get<std::string>();
            } catch (...) {
            }
            spdlog::warn("{} {} -> {}: {}", req.method, req.path, res.status, message);
        } else {
            spdlog::info("{} {} -> {}", req.method, req.path, res.status);
        }
        // Probes do not count towards the bound: a client may poll /health until the model is up.
        if (req.path == "/health" || req.path == "/metrics") return;
        if (options_.max_requests > 0 && ++answered_ >= options_.max_requests) http_->stop();
    });

    http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
        if (!model()) return reply_error(res, 503, "the model is loading", {});
        res.set_content(R"({"status":"ok"})", "application/json");
    });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
        json list = {{"object", "list"},
                     {"data", json::array({{{"id", options_.model_name}, {"object", "model"}, {"created", 0},
                                            {"owned_by", "dilmodeli"}}})}};
        res.set_content(list.dump(), "application/json");
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
        ServedModel* served = model();
        res.set_content(metrics_text(served ? served->engine->stats() : EngineStats{}, http_errors_),
                        "text/plain; version=0.0.4");
    });
    auto with_model = [this](auto handler) {
        return [this, handler](const httplib::Request& req, httplib::Response& res) {
            ServedModel* served = model();
            if (!served) return reply_error(res, 503, "the model is loading", {});
            try {
                handler(*served, req, res);
            } catch (const ApiError& e) {
                reply_error(res, e.status(), e.what(), e.param());
            } catch (const SubmitError& e) {
                reply_error(res, e.status(), e.what(), {});
            } catch (const Error& e) {
                reply_error(res, e.kind() == ErrorKind::Usage || e.kind() == ErrorKind::BadInput ? 400 : 500, e.what(), {});
            }
        };
    };
    for (const bool chat : {false, true}) {
        http.Post(chat ? "/v1/chat/completions" : "/v1/completions",
                  with_model([this, chat](ServedModel& served, const httplib::Request& req, httplib::Response& res) {
                      const std::string id = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(++next_id_);
                      handle_completion(served, options_, chat, id, req, res);
                  }));
    }
    http.Post("/v1/embeddings", with_model([this](ServedModel& served, const httplib::Request& req, httplib::Response& res) {
                  handle_embeddings(served, options_, req.body, res);
              }));
    http.Post("/tokenize", with_model([](ServedModel& served, const httplib::Request& req, httplib::Response& res) {
                  handle_tokenize(*served.tokenizer, req.body, res);
              }));
    http.Post("/detokenize", with_model([](ServedModel& served, const httplib::Request& req, httplib::Response& res) {
                  handle_detokenize(*served.tokenizer, req.body, res);
              }));
}

}  // namespace dilmodeli::serve
