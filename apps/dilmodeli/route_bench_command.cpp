// route-bench: the routers of lib/moe side by side, on a MoE model's real hidden states (-m, -f)
// or on a skewed synthetic workload (--synthetic).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <tbb/task_arena.h>

#include "runtime/model_loader.h"
#include "command.h"
#include "common/cpu_info.h"
#include "common/error.h"
#include "common/mapped_file.h"
#include "model/model.h"
#include "runtime/perplexity.h"
#include "moe/moe_feed_forward.h"
#include "moe/route_metrics.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::app {
namespace {

struct Options {
    std::string model, text_file;
    bool synthetic = false;
    int64_t experts = 64, tokens = 4096, top_k = 2, batch = 512, ctx = 128, chunks = 8;
    int64_t embd = 256, ff = 256;  // synthetic expert shapes
    double skew = 1.2;
    std::string routers = "topk,capacity,bias,nash";
    uint64_t l2 = 0, l3 = 0;
    int threads = 0;
    bool json = false;
    std::string plot;
    moe::RouterOptions router;
};

std::vector<std::string> split_names(const std::string& list) {
    std::vector<std::string> names;
    std::stringstream ss(list);
    for (std::string name; std::getline(ss, name, ',');)
        if (!name.empty()) names.push_back(name);
    if (names.empty()) throw usage_error("--routers lists no router");
    for (const auto& n : names) moe::make_router(n);  // validates
    return names;
}

// Random F32 experts in memory: the layer route-bench runs synthetic routings through.
struct SyntheticLayer {
    std::vector<float> router, gate, up, down;
    std::unique_ptr<moe::MoeFeedForward> layer;

    SyntheticLayer(int64_t n_exp, int64_t embd, int64_t ff, int64_t k) {
        std::mt19937_64 rng(7);
        std::normal_distribution<float> n(0.0f, 0.05f);
        auto fill = [&](std::vector<float>& v, size_t size) {
            v.resize(size);
            for (float& x : v) x = n(rng);
        };
        fill(router, size_t(n_exp * embd));
        fill(gate, size_t(n_exp * ff * embd));
        fill(up, size_t(n_exp * ff * embd));
        fill(down, size_t(n_exp * embd * ff));
        auto view = [](const float* data, int64_t rows, int64_t cols) {
            kernels::WeightMatrix w;
            w.type = quant::TypeId::F32;
            w.data = reinterpret_cast<const uint8_t*>(data);
            w.rows = rows;
            w.cols = cols;
            w.row_bytes = size_t(cols) * sizeof(float);
            return w;
        };
        moe::MoeWeights w;
        w.router = view(router.data(), n_exp, embd);
        for (int64_t e = 0; e < n_exp; ++e) {
            w.gate.push_back(view(gate.data() + e * ff * embd, ff, embd));
            w.up.push_back(view(up.data() + e * ff * embd, ff, embd));
            w.down.push_back(view(down.data() + e * embd * ff, embd, ff));
        }
        layer = std::make_unique<moe::MoeFeedForward>(0, std::move(w), k);
    }
};

// Median seconds of execute_experts in an arena of `threads`: at least `repeats` runs and at
// least 50 ms of them, after one untimed run.
double time_experts(moe::MoeFeedForward& layer, const std::vector<float>& x, const moe::Routing& routing,
                    int threads, int repeats) {
    tbb::task_arena arena(threads);
    std::vector<float> out(x.size());
    std::vector<double> runs;
    arena.execute([&] {
        layer.execute_experts(x.data(), routing.n_tokens, routing, out.data(), {});
        double total = 0;
        while (int(runs.size()) < repeats || total < 0.05) {
            const double start = model::seconds_now();
            layer.execute_experts(x.data(), routing.n_tokens, routing, out.data(), {});
            runs.push_back(model::seconds_now() - start);
            total += runs.back();
        }
    });
    std::sort(runs.begin(), runs.end());
    return runs[runs.size() / 2];
}

struct Speedup {
    int threads = 1;
    int64_t batch = 0;
    double serial_seconds = 0, parallel_seconds = 0;
};

Speedup measure_speedup(moe::MoeFeedForward& layer, int64_t batch, int threads) {
    std::mt19937_64 rng(3);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> x(size_t(batch * layer.n_embd()));
    for (float& v : x) v = n(rng);
    const auto logits = moe::synthetic_logits(batch, layer.n_experts(), 0.0, 5);
    moe::Routing routing;
    moe::make_router("topk")->route(logits.data(), batch, layer.n_experts(), layer.experts_used(), routing);
    Speedup s;
    s.threads = threads;
    s.batch = batch;
    s.serial_seconds = time_experts(layer, x, routing, 1, 7);
    s.parallel_seconds = time_experts(layer, x, routing, threads, 7);
    return s;
}

std::vector<moe::RouterMetrics> bench_model(const Options& o, Speedup& speedup, uint64_t l2, uint64_t l3) {
    auto model = runtime::load_model(o.model);
    auto layers = moe::moe_layers(*model);
    if (layers.empty()) throw usage_error(o.model + " has no mixture-of-experts layers");
    auto tokenizer = tokenizer::Tokenizer::from_gguf(model->file());
    MappedFile text(o.text_file);
    const auto tokens =
        tokenizer->encode(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), true);
    model::SessionOptions so;
    so.context = o.ctx;
    so.threads = o.threads;
    so.max_batch = o.ctx;
    model::Session session(*model, so);
    runtime::PerplexityOptions po;
    po.ctx = o.ctx;
    po.max_chunks = o.chunks;
    po.bos_id = tokenizer->bos_id() >= 0 ? tokenizer->bos_id() : tokens.front();

