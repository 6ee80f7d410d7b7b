#pragma once
// Everything `dilmodeli profile` measured, in one value: the forward pass op by op for prompt
// processing and generation, the machine (caches, bandwidth ladder, counters), the roofline and
// the advice drawn from them. The text table, the JSON object and the HTML page are views of it.
//
// JSON keys (to_json), all always present:
//   model {path, type, file_bytes, mmap, n_layers, n_embd, n_vocab, weight_bytes_per_token}
//     (mmap: the weights were read through a mapping, not from a copy in memory)
//   run {threads, batch, kv_type, n_prompt, n_gen, prompt_source, context}
//   prompt, generation: {tokens, seconds, tok_per_s, cpu_share, weight_bytes, kv_bytes, working_set_bytes,
//     working_set_level, ceiling_gb_per_s,
//     ops [{op, seconds, share, calls, tokens, weight_bytes, kv_bytes, us_per_token, gb_per_s,
//           gflop_per_s, ceiling_gb_per_s, percent_of_ceiling, bound}],  shares sum to 1
//     layers [{layer, seconds, share}]  (layer -1: outside the blocks, -2: untimed; sum to 1)
//     counters {name: number | "unavailable: reason"}}
//   per_token {weight_bytes, kv_bytes, total_bytes}            (per generated token)
//   machine {cores, cache_source, caches [{level, kind, size_bytes, effective_size_bytes (smaller
//     when the ladder contradicts hwloc), line_bytes, shared_by, instances}], bandwidth {read_kernel, seconds, stream [{threads, triad_gb_per_s,
//     triad_best_gb_per_s, read_gb_per_s}], ladder [{bytes, gb_per_s {"<threads>": x}}]}}
//   roofline {dram_gb_per_s, bytes_per_token, tok_per_s_bound, achieved_tok_per_s, percent,
//     level, level_gb_per_s, level_tok_per_s_bound, level_percent}
//   placement [{tensor, type, bytes, fits_in}]
//   counters {hardware: "available" | "unavailable: reason"}
//   thread_scaling [{threads, pp_tok_per_s, tg_tok_per_s}]
//   recommendations [{topic, advice, evidence}]
//   peak_rss_mib (of the inference, before the bandwidth probe), seconds
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "profile/bandwidth_probe.h"
#include "profile/cache_topology.h"
#include "profile/perf_counters.h"

namespace dilmodeli::profile {

// Where an op's time goes, judged against the ladder ceiling of the phase's working set.
enum class Bound {
    None,       // reads no weights or KV (norms, rope, residual adds, sampling)
    Memory,     // >= 70% of the ceiling: the level holding its bytes limits it
    Compute,    // below, with long calls: arithmetic (dequantization, dot products) limits it
    Overhead,   // below, with calls of a few microseconds: fixed per-call cost (threads, setup)
};
const char* bound_name(Bound bound);

struct OpRow {
    std::string op;
    double seconds = 0;
    double share = 0;  // of the phase's wall time
    int64_t calls = 0;
    int64_t tokens = 0;
    uint64_t weight_bytes = 0;
    uint64_t kv_bytes = 0;
    double us_per_token = 0;  // per token of the phase
    double gb_per_s = 0;      // (weights + KV) / seconds; 0 when it reads neither
    double gflop_per_s = 0;
    double ceiling_gb_per_s = 0;
    double percent_of_ceiling = 0;
    Bound bound = Bound::None;
};

struct LayerRow {
    int64_t layer = -1;  // -1: outside the blocks (embedding, output head, sampling); -2: untimed
    double seconds = 0;
    double share = 0;
};

struct PhaseReport {
    std::string name;   // "prompt" or "generation"
    int64_t tokens = 0;
    double seconds = 0; // wall time
    double tok_per_s = 0;
    // CPU time of our threads over wall time x threads (task clock); -1 unknown. Well below 1
    // with involuntary context switches: other processes took the CPU and times are inflated.
    double cpu_share = -1;
    uint64_t weight_bytes = 0;
    uint64_t kv_bytes = 0;
    uint64_t working_set_bytes = 0;  // bytes one forward step touches
    std::string working_set_level;   // the cache level (or DRAM) that holds them
    double ceiling_gb_per_s = 0;     // ladder read bandwidth at that working set
    std::vector<OpRow> ops;          // the last is "other": wall time no hook saw
    std::vector<LayerRow> layers;
    CounterSample counters;
};

struct TensorPlacement {
    std::string tensor;  // "attn_q (one layer)", "all weights per token", "KV cache", ...
    std::string type;
    uint64_t bytes = 0;
    std::string fits_in;
};

struct Roofline {
    double dram_gb_per_s = 0;         // STREAM triad at the run's thread count
    uint64_t bytes_per_token = 0;     // weights + KV per generated token
    double tok_per_s_bound = 0;
    double achieved_tok_per_s = 0;
    double percent = 0;
    std::string level;                // where the per-token working set lives
    double level_gb_per_s = 0;        // ladder bandwidth there
    double level_tok_per_s_bound = 0;
    double level_percent = 0;
};

struct ThreadScaling {
    int threads = 1;
    double pp_tok_per_s = 0;
    double tg_tok_per_s = 0;
};

struct Recommendation {
    std::string topic;     // "threads", "batch", "quant_type", "kv_cache", "counters"
    std::string advice;
    std::string evidence;  // the measurements it rests on
};

struct ProfileReport {
    std::string model_path;
    std::string model_type;  // the type holding most weight bytes, e.g. "Q8_0"
    uint64_t file_bytes = 0;
    bool mapped = true;  // false: the file was copied into memory
    int64_t n_layers = 0, n_embd = 0, n_vocab = 0;
    uint64_t weight_bytes_per_token = 0;  // Model's own figure

    int threads = 1;
    int64_t batch = 512;
    std::string kv_type;
    int64_t n_prompt = 0, n_gen = 0, context = 0;
    std::string prompt_source;  // "text" or "synthetic ids (no tokenizer)"

    PhaseReport prompt, generation;
    uint64_t weight_bytes_per_generated_token = 0;  // from the ops
    uint64_t kv_bytes_per_generated_token = 0;

    CacheTopology caches;
    BandwidthReport bandwidth;
    Roofline roofline;
    std::vector<TensorPlacement> placement;
    bool hardware_counters = false;
    std::string hardware_counters_reason;
    std::vector<ThreadScaling> thread_scaling;
    std::vector<Recommendation> recommendations;
    double peak_rss_mib = 0;
    double seconds = 0;
};

nlohmann::json to_json(const ProfileReport& report);

}  // namespace dilmodeli::profile
