#include "profile/profiler.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "common/cpu_info.h"
#include "common/error.h"
#include "gguf/gguf_file.h"
#include "model/model.h"
#include "model/tensor_names.h"
#include "profile/forward_profile.h"
#include "profile/recommendations.h"
#include "runtime/model_loader.h"
#include "runtime/sampler.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::profile {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr double kMemoryBoundPercent = 70.0;
constexpr double kOverheadCallSeconds = 20e-6;  // calls shorter than this are mostly fixed cost

std::vector<int32_t> prompt_tokens(const model::Model& model, const ProfileOptions& o, std::string& source) {
    std::vector<int32_t> tokens;
    const std::string& text = o.prompt.empty() ? default_prompt() : o.prompt;
    try {
        auto tokenizer = tokenizer::Tokenizer::from_gguf(model.file());
        tokens = tokenizer->encode(text, tokenizer->add_bos_default());
        source = "text";
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::BadInput || o.n_prompt <= 0) throw;
        source = "synthetic ids (no tokenizer: " + std::string(e.what()) + ")";
    }
    if (tokens.empty())
        for (int64_t i = 0; i < std::max<int64_t>(o.n_prompt, 1); ++i)
            tokens.push_back(int32_t((i * 7919 + 1) % model.config().n_vocab));
    if (o.n_prompt > 0) {
        // Repeat the text's tokens (without a second BOS) up to the requested count.
        const size_t body_start = tokens.size() > 1 ? 1 : 0;
        const std::vector<int32_t> body(tokens.begin() + long(body_start), tokens.end());
        while (int64_t(tokens.size()) < o.n_prompt) tokens.insert(tokens.end(), body.begin(), body.end());
        tokens.resize(size_t(o.n_prompt));
    }
    return tokens;
}

std::string dominant_type(const gguf::GgufFile& file) {
    std::map<std::string, uint64_t> bytes;
    for (const gguf::TensorInfo& t : file.tensors())
        if (t.dims.size() >= 2) bytes[t.type_info().name] += t.n_bytes;
    std::string best;
    uint64_t most = 0;
    for (const auto& [name, b] : bytes)
        if (b > most) best = name, most = b;
    return best;
}

PhaseReport build_phase(const std::string& name, const PhaseTotals& totals, int64_t tokens, double wall,
                        uint64_t working_set, const CacheTopology& caches, const BandwidthReport& bandwidth,
                        int threads, const CounterSample& counters) {
    PhaseReport p;
    p.name = name;
    p.tokens = tokens;
    p.seconds = wall;
    p.tok_per_s = wall > 0 ? double(tokens) / wall : 0;
    p.working_set_bytes = working_set;
    p.working_set_level = caches.level_holding(working_set, threads);
    p.ceiling_gb_per_s = bandwidth.ladder_at(working_set, threads);
    p.counters = counters;
    const CounterReading* clock = counters.find("task_clock_ns");
    if (clock && clock->value && wall > 0) p.cpu_share = *clock->value / 1e9 / (wall * threads);
    double timed = 0;
    for (const OpTotals& t : totals.ops) {
        OpRow r;
        r.op = t.op;
        r.seconds = t.seconds;
        r.calls = t.calls;
        r.tokens = t.tokens;
        r.weight_bytes = t.weight_bytes;
        r.kv_bytes = t.kv_bytes;
        p.weight_bytes += t.weight_bytes;
        p.kv_bytes += t.kv_bytes;
        timed += t.seconds;
        const uint64_t bytes = t.weight_bytes + t.kv_bytes;
        if (t.seconds > 0) {
            r.gb_per_s = double(bytes) / t.seconds / 1e9;
            r.gflop_per_s = t.flops / t.seconds / 1e9;
        }
        if (bytes > 0) {
            r.ceiling_gb_per_s = p.ceiling_gb_per_s;
            r.percent_of_ceiling = p.ceiling_gb_per_s > 0 ? 100.0 * r.gb_per_s / p.ceiling_gb_per_s : 0;
            const double per_call = t.calls > 0 ? t.seconds / double(t.calls) : 0;
            r.bound = r.percent_of_ceiling >= kMemoryBoundPercent ? Bound::Memory
                      : per_call < kOverheadCallSeconds           ? Bound::Overhead
                                                                  : Bound::Compute;
        }
        p.ops.push_back(r);
    }
    OpRow other;
    other.op = "other";
    other.seconds = std::max(0.0, wall - timed);
    p.ops.push_back(other);
    const double total = std::max(wall, timed);
    for (OpRow& r : p.ops) {
        r.share = total > 0 ? r.seconds / total : 0;
        r.us_per_token = tokens > 0 ? 1e6 * r.seconds / double(tokens) : 0;
    }
    for (size_t l = 0; l < totals.layer_seconds.size(); ++l) {
        LayerRow row;
        row.layer = l + 1 == totals.layer_seconds.size() ? -1 : int64_t(l);
        row.seconds = totals.layer_seconds[l];
        row.share = total > 0 ? row.seconds / total : 0;
        p.layers.push_back(row);
    }
    p.layers.push_back({-2, other.seconds, total > 0 ? other.seconds / total : 0});
    return p;
}

