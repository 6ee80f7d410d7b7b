#pragma once
// `dilmodeli serve` as one library call: listen first (so /health can say the model is loading),
// load the model and its tokenizer and chat template, serve until SIGINT / SIGTERM or the request
// bound, then cancel what is in flight and return.
#include <cstdint>
#include <functional>
#include <string>

#include "common/mapped_file.h"
#include "serve/engine.h"
#include "serve/http_server.h"

namespace dilmodeli::serve {

struct ServeConfig {
    std::string model_path;
    Residency residency = Residency::Auto;
    std::string chat_template;  // a name of chat::chat_template_names(); empty: the GGUF's own
    EngineOptions engine;
    ServerOptions server;
};

// Called once the port is bound (with it), e.g. to print where the server listens.
using OnListening = std::function<void(int port)>;

// Error(Usage) for an address that cannot be bound or an unknown --chat-template; Error(BadInput)
// for a model that cannot be loaded (the server then stops before answering anything but /health).
void run_server(const ServeConfig& config, const OnListening& on_listening = {});

}  // namespace dilmodeli::serve
