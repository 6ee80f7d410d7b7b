#include "profile/text_report.h"

#include <algorithm>

#include "profile/units.h"

namespace dilmodeli::profile {
namespace {

std::string base_name(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string layer_label(int64_t layer) {
    if (layer == -1) return "outside";
    if (layer == -2) return "untimed";
    return std::to_string(layer);
}

void phase_table(std::string& out, const ProfileReport& r, const PhaseReport& p, bool per_token) {
    out += strprintf("%s: %lld tokens in %.2f ms, %.1f tok/s; working set %s in %s, ladder ceiling %.1f GB/s",
                     p.name == "prompt" ? "Prompt processing" : "Generation", static_cast<long long>(p.tokens),
                     1e3 * p.seconds, p.tok_per_s, human_bytes(p.working_set_bytes).c_str(),
                     p.working_set_level.c_str(), p.ceiling_gb_per_s);
    out += p.cpu_share >= 0 ? strprintf("; CPU share %.0f%%\n", 100 * p.cpu_share) : std::string("\n");
    const char* bytes_head = per_token ? "weights/tok" : "weights";
    const char* kv_head = per_token ? "KV/tok" : "KV";
    out += strprintf("  %-12s %6s %9s %9s %11s %10s %8s %8s %6s  %s\n", "op", "share", "ms", "us/tok", bytes_head,
                     kv_head, "GB/s", "GFLOP/s", "%ceil", "bound");
    const double divide = per_token && p.tokens > 0 ? double(p.tokens) : 1.0;
    for (const OpRow& o : p.ops) {
        const bool reads = o.weight_bytes + o.kv_bytes > 0;
        out += strprintf("  %-12s %5.1f%% %9.3f %9.2f %11s %10s ", o.op.c_str(), 100 * o.share, 1e3 * o.seconds,
                         o.us_per_token,
                         o.weight_bytes ? human_bytes(uint64_t(double(o.weight_bytes) / divide)).c_str() : "-",
                         o.kv_bytes ? human_bytes(uint64_t(double(o.kv_bytes) / divide)).c_str() : "-");
        if (reads)
            out += strprintf("%8.1f %8.1f %5.0f%%  %s\n", o.gb_per_s, o.gflop_per_s, o.percent_of_ceiling,
                             bound_name(o.bound));
        else
            out += strprintf("%8s %8s %6s  %s\n", "-", "-", "-", "-");
    }
    out += "  by layer:";
    int column = 0;
    for (const LayerRow& l : p.layers) {
        if (column++ % 8 == 0 && column > 1) out += "\n           ";
        out += strprintf(" %s %.1f%%", layer_label(l.layer).c_str(), 100 * l.share);
    }
    out += "\n";
    (void)r;
}

std::string counter_value(const CounterSample& s, const std::string& name, double tokens) {
    const CounterReading* c = s.find(name);
    if (!c) return "-";
    if (!c->value) return "unavailable";
    if (name == "task_clock_ns") return strprintf("%.2f ms", *c->value / 1e6);
    return strprintf("%.0f (%.1f/tok)", *c->value, tokens > 0 ? *c->value / tokens : 0);
}

}  // namespace

std::string format_text(const ProfileReport& r) {
    std::string out;
    out += strprintf("model    %s: %s, %lld layers, dim %lld, vocab %lld, %s file (%s), %s of weights per token\n",
                     base_name(r.model_path).c_str(), r.model_type.c_str(), static_cast<long long>(r.n_layers),
                     static_cast<long long>(r.n_embd), static_cast<long long>(r.n_vocab),
                     human_bytes(r.file_bytes).c_str(), r.mapped ? "mapped" : "copied into memory",
                     human_bytes(r.weight_bytes_per_token).c_str());
    out += strprintf("run      %d threads, batch %lld, KV %s, prompt %lld tokens (%s), %lld generated\n\n", r.threads,
                     static_cast<long long>(r.batch), r.kv_type.c_str(), static_cast<long long>(r.n_prompt),
                     r.prompt_source.c_str(), static_cast<long long>(r.n_gen));
    phase_table(out, r, r.prompt, false);
    out += "\n";
    phase_table(out, r, r.generation, true);

    out += strprintf("\nPer generated token: weights %s + KV %s = %s read\n",
                     human_bytes(r.weight_bytes_per_generated_token).c_str(),
                     human_bytes(r.kv_bytes_per_generated_token).c_str(),
                     human_bytes(r.weight_bytes_per_generated_token + r.kv_bytes_per_generated_token).c_str());
    const Roofline& roof = r.roofline;
    out += strprintf("Roofline (generation, %d threads): DRAM triad %.1f GB/s allows %.0f tok/s; achieved %.1f tok/s = "
                     "%.0f%%\n",
                     r.threads, roof.dram_gb_per_s, roof.tok_per_s_bound, roof.achieved_tok_per_s, roof.percent);
    out += strprintf("         working set in %s: ladder %.1f GB/s allows %.0f tok/s; achieved %.0f%%\n",
                     roof.level.c_str(), roof.level_gb_per_s, roof.level_tok_per_s_bound, roof.level_percent);

    out += strprintf("\nMachine: %d cores; caches from %s:", r.caches.cores, r.caches.source.c_str());
    if (r.caches.levels.empty()) out += " none reported" + (r.caches.error.empty() ? "" : " (" + r.caches.error + ")");
    for (const CacheLevel& c : r.caches.levels) {
        out += strprintf(" %s %s %s x%d%s", c.name().c_str(), c.kind.c_str(), human_bytes(c.size_bytes).c_str(),
                         c.instances, c.shared_by == 1 ? " (per core)" : strprintf(" (shared by %d)", c.shared_by).c_str());
        if (c.measured_bytes)
            out += " [the ladder shows it ending near " + human_bytes(c.measured_bytes) + "; placement uses that]";
        out += ";";
    }
    out += "\n";
    const BandwidthReport& b = r.bandwidth;
    std::string head = strprintf("  %-14s", "GB/s (median)");
    for (int t : b.threads) head += strprintf(" %10s", strprintf("%d thr", t).c_str());
    out += head + "\n";
    std::string triad = strprintf("  %-14s", "triad"), read = strprintf("  %-14s", "read");
    for (const StreamFigures& s : b.stream) {
        triad += strprintf(" %10.1f", s.triad_gb_per_s);
        read += strprintf(" %10.1f", s.read_gb_per_s);
    }
    out += triad + "\n" + read + "\n";
    out += strprintf("  read ladder (%s kernel, probe %.1f s):\n", b.read_kernel.c_str(), b.seconds);
    for (const LadderPoint& p : b.ladder) {
        std::string line = strprintf("  %-14s", human_bytes(p.bytes).c_str());
        for (double v : p.gb_per_s) line += strprintf(" %10.1f", v);
        out += line + strprintf("   %s\n", r.caches.level_holding(p.bytes, 1).c_str());
    }

    out += strprintf("\nWhere tensors fit (%d threads):\n", r.threads);
    for (const TensorPlacement& t : r.placement)
        out += strprintf("  %-44s %-6s %10s  %s\n", t.tensor.c_str(), t.type.c_str(), human_bytes(t.bytes).c_str(),
                         t.fits_in.c_str());

    out += "\nCounters: hardware ";
    out += r.hardware_counters ? "available\n" : "unavailable: " + r.hardware_counters_reason + "\n";
    out += strprintf("  %-30s %22s %22s\n", "", "prompt", "generation");
    for (const CounterReading& c : r.prompt.counters.readings)
        out += strprintf("  %-30s %22s %22s\n", c.name.c_str(),
                         counter_value(r.prompt.counters, c.name, double(r.prompt.tokens)).c_str(),
                         counter_value(r.generation.counters, c.name, double(r.generation.tokens)).c_str());

    if (!r.thread_scaling.empty()) {
        out += "\nThreads (untimed runs):";
        for (const ThreadScaling& s : r.thread_scaling)
            out += strprintf("  %d: prompt %.1f tok/s, generation %.1f tok/s;", s.threads, s.pp_tok_per_s,
                             s.tg_tok_per_s);
        out += "\n";
    }
    out += "\nRecommendations:\n";
    for (const Recommendation& a : r.recommendations)
        out += strprintf("  [%s] %s\n      (%s)\n", a.topic.c_str(), a.advice.c_str(), a.evidence.c_str());
    out += strprintf("\npeak RSS %.1f MiB, profile took %.1f s\n", r.peak_rss_mib, r.seconds);
    return out;
}

}  // namespace dilmodeli::profile