// Prompt then generation, untimed op by op: tokens per second at `threads`.
ThreadScaling time_threads(model::Model& model, const model::SessionOptions& base, int threads,
                           const std::vector<int32_t>& prompt, int64_t n_gen, uint64_t seed) {
    model::SessionOptions so = base;
    so.threads = threads;
    model::Session session(model, so);
    ThreadScaling s;
    s.threads = threads;
    auto start = Clock::now();
    session.decode(prompt.data(), int64_t(prompt.size()), false);
    s.pp_tok_per_s = double(prompt.size()) / seconds_since(start);
    runtime::SamplerOptions sampler_options;
    sampler_options.seed = seed;
    runtime::Sampler sampler(sampler_options);
    std::vector<int32_t> history = prompt;
    const int64_t n_vocab = model.config().n_vocab;
    start = Clock::now();
    for (int64_t i = 0; i < n_gen; ++i) {
        const int32_t next = sampler.sample(session.logits().data(), n_vocab, history);
        history.push_back(next);
        session.decode(&next, 1, false);
    }
    s.tg_tok_per_s = n_gen > 0 ? double(n_gen) / seconds_since(start) : 0;
    return s;
}

std::vector<TensorPlacement> place_tensors(const model::Model& model, const ProfileReport& r,
                                           uint64_t kv_run_bytes, int kv_element_bytes) {
    std::vector<TensorPlacement> out;
    const gguf::GgufFile& file = model.file();
    auto add = [&](const std::string& what, const std::string& type, uint64_t bytes) {
        out.push_back({what, type, bytes, r.caches.level_holding(bytes, r.threads)});
    };
    uint64_t layer_bytes = 0;
    using model::TensorRole;
    for (TensorRole role : {TensorRole::AttnQ, TensorRole::AttnK, TensorRole::AttnV, TensorRole::AttnQkv,
                            TensorRole::AttnOutput, TensorRole::FfnGate, TensorRole::FfnUp, TensorRole::FfnDown}) {
        const gguf::TensorInfo* t = file.find_tensor(model::tensor_name(role, 0));
        if (!t) continue;
        add(std::string(model::tensor_stem(role)) + " (one layer)", t->type_info().name, t->n_bytes);
        layer_bytes += t->n_bytes;
    }
    add("one layer's matrices", "", layer_bytes);
    if (const gguf::TensorInfo* t = file.find_tensor("output.weight"))
        add("output head", t->type_info().name, t->n_bytes);
    else if (const gguf::TensorInfo* e = file.find_tensor("token_embd.weight"))
        add("output head (tied to token_embd)", e->type_info().name, e->n_bytes);
    add("all weights read per token", r.model_type, r.weight_bytes_per_token);
    add("KV cache of this run (" + std::to_string(r.context) + " positions)", r.kv_type, kv_run_bytes);
    const model::ModelConfig& c = model.config();
    add("KV cache at the trained context (" + std::to_string(c.context_length) + ")", r.kv_type,
        2 * uint64_t(c.n_layers) * uint64_t(c.context_length) * uint64_t(c.kv_dim()) * uint64_t(kv_element_bytes));
    add("working set per generated token", "", r.roofline.bytes_per_token);
    return out;
}

}  // namespace

