#include "moe/route_bench.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <tbb/task_arena.h>

#include "common/cpu_info.h"
#include "common/error.h"
#include "model/matmul_observer.h"
#include "moe/moe_feed_forward.h"

namespace dilmodeli::moe {
namespace {

// Random F32 experts in memory: the layer synthetic routings run through.
struct SyntheticLayer {
    std::vector<float> router, gate, up, down;
    std::unique_ptr<MoeFeedForward> layer;

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
        MoeWeights w;
        w.router = view(router.data(), n_exp, embd);
        for (int64_t e = 0; e < n_exp; ++e) {
            w.gate.push_back(view(gate.data() + e * ff * embd, ff, embd));
            w.up.push_back(view(up.data() + e * ff * embd, ff, embd));
            w.down.push_back(view(down.data() + e * embd * ff, embd, ff));
        }
        layer = std::make_unique<MoeFeedForward>(0, std::move(w), k);
    }
};

// Median seconds of execute_experts in an arena of `threads`: at least `repeats` runs and at
// least 50 ms of them, after one untimed run.
double time_experts(MoeFeedForward& layer, const std::vector<float>& x, const Routing& routing, int threads,
                    int repeats) {
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

ExpertSpeedup measure_speedup(MoeFeedForward& layer, int64_t batch, int threads) {
    std::mt19937_64 rng(3);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> x(size_t(batch * layer.n_embd()));
    for (float& v : x) v = n(rng);
    const auto logits = synthetic_logits(batch, layer.n_experts(), 0.0, 5);
    Routing routing;
    make_router("topk")->route(logits.data(), batch, layer.n_experts(), layer.experts_used(), routing);
    ExpertSpeedup s;
    s.threads = threads;
    s.batch = batch;
    s.serial_seconds = time_experts(layer, x, routing, 1, 7);
    s.parallel_seconds = time_experts(layer, x, routing, threads, 7);
    return s;
}

void set_cache_sizes(const RouteBenchOptions& o, RouteBenchResult& result) {
    result.l2 = o.l2 ? o.l2 : std::max<uint64_t>(cache_bytes(2), 1 << 20);
    result.l3 = o.l3 ? o.l3 : std::max<uint64_t>(cache_bytes(3), 8 << 20);
}

}  // namespace

std::vector<std::string> router_names(const std::string& list) {
    std::vector<std::string> names;
    std::stringstream ss(list);
    for (std::string name; std::getline(ss, name, ',');)
        if (!name.empty()) names.push_back(name);
    if (names.empty()) throw usage_error("--routers lists no router");
    for (const auto& n : names) make_router(n);  // validates
    return names;
}

RouteBenchResult bench_model(model::Model& model, const std::string& model_path,
                             const std::function<ModelText()>& open_text, const RouteBenchOptions& o) {
    RouteBenchResult result;
    set_cache_sizes(o, result);
    auto layers = moe_layers(model);
    if (layers.empty()) throw usage_error(model_path + " has no mixture-of-experts layers");
    const ModelText text = open_text();
    for (const auto& name : router_names(o.routers)) {
        use_router(model, name, o.router);
        for (auto* layer : layers) {
            layer->records().clear();
            layer->set_recording(true, o.router.nash_group);
        }
        const double perplexity = text.perplexity();
        std::vector<std::vector<BatchRecord>> records;
        for (auto* layer : layers) {
            records.push_back(std::move(layer->records()));
            layer->records().clear();
            layer->set_recording(false);
        }
        auto m = summarise_records(name, records, layers.front()->expert_bytes(), result.l2, result.l3);
        m.perplexity = perplexity;
        result.routers.push_back(std::move(m));
    }
    use_router(model, "topk");
    result.speedup = measure_speedup(*layers.front(), text.batch, text.threads);
    return result;
}

RouteBenchResult bench_synthetic(const RouteBenchOptions& o) {
    RouteBenchResult result;
    set_cache_sizes(o, result);
    if (o.experts < 2 || o.tokens < 1 || o.batch < 1 || o.top_k < 1 || o.top_k > o.experts)
        throw usage_error("--synthetic needs --experts >= 2, --tokens >= 1, --batch >= 1, 1 <= --top-k <= experts");
    SyntheticLayer synthetic(o.experts, o.embd, o.ff, o.top_k);
    const auto logits = synthetic_logits(o.tokens, o.experts, o.skew, 11);
    std::mt19937_64 rng(13);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> x(size_t(o.batch * o.embd)), out(x.size());
    for (float& v : x) v = n(rng);
    const int threads = o.threads > 0 ? o.threads : physical_core_count();
    tbb::task_arena arena(threads);

    for (const auto& name : router_names(o.routers)) {
        auto router = make_router(name, o.router);
        std::vector<BatchRecord> records;
        Routing routing;
        arena.execute([&] {
            for (int64_t at = 0; at < o.tokens; at += o.batch) {
                const int64_t n_tokens = std::min(o.batch, o.tokens - at);
                const double start = model::seconds_now();
                router->route(logits.data() + at * o.experts, n_tokens, o.experts, o.top_k, routing);
                const double routed = model::seconds_now();
                synthetic.layer->execute_experts(x.data(), n_tokens, routing, out.data(), {});
                const double done = model::seconds_now();
                auto rec = make_batch_record(0, routing, o.experts, o.router.nash_group);
                rec.route_seconds = routed - start;
                rec.expert_seconds = done - routed;
                records.push_back(std::move(rec));
            }
        });
        result.routers.push_back(
            summarise_records(name, {records}, synthetic.layer->expert_bytes(), result.l2, result.l3));
    }
    result.speedup = measure_speedup(*synthetic.layer, std::max<int64_t>(32, o.batch), threads);
    return result;
}

nlohmann::json route_bench_json(const RouteBenchResult& result) {
    nlohmann::json routers = nlohmann::json::array();
    for (const auto& m : result.routers)
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
    const ExpertSpeedup& s = result.speedup;
    return {{"routers", routers},
            {"l2_bytes", result.l2},
            {"l3_bytes", result.l3},
            {"expert_execution",
             {{"batch", s.batch},
              {"threads", s.threads},
              {"serial_seconds", s.serial_seconds},
              {"parallel_seconds", s.parallel_seconds},
              {"speedup", s.ratio()}}}};
}

std::string route_bench_text(const RouteBenchResult& result) {
    std::string out =
        "router     max/mean  bound  load_cv  dropped  mass_kept  distinct  hit_L2  hit_L3  route_us/tok  "
        "expert_tok/s  perplexity\n";
    char line[512];
    for (const auto& m : result.routers) {
        std::snprintf(line, sizeof line,
                      "%-9s  %8.3f  %5.3f  %7.3f  %7lld  %9.4f  %8.2f  %6.3f  %6.3f  %12.2f  %12.0f  %s\n",
                      m.name.c_str(), m.max_mean_load, m.swarm_bound, m.load_cv, static_cast<long long>(m.dropped),
                      m.mass_kept, m.distinct_per_batch, m.cache_hit_l2, m.cache_hit_l3, m.route_us_per_token,
                      m.expert_tok_per_s, m.perplexity >= 0 ? std::to_string(m.perplexity).c_str() : "-");
        out += line;
    }
    const ExpertSpeedup& s = result.speedup;
    std::snprintf(line, sizeof line, "expert execution, batch %lld: serial %.3f ms, %d threads %.3f ms, speedup %.2fx",
                  static_cast<long long>(s.batch), s.serial_seconds * 1e3, s.threads, s.parallel_seconds * 1e3,
                  s.ratio());
    return out + line;
}

}  // namespace dilmodeli::moe
