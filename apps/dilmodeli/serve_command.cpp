#include <cstdio>
#include <random>

#include "command.h"
#include "common/error.h"
#include "model/model.h"
#include "serve/server_runner.h"

namespace dilmodeli::app {

void add_serve_command(CLI::App& root, Action& action) {
    struct Options {
        serve::ServeConfig config;
        std::string kv_type = model::kv_cache_type_name(model::SessionOptions{}.kv_type);
        ResidencyFlags residency;
    };
    auto o = std::make_shared<Options>();
    serve::ServeConfig& c = o->config;
    c.model_path = kDefaultModelPath;
    CLI::App* cmd = root.add_subcommand("serve", "OpenAI-compatible HTTP server with continuous batching");
    cmd->add_option("-m,--model", c.model_path, "GGUF model file")->capture_default_str();
    cmd->add_option("--host", c.server.host, "Address to listen on (loopback by default)")->capture_default_str();
    cmd->add_option("--port", c.server.port, "Port; 0 picks a free one")->capture_default_str();
    cmd->add_option("--parallel", c.engine.slots, "Requests decoded together (slots)")->capture_default_str();
    cmd->add_option("-c,--ctx", c.engine.context, "Context length of each slot, in tokens")->capture_default_str();
    cmd->add_option("--kv-type", o->kv_type, "KV cache element type: f32 or f16")->capture_default_str();
    cmd->add_option("-t,--threads", c.engine.threads, "Threads (default: physical cores)");
    cmd->add_option("--queue", c.engine.max_queue, "Requests that may wait for a slot; beyond them 503")->capture_default_str();
    cmd->add_option("--api-key", c.server.api_key, "Require \"Authorization: Bearer KEY\" on every endpoint but /health");
    cmd->add_option("--alias", c.server.model_name, "Model name for /v1/models and requests (default: the file name)");
    cmd->add_option("--chat-template", c.chat_template, "Chat template by name instead of the model's own (e.g. chatml, llama3, gemma, phi3)");
    cmd->add_option("--max-body", c.server.max_body_bytes, "Largest request body in bytes; beyond it 413")->capture_default_str();
    cmd->add_option("-n,--n-predict", c.server.defaults.max_tokens, "Tokens a request generates when it sets no max_tokens (-1: until the end or the context is full)")->capture_default_str();
    cmd->add_option("--temp", c.server.defaults.sampler.temperature, "Default temperature")->capture_default_str();
    cmd->add_option("--seed", c.server.defaults.sampler.seed, "Default random seed of requests without one")->capture_default_str();
    cmd->add_option("--max-requests", c.server.max_requests, "Stop after answering this many requests (0: never)")->capture_default_str();
    add_residency_flags(cmd, o->residency);
    cmd->footer(
        "Example:\n"
        "  dilmodeli serve -m model.gguf --port 8080 --parallel 4\n"
        "  curl http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \\\n"
        "       -d '{\"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}], \"max_tokens\": 32}'");
    cmd->callback([o, &action] {
        action = [o] {
            serve::ServeConfig& config = o->config;
            config.residency = o->residency.residency();
            config.engine.kv_type = model::parse_kv_cache_type(o->kv_type);
            if (config.engine.slots < 1) throw usage_error("--parallel must be at least 1");
            if (config.engine.context < 2) throw usage_error("--ctx must be at least 2");
            if (config.engine.threads < 0) throw usage_error("--threads must be positive");
            if (config.server.port < 0 || config.server.port > 65535)
                throw usage_error("--port " + std::to_string(config.server.port) + " is not a port number");
            config.server.defaults.sampler.validate();
            if (config.server.model_name.empty()) {
                const size_t slash = config.model_path.find_last_of('/');
                config.server.model_name = slash == std::string::npos ? config.model_path : config.model_path.substr(slash + 1);
            }
            serve::run_server(config, [&](int port) {
                std::fprintf(stderr, "dilmodeli: listening on http://%s:%d\n", config.server.host.c_str(), port);
            });
        };
    });
}

}  // namespace dilmodeli::app