const std::string& default_prompt() {
    static const std::string text =
        "Once upon a time, there was a little girl named Lily. She lived in a small house near a big "
        "forest with her mom, her dad and her dog Max. Every morning Lily and Max went for a walk under "
        "the tall trees. They liked to look at the birds and pick red berries. One day Lily saw a tiny "
        "rabbit hiding behind a rock. The rabbit was scared and could not find its way home. Lily smiled "
        "and said, \"Do not be afraid, I will help you.\" She carried the rabbit through the forest until "
        "they found its family near the river. The rabbit was very happy, and Lily felt proud.";
    return text;
}

void ProfileOptions::validate() const {
    if (n_prompt < 0) throw usage_error("--n-prompt " + std::to_string(n_prompt) + " is negative");
    if (n_gen < 1) throw usage_error("-n must be at least 1 (generation is profiled)");
    if (threads < 0) throw usage_error("--threads must be positive");
    if (batch < 1) throw usage_error("--batch must be at least 1");
    model::parse_kv_cache_type(kv_type);
    BandwidthOptions b = bandwidth;
    b.threads = {1};
    b.validate();
}

ProfileReport run_profile(const ProfileOptions& o) {
    o.validate();
    const auto start = Clock::now();
    PerfCounters counters;  // first, so the worker threads created later are counted
    auto model = runtime::load_model_to_run(o.model_path, o.residency);
    const model::ModelConfig& c = model->config();

    ProfileReport r;
    r.model_path = o.model_path;
    r.model_type = dominant_type(model->file());
    r.file_bytes = model->file().file_size();
    r.mapped = !model->file().is_copy();
    r.n_layers = c.n_layers;
    r.n_embd = c.n_embd;
    r.n_vocab = c.n_vocab;
    r.weight_bytes_per_token = model->weight_bytes_per_token();
    r.threads = o.threads > 0 ? o.threads : physical_core_count();
    r.batch = o.batch;
    const model::KvCacheType kv_type = model::parse_kv_cache_type(o.kv_type);
    r.kv_type = model::kv_cache_type_name(kv_type);
    const int kv_element_bytes = kv_type == model::KvCacheType::F16 ? 2 : 4;

    const std::vector<int32_t> prompt = prompt_tokens(*model, o, r.prompt_source);
    r.n_prompt = int64_t(prompt.size());
    r.n_gen = o.n_gen;
    r.context = r.n_prompt + r.n_gen + 1;

    model::SessionOptions so;
    so.threads = r.threads;
    so.context = r.context;
    so.kv_type = kv_type;
    so.max_batch = o.batch;
    model::Session session(*model, so);
    // Untimed pass first: page in the weights, start the threads.
    session.decode(prompt.data(), r.n_prompt, false);
    session.reset();

    ForwardProfile profile(*model, kv_element_bytes);
    session.set_timer(&profile);
    profile.set_phase(Phase::Prompt);
    profile.begin_decode(session.n_past());
    auto before = counters.snapshot();
    auto t0 = Clock::now();
    session.decode(prompt.data(), r.n_prompt, false);
    const double prompt_wall = seconds_since(t0);
    auto after = counters.snapshot();
    const CounterSample prompt_counters = counters.difference(before, after);

    profile.set_phase(Phase::Generation);
    runtime::SamplerOptions sampler_options;
    sampler_options.seed = o.seed;
    runtime::Sampler sampler(sampler_options);
    std::vector<int32_t> history = prompt;
    before = counters.snapshot();
    t0 = Clock::now();
    for (int64_t i = 0; i < o.n_gen; ++i) {
        const double s0 = model::seconds_now();
        const int32_t next = sampler.sample(session.logits().data(), c.n_vocab, history);
        profile.add_time("sampling", model::seconds_now() - s0);
        history.push_back(next);
        profile.begin_decode(session.n_past());
        session.decode(&next, 1, false);
    }
    const double gen_wall = seconds_since(t0);
    after = counters.snapshot();
    const CounterSample gen_counters = counters.difference(before, after);
    session.set_timer(nullptr);
    const uint64_t kv_run_bytes = session.kv_cache_bytes();

    if (o.thread_scaling && r.threads > 1) {
        const int64_t n = std::min<int64_t>(o.n_gen, 16);
        for (int t : {1, r.threads}) r.thread_scaling.push_back(time_threads(*model, so, t, prompt, n, o.seed));
    }

    r.peak_rss_mib = peak_rss_mib();  // before the probe's buffer inflates it

    BandwidthOptions bo = o.bandwidth;
    bo.threads = {1, r.threads, physical_core_count()};
    r.bandwidth = measure_bandwidth(bo);
    r.caches = read_cache_topology();
    reconcile_with_ladder(r.caches, r.bandwidth);
    r.hardware_counters = counters.hardware_available();
    r.hardware_counters_reason = counters.hardware_reason();

    // Bytes a forward step touches: every weight once, plus the KV cache it reads.
    const PhaseTotals& pt = profile.totals(Phase::Prompt);
    const PhaseTotals& gt = profile.totals(Phase::Generation);
    uint64_t gen_weights = 0, gen_kv = 0, prompt_kv = 0;
    for (const OpTotals& t : gt.ops) gen_weights += t.weight_bytes, gen_kv += t.kv_bytes;
    for (const OpTotals& t : pt.ops) prompt_kv += t.kv_bytes;
    r.weight_bytes_per_generated_token = gen_weights / uint64_t(o.n_gen);
    r.kv_bytes_per_generated_token = gen_kv / uint64_t(o.n_gen);
    const uint64_t prompt_steps = uint64_t(std::max<int64_t>(1, pt.forward_steps));
    r.prompt = build_phase("prompt", pt, r.n_prompt, prompt_wall, r.weight_bytes_per_token + prompt_kv / prompt_steps,
                           r.caches, r.bandwidth, r.threads, prompt_counters);
    r.generation = build_phase("generation", gt, o.n_gen, gen_wall,
                               r.weight_bytes_per_generated_token + r.kv_bytes_per_generated_token, r.caches,
                               r.bandwidth, r.threads, gen_counters);

    Roofline& roof = r.roofline;
    roof.dram_gb_per_s = r.bandwidth.triad(r.threads);
    roof.bytes_per_token = r.generation.working_set_bytes;
    roof.tok_per_s_bound = roof.bytes_per_token > 0 ? roof.dram_gb_per_s * 1e9 / double(roof.bytes_per_token) : 0;
    roof.achieved_tok_per_s = r.generation.tok_per_s;
    roof.percent = roof.tok_per_s_bound > 0 ? 100.0 * roof.achieved_tok_per_s / roof.tok_per_s_bound : 0;
    roof.level = r.generation.working_set_level;
    roof.level_gb_per_s = r.generation.ceiling_gb_per_s;
    roof.level_tok_per_s_bound =
        roof.bytes_per_token > 0 ? roof.level_gb_per_s * 1e9 / double(roof.bytes_per_token) : 0;
    roof.level_percent =
        roof.level_tok_per_s_bound > 0 ? 100.0 * roof.achieved_tok_per_s / roof.level_tok_per_s_bound : 0;

    r.placement = place_tensors(*model, r, kv_run_bytes, kv_element_bytes);
    r.recommendations = recommend(r);
    r.seconds = seconds_since(start);
    return r;
}

}  // namespace dilmodeli::profile
