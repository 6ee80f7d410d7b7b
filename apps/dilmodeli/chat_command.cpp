#include <unistd.h>

#include <iostream>
#include <random>

#include "command.h"
#include "common/error.h"
#include "model/model.h"
#include "runtime/model_loader.h"
#include "serve/chat_loop.h"
#include "serve/engine.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::app {

void add_chat_command(CLI::App& root, Action& action) {
    struct Options {
        std::string model = kDefaultModelPath;
        std::string chat_template;
        serve::ChatOptions chat;
        serve::EngineOptions engine;
        std::string kv_type = model::kv_cache_type_name(model::SessionOptions{}.kv_type);
        bool seed_given = false;
        ResidencyFlags residency;
    };
    auto o = std::make_shared<Options>();
    o->engine.slots = 1;
    o->engine.context = 0;
    CLI::App* cmd = root.add_subcommand("chat", "Talk with a model in the terminal, with its chat template");
    cmd->add_option("-m,--model", o->model, "GGUF model file")->capture_default_str();
    cmd->add_option("-s,--system", o->chat.system_prompt, "System prompt");
    cmd->add_option("--chat-template", o->chat_template, "Chat template by name instead of the model's own (e.g. chatml, llama3, gemma, phi3)");
    cmd->add_option("-n,--n-predict", o->chat.max_tokens, "Tokens a reply may have (-1: until the end of the turn)")->capture_default_str();
    cmd->add_option("--temp", o->chat.sampler.temperature, "Temperature; 0 is greedy")->capture_default_str();
    cmd->add_option("--top-k", o->chat.sampler.top_k, "Keep the k most likely tokens; 0 keeps all")->capture_default_str();
    cmd->add_option("--top-p", o->chat.sampler.top_p, "Nucleus sampling mass, in (0, 1]")->capture_default_str();
    cmd->add_option("--min-p", o->chat.sampler.min_p, "Drop tokens below min-p x the best one's probability")->capture_default_str();
    cmd->add_option("--seed", o->chat.sampler.seed, "Random seed (default: random)");
    cmd->add_option("-t,--threads", o->engine.threads, "Threads (default: physical cores)");
    cmd->add_option("-c,--ctx", o->engine.context, "Context length (default: the model's trained context, at most 4096)");
    cmd->add_option("--kv-type", o->kv_type, "KV cache element type: f32 or f16")->capture_default_str();
    add_residency_flags(cmd, o->residency);
    cmd->footer(
        "In a terminal it prompts with \"> \"; /reset forgets the conversation, /exit or Ctrl-D ends it.\n"
        "From a pipe it reads one user turn a line and prints each reply followed by a newline.\n"
        "Example:\n"
        "  printf 'Hello\\nTell me more\\n' | dilmodeli chat -m model.gguf --temp 0");
    cmd->callback([o, cmd, &action] {
        o->seed_given = cmd->count("--seed") > 0;
        action = [o] {
            if (!o->seed_given) o->chat.sampler.seed = std::random_device{}();
            o->chat.sampler.validate();
            if (o->chat.max_tokens < -1) throw usage_error("-n " + std::to_string(o->chat.max_tokens) + " is below -1");
            if (o->engine.context < 0) throw usage_error("--ctx must be positive");
            o->engine.kv_type = model::parse_kv_cache_type(o->kv_type);
            o->chat.interactive = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);

            auto model = runtime::load_model_to_run(o->model, o->residency.residency());
            auto tokenizer = tokenizer::Tokenizer::from_gguf(model->file());
            std::string why_none;
            auto chat_template = serve::resolve_chat_template(model->file(), o->chat_template, why_none);
            if (!chat_template) throw input_error(o->model, why_none);
            serve::Engine engine(*model, *tokenizer, o->engine);
            serve::run_chat(engine, *tokenizer, *chat_template, std::cin, std::cout, o->chat);
        };
    });
}

}  // namespace dilmodeli::app
