#pragma once
// route-bench's harness: the routers of lib/moe side by side on one workload, a skewed
// synthetic one (random F32 experts in memory) or a MoE model's real hidden states, with
// parallel expert execution timed against serial.
#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "moe/route_metrics.h"
#include "moe/router.h"

namespace dilmodeli::model { class Model; }

namespace dilmodeli::moe {

class MoeFeedForward;

struct RouteBenchOptions {
    int64_t experts = 64, tokens = 4096, top_k = 2, batch = 512;  // synthetic workload
    int64_t embd = 256, ff = 256;                                   // synthetic expert shapes
    double skew = 1.2;                                              // Zipf exponent of popularity
    std::string routers = "topk,capacity,bias,nash";                // comma-separated
    uint64_t l2 = 0, l3 = 0;                                        // 0: the machine's (hwloc)
    int threads = 0;                                                // 0: physical cores
    RouterOptions router;
};

// Median seconds of one batch through the experts, on one thread and on `threads`.
struct ExpertSpeedup {
    int threads = 1;
    int64_t batch = 0;
    double serial_seconds = 0, parallel_seconds = 0;
    double ratio() const { return parallel_seconds > 0 ? serial_seconds / parallel_seconds : 0; }
};

struct RouteBenchResult {
    std::vector<RouterMetrics> routers;  // in the order of options.routers
    ExpertSpeedup speedup;
    uint64_t l2 = 0, l3 = 0;             // the cache sizes the expert LRU was given
};

// The router names of a comma-separated list; Error(Usage) for an empty list or an unknown name.
std::vector<std::string> router_names(const std::string& list);

// Routes synthetic skewed logits in batches through each router and a random layer of experts.
// Error(Usage) for shapes that do not fit (experts >= 2, tokens, batch >= 1, 1 <= top_k <= experts).
RouteBenchResult bench_synthetic(const RouteBenchOptions& options);

// What bench_model runs a model over: a text, set up once the model is known to have MoE layers.
struct ModelText {
    std::function<double()> perplexity;  // runs the model over the whole text once
    int threads = 1;                     // the run's threads, for timing the experts
    int64_t batch = 32;                  // tokens per batch, for timing the experts
};

// Runs a MoE model over its text once per router, recording every layer's routing, then times
// the first layer's experts. Error(Usage) for a model without MoE layers.
RouteBenchResult bench_model(model::Model& model, const std::string& model_path,
                             const std::function<ModelText()>& open_text, const RouteBenchOptions& options);

nlohmann::json route_bench_json(const RouteBenchResult& result);
// The table: one line per router, then the expert execution speedup; no final newline.
std::string route_bench_text(const RouteBenchResult& result);

}  // namespace dilmodeli::moe
