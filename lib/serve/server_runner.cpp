#include "serve/server_runner.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <ctime>
#include <thread>

#include "common/error.h"
#include "runtime/model_loader.h"
#include "serve/chat_loop.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::serve {
namespace {

// SIGINT and SIGTERM are blocked in every thread the server starts and taken here, so that a
// signal stops the listener instead of killing the process mid-response.
class SignalWatcher {
public:
    explicit SignalWatcher(std::function<void()> stop) {
        sigemptyset(&signals_);
        sigaddset(&signals_, SIGINT);
        sigaddset(&signals_, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &signals_, &previous_);
        thread_ = std::thread([this, stop] {
            const timespec tick{0, 200 * 1000 * 1000};
            while (!done_) {
                const int signal = sigtimedwait(&signals_, nullptr, &tick);
                if (signal == SIGINT || signal == SIGTERM) {
                    spdlog::info("signal {}: stopping", signal);
                    stop();
                    return;
                }
            }
        });
    }
    ~SignalWatcher() {
        done_ = true;
        thread_.join();
        pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    }

private:
    sigset_t signals_{}, previous_{};
    std::atomic<bool> done_{false};
    std::thread thread_;
};

}  // namespace

void run_server(const ServeConfig& config, const OnListening& on_listening) {
    HttpServer server(config.server);
    // Declared before the watcher, destroyed after it: its thread may still reach the engine.
    std::unique_ptr<model::Model> model;
    std::unique_ptr<tokenizer::Tokenizer> tokenizer;
    std::unique_ptr<Engine> engine;
    std::unique_ptr<EmbeddingService> embeddings;
    std::atomic<Engine*> running{nullptr};
    // Cancelling the jobs lets handlers that wait on them finish, so the listener can join them.
    SignalWatcher watcher([&] {
        server.stop();
        if (Engine* engine = running.load()) engine->stop();
    });
    const int port = server.bind();
    if (on_listening) on_listening(port);
    std::thread listener([&] { server.serve(); });

    try {
        model = runtime::load_model_to_run(config.model_path, config.residency);
        tokenizer = tokenizer::Tokenizer::from_gguf(model->file());
        ServedModel served;
        served.chat_template = resolve_chat_template(model->file(), config.chat_template, served.chat_template_error);
        if (!served.chat_template) spdlog::warn("{}", served.chat_template_error);
        engine = std::make_unique<Engine>(*model, *tokenizer, config.engine);
        running = engine.get();
        embeddings = std::make_unique<EmbeddingService>(*model, *tokenizer, engine->context(), config.engine.threads);
        served.embeddings = embeddings.get();
        served.engine = engine.get();
        served.tokenizer = tokenizer.get();
        if (served.chat_template) spdlog::info("chat template: {}", served.chat_template->name());
        server.attach(std::move(served));
    } catch (...) {
        server.stop();
        listener.join();
        throw;
    }
    spdlog::info("serving {} with {} slots of {} tokens", config.model_path, config.engine.slots, engine->context());
    listener.join();
    engine->stop();  // what is still in flight ends as cancelled; the engine's thread joins in its destructor
}

}  // namespace dilmodeli::serve
