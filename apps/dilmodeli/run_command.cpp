#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <spdlog/spdlog.h>

#include "runtime/model_loader.h"
#include "command.h"
#include "moe/moe_feed_forward.h"
#include "common/error.h"
#include "common/cpu_info.h"
#include "runtime/generation.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::app {

void add_run_command(CLI::App& root, Action& action) {
    struct Options {
        std::string model = kDefaultModelPath;
        std::string prompt;
        runtime::GenerationOptions generation;
        model::SessionOptions session;
        bool seed_given = false;
        bool ignore_eos = false;
        bool json = false;
        ResidencyFlags residency;
        std::string kv_type = model::kv_cache_type_name(model::SessionOptions{}.kv_type);
        std::string router = "topk";
    };
    auto o = std::make_shared<Options>();
    CLI::App* cmd = root.add_subcommand("run", "Generate text from a prompt, streamed to stdout");
    cmd->add_option("-m,--model", o->model, "GGUF model file")->capture_default_str();
    cmd->add_option("-p,--prompt", o->prompt, "Prompt text")->required();
    cmd->add_option("-n,--n-predict", o->generation.n_predict, "Tokens to generate")->capture_default_str();
    cmd->add_option("--temp", o->generation.sampler.temperature, "Temperature; 0 is greedy")->capture_default_str();
    cmd->add_option("--top-k", o->generation.sampler.top_k, "Keep the k most likely tokens; 0 keeps all")->capture_default_str();
    cmd->add_option("--top-p", o->generation.sampler.top_p, "Nucleus sampling mass, in (0, 1]")->capture_default_str();
    cmd->add_option("--min-p", o->generation.sampler.min_p, "Drop tokens below min-p x the best one's probability")->capture_default_str();
    cmd->add_option("--repeat-penalty", o->generation.sampler.repeat_penalty, "Penalty for recent tokens; 1 is off")->capture_default_str();
    cmd->add_option("--repeat-last-n", o->generation.sampler.repeat_last_n, "How many recent tokens the penalty sees")->capture_default_str();
    cmd->add_option("--seed", o->generation.sampler.seed, "Random seed (default: random, reported in --json)");
    cmd->add_option("-t,--threads", o->session.threads, "Threads (default: physical cores)");
    cmd->add_option("-c,--ctx", o->session.context, "Context length (default: the model's trained context, at most 4096, as llama.cpp)");
    cmd->add_option("--router", o->router, "MoE router: topk, capacity, bias or nash (MoE models)")->capture_default_str();
    cmd->add_option("--kv-type", o->kv_type, "KV cache element type: f32 or f16")->capture_default_str();
    cmd->add_flag("--ignore-eos", o->ignore_eos, "Keep generating after the end-of-text token");
    add_residency_flags(cmd, o->residency);
    cmd->add_flag("--json", o->json, "Print one JSON object at the end instead of streaming text");
    cmd->footer("Example:\n  dilmodeli run -m model.gguf -p 'Once upon a time' -n 64 --temp 0");
    cmd->callback([o, cmd, &action] {
        o->seed_given = cmd->count("--seed") > 0;
        action = [o] {
            if (!o->seed_given) o->generation.sampler.seed = std::random_device{}();
            o->generation.sampler.validate();
            if (o->generation.n_predict < 0)
                throw usage_error("-n " + std::to_string(o->generation.n_predict) + " is negative");
            if (o->session.threads < 0) throw usage_error("--threads must be positive");
            if (o->session.context < 0) throw usage_error("--ctx must be positive");
            o->generation.stop_at_end_of_generation = !o->ignore_eos;
            o->session.kv_type = model::parse_kv_cache_type(o->kv_type);

            auto load_start = std::chrono::steady_clock::now();
            auto model = runtime::load_model_to_run(o->model, o->residency.residency());
            moe::use_router(*model, o->router);
            auto tokenizer = tokenizer::Tokenizer::from_gguf(model->file());
            model::Session session(*model, o->session);
            const double load_ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
            spdlog::debug("loaded {} in {:.1f} ms, {} threads, context {}", o->model, load_ms, session.threads(),
                          session.context());

            auto stream = [&](const std::string& piece) {
                std::fwrite(piece.data(), 1, piece.size(), stdout);
                std::fflush(stdout);
            };
            if (!o->json) stream(o->prompt);
            auto result = runtime::generate(session, *tokenizer, o->prompt, o->generation,
                                          o->json ? std::function<void(const std::string&)>() : stream);
            if (o->json) {
                nlohmann::json j = {
                    {"text", result.text},
                    {"prompt_tokens", result.prompt_tokens},
                    {"tokens", result.tokens},
                    {"seed", o->generation.sampler.seed},
                    {"stopped_at_eos", result.stopped_at_eos},
                    {"stopped_at_context", result.stopped_at_context},
                    {"timings",
                     {{"load_ms", load_ms},
                      {"prompt_n", result.prompt_tokens.size()},
                      {"prompt_ms", result.prompt_ms},
                      {"prompt_tok_per_s", result.prompt_tokens_per_second()},
                      {"gen_n", result.tokens.size()},
                      {"gen_ms", result.generation_ms},
                      {"gen_tok_per_s", result.generation_tokens_per_second()},
                      {"threads", session.threads()},
                      {"kv_cache_bytes", session.kv_cache_bytes()},
                      {"peak_rss_mib", peak_rss_mib()}}}};
                print_line(json_text(j));
            } else {
                stream("\n");
            }
            if (spdlog::get_level() <= spdlog::level::info)
                std::fprintf(stderr,
                             "load %.1f ms | prompt %zu tokens, %.1f tok/s | generated %zu tokens, %.1f tok/s | "
                             "%d threads, seed %llu\n",
                             load_ms, result.prompt_tokens.size(), result.prompt_tokens_per_second(),
                             result.tokens.size(), result.generation_tokens_per_second(), session.threads(),
                             static_cast<unsigned long long>(o->generation.sampler.seed));
            if (result.stopped_at_context) spdlog::warn("stopped: the context of {} tokens is full", session.context());
        };
    });
}

}  // namespace dilmodeli::app
