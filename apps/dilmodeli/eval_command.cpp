#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "runtime/model_loader.h"
#include "command.h"
#include "moe/moe_feed_forward.h"
#include "common/error.h"
#include "common/mapped_file.h"
#include "model/model.h"
#include "runtime/perplexity.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::app {

void add_eval_command(CLI::App& root, Action& action) {
    struct Options {
        std::string model = kDefaultModelPath;
        std::string text_file;
        int64_t ctx = 512;
        int64_t chunks = 0;
        int threads = 0;
        bool json = false;
        ResidencyFlags residency;
        std::string kv_type = model::kv_cache_type_name(model::SessionOptions{}.kv_type);
        std::string router = "topk";
    };
    auto o = std::make_shared<Options>();
    CLI::App* cmd = root.add_subcommand(
        "eval", "Perplexity of a model on a text file, computed as llama.cpp's llama-perplexity does");
    cmd->add_option("-m,--model", o->model, "GGUF model file")->capture_default_str();
    cmd->add_option("-f,--file", o->text_file, "Text file to score")->required();
    cmd->add_option("-c,--ctx", o->ctx, "Tokens per chunk; the second half of each is scored")->capture_default_str();
    cmd->add_option("--chunks", o->chunks, "Stop after this many chunks (default: all)");
    cmd->add_option("-t,--threads", o->threads, "Threads (default: physical cores)");
    cmd->add_option("--router", o->router, "MoE router: topk, capacity, bias or nash (MoE models)")->capture_default_str();
    cmd->add_option("--kv-type", o->kv_type, "KV cache element type: f32 or f16")->capture_default_str();
    add_residency_flags(cmd, o->residency);
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->footer("Example:\n  dilmodeli eval -m model.gguf -f wiki.test.raw --ctx 512 --chunks 20");
    cmd->callback([o, &action] {
        action = [o] {
            if (o->ctx < 4) throw usage_error("--ctx " + std::to_string(o->ctx) + " is too small (at least 4)");
            if (o->chunks < 0) throw usage_error("--chunks must not be negative");
            if (o->threads < 0) throw usage_error("--threads must be positive");
            auto model = runtime::load_model_to_run(o->model, o->residency.residency());
            moe::use_router(*model, o->router);
            auto tokenizer = tokenizer::Tokenizer::from_gguf(model->file());
            MappedFile text(o->text_file);
            auto start = std::chrono::steady_clock::now();
            const auto tokens = tokenizer->encode(
                std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), true);
            model::SessionOptions session_options;
            session_options.context = o->ctx;
            session_options.threads = o->threads;
            session_options.max_batch = o->ctx;
            session_options.kv_type = model::parse_kv_cache_type(o->kv_type);
            model::Session session(*model, session_options);

            runtime::PerplexityOptions options;
            options.ctx = o->ctx;
            options.max_chunks = o->chunks;
            options.bos_id = tokenizer->bos_id() >= 0 ? tokenizer->bos_id() : tokens.front();
            // A live bar on a terminal; in logs, a line at every tenth of the work.
            const bool show_progress = spdlog::get_level() <= spdlog::level::info;
            const bool terminal = ::isatty(STDERR_FILENO);
            options.progress = [&](int64_t done, int64_t total, double ppl) {
                if (!show_progress) return;
                if (!terminal && done != total && done % std::max<int64_t>(1, total / 10) != 0) return;
                const int width = 30;
                const int filled = int(width * done / total);
                std::fprintf(stderr, "%s[%.*s%*s] %lld/%lld chunks, perplexity %.4f%s", terminal ? "\r" : "",
                             filled, "##############################", width - filled, "",
                             static_cast<long long>(done), static_cast<long long>(total), ppl,
                             terminal && done != total ? "" : "\n");
                std::fflush(stderr);
            };
            auto r = runtime::perplexity(session, tokens, options);
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (o->json) {
                nlohmann::json j = {{"perplexity", r.perplexity}, {"standard_error", r.standard_error},
                                    {"chunks", r.chunks}, {"scored_tokens", r.scored_tokens},
                                    {"ctx", r.ctx}, {"text_tokens", tokens.size()},
                                    {"seconds", seconds},
                                    {"tokens_per_second", double(r.chunks * r.ctx) / seconds}};
                print_line(json_text(j));
            } else {
                char line[256];
                std::snprintf(line, sizeof line,
                              "perplexity %.4f +/- %.4f over %lld chunks of %lld tokens (%lld scored), %.1f s",
                              r.perplexity, r.standard_error, static_cast<long long>(r.chunks),
                              static_cast<long long>(r.ctx), static_cast<long long>(r.scored_tokens), seconds);
                print_line(line);
            }
        };
    });
}

}  // namespace dilmodeli::app
