// route-bench: the routers of lib/moe side by side, on a MoE model's real hidden states (-m, -f)
// or on a skewed synthetic workload (--synthetic). The harness is lib/moe/route_bench.
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "common/error.h"
#include "common/mapped_file.h"
#include "model/model.h"
#include "moe/route_bench.h"
#include "runtime/model_loader.h"
#include "runtime/perplexity.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::app {
namespace {

struct Options : moe::RouteBenchOptions {
    std::string model, text_file;
    bool synthetic = false;
    int64_t ctx = 128, chunks = 8;  // model: tokens per chunk, chunks of text
    bool json = false;
    std::string plot;
};

// The model's routings on its text: perplexity chunks of o.ctx tokens, each one batch.
moe::RouteBenchResult bench_model(const Options& o) {
    auto model = runtime::load_model(o.model);
    std::vector<int32_t> tokens;
    std::unique_ptr<model::Session> session;
    runtime::PerplexityOptions po;
    auto open_text = [&] {
        auto tokenizer = tokenizer::Tokenizer::from_gguf(model->file());
        MappedFile text(o.text_file);
        tokens = tokenizer->encode(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), true);
        model::SessionOptions so;
        so.context = o.ctx;
        so.threads = o.threads;
        so.max_batch = o.ctx;
        session = std::make_unique<model::Session>(*model, so);
        po.ctx = o.ctx;
        po.max_chunks = o.chunks;
        po.bos_id = tokenizer->bos_id() >= 0 ? tokenizer->bos_id() : tokens.front();
        moe::ModelText run;
        run.perplexity = [&] { return runtime::perplexity(*session, tokens, po).perplexity; };
        run.threads = session->threads();
        run.batch = std::max<int64_t>(32, o.ctx);
        return run;
    };
    return moe::bench_model(*model, o.model, open_text, o);
}

}  // namespace

void add_route_bench_command(CLI::App& root, Action& action) {
    auto o = std::make_shared<Options>();
    CLI::App* cmd = root.add_subcommand("route-bench", "Compare MoE routers: balance, drops, cache hits, speed, perplexity");
    cmd->add_option("-m,--model", o->model, "MoE GGUF model (routes its real hidden states)");
    cmd->add_option("-f,--file", o->text_file, "Text to run the model on (perplexity)");
    cmd->add_flag("--synthetic", o->synthetic, "Synthetic skewed router logits instead of a model");
    cmd->add_option("--experts", o->experts, "Synthetic: experts")->capture_default_str();
    cmd->add_option("--tokens", o->tokens, "Synthetic: tokens")->capture_default_str();
    cmd->add_option("--skew", o->skew, "Synthetic: Zipf exponent of expert popularity")->capture_default_str();
    cmd->add_option("--top-k", o->top_k, "Synthetic: experts per token")->capture_default_str();
    cmd->add_option("--batch", o->batch, "Synthetic: tokens per routing batch")->capture_default_str();
    cmd->add_option("--expert-ff", o->ff, "Synthetic: FFN channels per expert (n_embd 256)")->capture_default_str();
    cmd->add_option("-c,--ctx", o->ctx, "Model: tokens per chunk (one batch)")->capture_default_str();
    cmd->add_option("--chunks", o->chunks, "Model: chunks of text (0: all)")->capture_default_str();
    cmd->add_option("--routers", o->routers, "Comma-separated routers")->capture_default_str();
    cmd->add_option("--l2", o->l2, "L2 bytes for the expert LRU (default: hwloc)");
    cmd->add_option("--l3", o->l3, "L3 bytes for the expert LRU (default: hwloc)");
    cmd->add_option("--capacity-factor", o->router.capacity_factor, "capacity router")->capture_default_str();
    cmd->add_option("--bias-rate", o->router.bias_update_rate, "bias router: update per batch")->capture_default_str();
    cmd->add_option("--nash-group", o->router.nash_group, "nash: candidate experts per token")->capture_default_str();
    cmd->add_option("--nash-slack", o->router.nash_load_slack, "nash: load free of congestion, x balanced")
        ->capture_default_str();
    cmd->add_option("--nash-congestion", o->router.nash_congestion, "nash: cost per token over that load (nats)")
        ->capture_default_str();
    cmd->add_option("--nash-cache", o->router.nash_cache_cost, "nash: cost of a cold expert (nats)")
        ->capture_default_str();
    cmd->add_option("-t,--threads", o->threads, "Threads (default: physical cores)");
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->add_option("--plot", o->plot, "Write per-expert load bars per router as SVG");
    cmd->footer("Examples:\n  dilmodeli route-bench --synthetic --experts 64 --tokens 4096 --skew 1.2\n"
                "  dilmodeli route-bench -m moe.gguf -f valid.txt --chunks 4 --plot routers.svg");
    cmd->callback([o, &action] {
        action = [o] {
            if (o->synthetic == !o->model.empty())
                throw usage_error("route-bench needs either -m MODEL -f TEXT or --synthetic");
            if (!o->synthetic && o->text_file.empty()) throw usage_error("route-bench -m needs -f TEXT");
            if (o->threads < 0) throw usage_error("--threads must be positive");
            const moe::RouteBenchResult result = o->synthetic ? moe::bench_synthetic(*o) : bench_model(*o);
            if (!o->plot.empty()) {
                std::ofstream out(o->plot, std::ios::binary);
                out << moe::load_svg(result.routers);
                if (!out) throw io_error(o->plot, "cannot write the plot");
            }
            print_line(o->json ? json_text(moe::route_bench_json(result)) : moe::route_bench_text(result));
        };
    });
}

}  // namespace dilmodeli::app