    std::vector<moe::RouterMetrics> results;
    for (const auto& name : split_names(o.routers)) {
        moe::use_router(*model, name, o.router);
        for (auto* layer : layers) {
            layer->records().clear();
            layer->set_recording(true, o.router.nash_group);
        }
        const auto ppl = runtime::perplexity(session, tokens, po);
        std::vector<std::vector<moe::BatchRecord>> records;
        for (auto* layer : layers) {
            records.push_back(std::move(layer->records()));
            layer->records().clear();
            layer->set_recording(false);
        }
        auto m = moe::summarise_records(name, records, layers.front()->expert_bytes(), l2, l3);
        m.perplexity = ppl.perplexity;
        results.push_back(std::move(m));
    }
    moe::use_router(*model, "topk");
    speedup = measure_speedup(*layers.front(), std::max<int64_t>(32, o.ctx), session.threads());
    return results;
}

std::vector<moe::RouterMetrics> bench_synthetic(const Options& o, Speedup& speedup, uint64_t l2, uint64_t l3) {
    if (o.experts < 2 || o.tokens < 1 || o.batch < 1 || o.top_k < 1 || o.top_k > o.experts)
        throw usage_error("--synthetic needs --experts >= 2, --tokens >= 1, --batch >= 1, 1 <= --top-k <= experts");
    SyntheticLayer synthetic(o.experts, o.embd, o.ff, o.top_k);
    const auto logits = moe::synthetic_logits(o.tokens, o.experts, o.skew, 11);
    std::mt19937_64 rng(13);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> x(size_t(o.batch * o.embd)), out(x.size());
    for (float& v : x) v = n(rng);
    const int threads = o.threads > 0 ? o.threads : physical_core_count();
    tbb::task_arena arena(threads);

    std::vector<moe::RouterMetrics> results;
    for (const auto& name : split_names(o.routers)) {
        auto router = moe::make_router(name, o.router);
        std::vector<moe::BatchRecord> records;
        moe::Routing routing;
        arena.execute([&] {
            for (int64_t at = 0; at < o.tokens; at += o.batch) {
                const int64_t n_tokens = std::min(o.batch, o.tokens - at);
                const double start = model::seconds_now();
                router->route(logits.data() + at * o.experts, n_tokens, o.experts, o.top_k, routing);
                const double routed = model::seconds_now();
                synthetic.layer->execute_experts(x.data(), n_tokens, routing, out.data(), {});
                const double done = model::seconds_now();
                auto rec = moe::make_batch_record(0, routing, o.experts, o.router.nash_group);
                rec.route_seconds = routed - start;
                rec.expert_seconds = done - routed;
                records.push_back(std::move(rec));
            }
        });
        results.push_back(moe::summarise_records(name, {records}, synthetic.layer->expert_bytes(), l2, l3));
    }
    speedup = measure_speedup(*synthetic.layer, std::max<int64_t>(32, o.batch), threads);
    return results;
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
    cmd->callback([o, &action] {
        action = [o] {
            if (o->synthetic == !o->model.empty())
                throw usage_error("route-bench needs either -m MODEL -f TEXT or --synthetic");
            if (!o->synthetic && o->text_file.empty()) throw usage_error("route-bench -m needs -f TEXT");
            if (o->threads < 0) throw usage_error("--threads must be positive");
            const uint64_t l2 = o->l2 ? o->l2 : std::max<uint64_t>(moe::cache_bytes(2), 1 << 20);
            const uint64_t l3 = o->l3 ? o->l3 : std::max<uint64_t>(moe::cache_bytes(3), 8 << 20);
            Speedup speedup;
            const auto results = o->synthetic ? bench_synthetic(*o, speedup, l2, l3) : bench_model(*o, speedup, l2, l3);
            const double ratio = speedup.parallel_seconds > 0 ? speedup.serial_seconds / speedup.parallel_seconds : 0;
            if (!o->plot.empty()) {
                std::ofstream out(o->plot, std::ios::binary);
                out << moe::load_svg(results);
                if (!out) throw io_error(o->plot, "cannot write the plot");
            }
            if (o->json) {
                nlohmann::json routers = nlohmann::json::array();
                for (const auto& m : results)
                    routers.push_back({{"name", m.name},
                                       {"max_mean_load", m.max_mean_load},
                                       {"load_cv", m.load_cv},
                                       {"dropped", m.dropped},
                                       {"mass_kept", m.mass_kept},
                                       {"distinct_per_batch", m.distinct_per_batch},
                                       {"cache_hit_l2", m.cache_hit_l2},
                                       {"cache_hit_l3", m.cache_hit_l3},
                                       {"route_us_per_token", m.route_us_per_token},
                                       {"expert_tok_per_s", m.expert_tok_per_s},
                                       {"perplexity", m.perplexity >= 0 ? nlohmann::json(m.perplexity) : nlohmann::json()},
                                       {"swarm_bound_max_mean", m.swarm_bound},
                                       {"expert_load", m.expert_load}});
                print_line(json_text(nlohmann::json{{"routers", routers},
                                          {"l2_bytes", l2},
                                          {"l3_bytes", l3},
                                          {"expert_execution",
                                           {{"batch", speedup.batch},
                                            {"threads", speedup.threads},
                                            {"serial_seconds", speedup.serial_seconds},
                                            {"parallel_seconds", speedup.parallel_seconds},
                                            {"speedup", ratio}}}}
                               ));
                return;
            }
            print_line("router     max/mean  bound  load_cv  dropped  mass_kept  distinct  hit_L2  hit_L3  route_us/tok  "
                       "expert_tok/s  perplexity");
            for (const auto& m : results) {
                char line[512];
                std::snprintf(line, sizeof line, "%-9s  %8.3f  %5.3f  %7.3f  %7lld  %9.4f  %8.2f  %6.3f  %6.3f  %12.2f  %12.0f  %s",
                              m.name.c_str(), m.max_mean_load, m.swarm_bound, m.load_cv, static_cast<long long>(m.dropped),
                              m.mass_kept, m.distinct_per_batch, m.cache_hit_l2, m.cache_hit_l3, m.route_us_per_token,
                              m.expert_tok_per_s,
                              m.perplexity >= 0 ? std::to_string(m.perplexity).c_str() : "-");
                print_line(line);
            }
            char line[256];
            std::snprintf(line, sizeof line,
                          "expert execution, batch %lld: serial %.3f ms, %d threads %.3f ms, speedup %.2fx",
                          static_cast<long long>(speedup.batch), speedup.serial_seconds * 1e3, speedup.threads,
                          speedup.parallel_seconds * 1e3, ratio);
            print_line(line);
        };
    });
}

}  // namespace dilmodeli::app
