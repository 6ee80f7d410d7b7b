#include "profile/recommendations.h"

#include <algorithm>
#include <string>

#include "profile/units.h"
#include "quant/quant_type.h"

namespace dilmodeli::profile {
namespace {

constexpr double kMemoryBound = 70.0;   // % of the ceiling: bandwidth is the limit
constexpr double kComputeBound = 40.0;  // below: the kernels, not the bytes, are the limit

// strprintf with every argument a double, so that counts and thread numbers print with %.0f.
std::string format(const char* fmt, double a, double b = 0, double c = 0, double d = 0) {
    return strprintf(fmt, a, b, c, d);
}

std::string mib(uint64_t bytes) { return format("%.1f MiB", double(bytes) / (1 << 20)); }

double bits_per_weight(const std::string& type) {
    const quant::TypeInfo* t = quant::find_type(type);
    return t ? t->bits_per_weight() : 0;
}

bool is_k_quant(const std::string& type) { return type.size() > 2 && type.compare(type.size() - 2, 2, "_K") == 0; }

// Smaller types worth trying from `type` (a registry name as the file spells it), most
// conservative first.
std::vector<std::string> smaller_types(const std::string& type) {
    const quant::TypeInfo* t = quant::find_type(type);
    std::vector<std::string> names;
    if (!t || type != t->name) return names;
    for (quant::TypeId s : quant::suggested_smaller_types(t->id)) names.push_back(quant::type_info(s).name);
    return names;
}

double share_of(const PhaseReport& p, const std::string& op) {
    for (const OpRow& r : p.ops)
        if (r.op == op) return r.share;
    return 0;
}

double matmul_share(const PhaseReport& p) {
    double s = 0;
    for (const OpRow& r : p.ops)
        if (r.weight_bytes > 0 && r.op != "embedding") s += r.share;
    return s;
}

const ThreadScaling* scaling_at(const ProfileReport& r, int threads) {
    for (const ThreadScaling& s : r.thread_scaling)
        if (s.threads == threads) return &s;
    return nullptr;
}

void threads_advice(const ProfileReport& r, std::vector<Recommendation>& out) {
    const int cores = std::max(1, r.caches.cores);
    const ThreadScaling* one = scaling_at(r, 1);
    const ThreadScaling* many = r.threads > 1 ? scaling_at(r, r.threads) : nullptr;
    if (one && many && one->tg_tok_per_s > 0 && one->pp_tok_per_s > 0) {
        const double tg_gain = many->tg_tok_per_s / one->tg_tok_per_s;
        const double pp_gain = many->pp_tok_per_s / one->pp_tok_per_s;
        const std::string evidence =
            format("generation %.1f tok/s on 1 thread, %.1f on %.0f (x%.2f); ", one->tg_tok_per_s,
                   many->tg_tok_per_s, r.threads, tg_gain) +
            format("prompt %.1f tok/s on 1 thread, %.1f (x%.2f)", one->pp_tok_per_s, many->pp_tok_per_s, pp_gain);
        if (tg_gain < 1.1) {
            std::string advice = "Generate with --threads 1: more threads add under 10% here, so a fixed per-token "
                                 "cost (thread hand-offs, small matrices) dominates, not bandwidth";
            if (pp_gain >= 1.3) advice += format("; keep %.0f threads for prompt processing (x%.2f)", r.threads, pp_gain);
            out.push_back({"threads", advice + ".", evidence});
        } else {
            out.push_back({"threads",
                           format("Keep --threads %.0f: generation scales x%.2f over one thread.", r.threads, tg_gain),
                           evidence});
        }
    }
    if (r.threads < cores) {
        const double now = r.bandwidth.triad(r.threads), all = r.bandwidth.triad(cores);
        if (now > 0 && all / now > 1.3 && r.roofline.level_percent >= kMemoryBound)
            out.push_back({"threads",
                           format("Use --threads %.0f: generation is bandwidth-bound and the machine's bandwidth "
                                  "rises with threads.",
                                  cores),
                           format("triad %.1f GB/s at %.0f threads, %.1f GB/s at %.0f", now, r.threads, all, cores)});
    } else if (r.threads > cores) {
        out.push_back({"threads", format("Use at most --threads %.0f (physical cores): extra threads share cores.", cores),
                       format("%.0f threads on %.0f cores", r.threads, cores)});
    }
}

void batch_advice(const ProfileReport& r, std::vector<Recommendation>& out) {
    const PhaseReport& p = r.prompt;
    const double tg = r.generation.tok_per_s;
    const std::string evidence =
        format("prompt %.1f tok/s against generation %.1f tok/s (x%.1f); ", p.tok_per_s, tg,
               tg > 0 ? p.tok_per_s / tg : 0) +
        format("matrix products %.0f%% and attention %.0f%% of prompt time", 100 * matmul_share(p),
               100 * share_of(p, "attention"));
    const double attention = share_of(p, "attention");
    if (r.batch < r.n_prompt) {
        out.push_back({"batch",
                       format("Raise --batch to at least %.0f (the prompt's length): with %.0f, every step re-reads "
                              "all weights.",
                              double(r.n_prompt), double(r.batch)),
                       evidence});
    } else if (attention > 0.25) {
        out.push_back({"batch",
                       format("Keep --batch at or above the prompt length (%.0f); here attention, not the weights, "
                              "dominates prompt processing (%.0f%%), and it grows with the square of the prompt, so "
                              "the attention kernel is the lever.",
                              double(r.n_prompt), 100 * attention),
                       evidence});
    } else if (tg > 0 && p.tok_per_s < 2 * tg) {
        out.push_back({"batch",
                       "Batching buys little here: prompt tokens cost almost as much as generated ones, so the "
                       "matrix kernels are compute- or overhead-bound even for one token.",
                       evidence});
    } else {
        out.push_back({"batch",
                       format("Keep --batch at or above the prompt length (%.0f tokens in one step): batching turns "
                              "weight reads into arithmetic.",
                              double(r.n_prompt)),
                       evidence});
    }
}

void type_advice(const ProfileReport& r, std::vector<Recommendation>& out) {
    const Roofline& roof = r.roofline;
    // The weight type only changes the matrix products: judge them on their own.
    double seconds = 0, share = 0, overhead = 0, compute = 0;
    uint64_t bytes = 0;
    const OpRow* largest = nullptr;
    for (const OpRow& o : r.generation.ops) {
        if (!largest || o.share > largest->share) largest = &o;
        if (o.weight_bytes == 0 || o.op == "embedding") continue;
        seconds += o.seconds, share += o.share, bytes += o.weight_bytes;
        if (o.bound == Bound::Overhead) overhead += o.share;
        if (o.bound == Bound::Compute) compute += o.share;
    }
    const double gbps = seconds > 0 ? double(bytes) / seconds / 1e9 : 0;
    const double pct = roof.level_gb_per_s > 0 ? 100 * gbps / roof.level_gb_per_s : 0;
    const std::string evidence =
        format("matrix products: %.0f%% of generation time at %.1f GB/s = %.0f%% of the ", 100 * share, gbps, pct) +
        roof.level + format(" ceiling (%.1f GB/s); whole token: %.1f tok/s = %.0f%% of the %.0f tok/s its ",
                            roof.level_gb_per_s, roof.achieved_tok_per_s, roof.level_percent, roof.level_tok_per_s_bound) +
        mib(roof.bytes_per_token) + " allow";
    const double bpw = bits_per_weight(r.model_type);
    if (share < 0.5 && largest) {
        out.push_back({"quant_type",
                       format("Matrix products are only %.0f%% of generation time; the largest cost is ", 100 * share) +
                           largest->op + format(" (%.0f%%): a different weight type would move little.", 100 * largest->share),
                       evidence});
    } else if (pct >= kMemoryBound) {
        std::string advice = "Generation's matrix products are bandwidth-bound: a smaller weight type is the lever.";
        for (const std::string& t : smaller_types(r.model_type)) {
            const double ratio = bpw > 0 ? bits_per_weight(t) / bpw : 1;
            const uint64_t ws = uint64_t(double(r.weight_bytes_per_generated_token) * ratio) + r.kv_bytes_per_generated_token;
            const double bw = r.bandwidth.ladder_at(ws, r.threads);
            const double bound = ws > 0 ? bw * 1e9 / double(ws) : 0;
            advice += " " + t + ": " + mib(ws) + " per token in " + r.caches.level_holding(ws, r.threads) +
                      format(", bound %.0f tok/s (about %.0f at today's efficiency);", bound,
                             bound * std::min(1.0, roof.level_percent / 100));
        }
        out.push_back({"quant_type", advice, evidence});
    } else if (pct < kComputeBound) {
        std::string advice;
        if (overhead > compute)
            advice = "Generation's matrix products are bound by fixed per-call costs (the matrices are small): a "
                     "different weight type will not help; fewer threads or larger matrices per call will.";
        else if (is_k_quant(r.model_type) || r.model_type.rfind("IQ", 0) == 0 || r.model_type.rfind("TQ", 0) == 0)
            advice = "Generation's matrix products are compute-bound on " + r.model_type +
                     " decoding: a simpler type (Q4_0 or Q8_0) spends fewer instructions per weight.";
        else
            advice = "Generation's matrix products are compute-bound: the " + r.model_type +
                     " kernels are the lever; a smaller type will not speed them up by its size ratio.";
        out.push_back({"quant_type", advice, evidence});
    } else {
        out.push_back({"quant_type",
                       "Generation's matrix products are between bounds: a smaller type helps, but by less than its size "
                       "ratio; kernel efficiency matters as much.",
                       evidence});
    }
}

void kv_advice(const ProfileReport& r, std::vector<Recommendation>& out) {
    const double ratio = r.weight_bytes_per_generated_token > 0
                             ? double(r.kv_bytes_per_generated_token) / double(r.weight_bytes_per_generated_token)
                             : 0;
    const std::string bytes = "KV " + mib(r.kv_bytes_per_generated_token) + " against weights " +
                              mib(r.weight_bytes_per_generated_token) + " per generated token";
    const double attention = share_of(r.generation, "attention");
    if (r.kv_type == "f32" && ratio > 0.1 && r.roofline.level_percent >= kComputeBound)
        out.push_back({"kv_cache", "Use --kv-type f16: the KV cache is a large part of the bytes per token and F16 halves it.",
                       bytes});
    else if (attention > 0.25)
        out.push_back({"kv_cache",
                       format("Attention takes %.0f%% of generation time but reads its cache at %.0f%% of the ceiling: "
                              "the attention kernel, not the cache type, is the lever.",
                              100 * attention,
                              [&] {
                                  for (const OpRow& o : r.generation.ops)
                                      if (o.op == "attention") return o.percent_of_ceiling;
                                  return 0.0;
                              }()),
                       bytes});
}

void sampling_advice(const ProfileReport& r, std::vector<Recommendation>& out) {
    for (const OpRow& o : r.generation.ops)
        if (o.op == "sampling" && o.share > 0.2)
            out.push_back({"sampling",
                           format("Sampling takes %.0f%% of generation time (%.1f us per token over %.0f candidates): "
                                  "with a model this fast, the sampler is worth optimising (partial sort for top-k, "
                                  "or greedy decoding).",
                                  100 * o.share, o.us_per_token, double(r.n_vocab)),
                           format("generation %.1f tok/s", r.generation.tok_per_s)});
}

}  // namespace

void noise_advice(const ProfileReport& r, std::vector<Recommendation>& out) {
    for (const PhaseReport* p : {&r.prompt, &r.generation}) {
        const CounterReading* preempted = p->counters.find("involuntary_context_switches");
        if (p->cpu_share < 0 || p->cpu_share >= 0.75 || !preempted || !preempted->value || *preempted->value < 1)
            continue;
        out.push_back({"noise",
                       "Other processes shared the CPU during " + p->name +
                           ": its times are inflated and the advice below is less certain; profile again on a quiet "
                           "machine.",
                       format("our %.0f threads ran %.0f%% of the wall time; %.0f involuntary context switches",
                              r.threads, 100 * p->cpu_share, *preempted->value)});
        return;
    }
}

std::vector<Recommendation> recommend(const ProfileReport& r) {
    std::vector<Recommendation> out;
    noise_advice(r, out);
    threads_advice(r, out);
    batch_advice(r, out);
    type_advice(r, out);
    kv_advice(r, out);
    sampling_advice(r, out);
    if (!r.hardware_counters)
        out.push_back({"counters",
                       "Hardware counters are unavailable, so cache misses and IPC are not shown; on bare metal or a "
                       "VM with a virtual PMU, profile again to see them.",
                       r.hardware_counters_reason});
    return out;
}

}  // namespace dilmodeli::profile
