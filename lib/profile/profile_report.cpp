#include "profile/profile_report.h"

#include <nlohmann/json.hpp>

#include "common/enum_names.h"

namespace dilmodeli::profile {
namespace {

using nlohmann::json;

json counters_json(const CounterSample& s) {
    json j = json::object();
    for (const CounterReading& r : s.readings) {
        if (r.value)
            j[r.name] = *r.value;
        else
            j[r.name] = "unavailable: " + r.unavailable;
    }
    return j;
}

json phase_json(const PhaseReport& p) {
    json ops = json::array();
    for (const OpRow& o : p.ops)
        ops.push_back({{"op", o.op},
                       {"seconds", o.seconds},
                       {"share", o.share},
                       {"calls", o.calls},
                       {"tokens", o.tokens},
                       {"weight_bytes", o.weight_bytes},
                       {"kv_bytes", o.kv_bytes},
                       {"us_per_token", o.us_per_token},
                       {"gb_per_s", o.gb_per_s},
                       {"gflop_per_s", o.gflop_per_s},
                       {"ceiling_gb_per_s", o.ceiling_gb_per_s},
                       {"percent_of_ceiling", o.percent_of_ceiling},
                       {"bound", bound_name(o.bound)}});
    json layers = json::array();
    for (const LayerRow& l : p.layers) layers.push_back({{"layer", l.layer}, {"seconds", l.seconds}, {"share", l.share}});
    return {{"tokens", p.tokens},
            {"seconds", p.seconds},
            {"tok_per_s", p.tok_per_s},
            {"cpu_share", p.cpu_share},
            {"weight_bytes", p.weight_bytes},
            {"kv_bytes", p.kv_bytes},
            {"working_set_bytes", p.working_set_bytes},
            {"working_set_level", p.working_set_level},
            {"ceiling_gb_per_s", p.ceiling_gb_per_s},
            {"ops", ops},
            {"layers", layers},
            {"counters", counters_json(p.counters)}};
}

json machine_json(const ProfileReport& r) {
    json caches = json::array();
    for (const CacheLevel& c : r.caches.levels)
        caches.push_back({{"level", c.level},
                          {"kind", c.kind},
                          {"size_bytes", c.size_bytes},
                          {"effective_size_bytes", c.effective_bytes()},
                          {"line_bytes", c.line_bytes},
                          {"shared_by", c.shared_by},
                          {"instances", c.instances}});
    const BandwidthReport& b = r.bandwidth;
    json stream = json::array();
    for (const StreamFigures& s : b.stream)
        stream.push_back({{"threads", s.threads},
                          {"triad_gb_per_s", s.triad_gb_per_s},
                          {"triad_best_gb_per_s", s.triad_best_gb_per_s},
                          {"read_gb_per_s", s.read_gb_per_s}});
    json ladder = json::array();
    for (const LadderPoint& p : b.ladder) {
        json rates = json::object();
        for (size_t k = 0; k < b.threads.size() && k < p.gb_per_s.size(); ++k)
            rates[std::to_string(b.threads[k])] = p.gb_per_s[k];
        ladder.push_back({{"bytes", p.bytes}, {"gb_per_s", rates}});
    }
    json machine = {{"cores", r.caches.cores},
                    {"cache_source", r.caches.source},
                    {"caches", caches},
                    {"bandwidth",
                     {{"read_kernel", b.read_kernel},
                      {"seconds", b.seconds},
                      {"threads", b.threads},
                      {"stream", stream},
                      {"ladder", ladder}}}};
    if (!r.caches.error.empty()) machine["cache_error"] = r.caches.error;
    return machine;
}

}  // namespace

constexpr EnumName<Bound> kBounds[] = {
    {Bound::Memory, "memory"}, {Bound::Compute, "compute"}, {Bound::Overhead, "overhead"}, {Bound::None, "none"}};

const char* bound_name(Bound bound) { return enum_name(kBounds, bound); }

nlohmann::json to_json(const ProfileReport& r) {
    json placement = json::array();
    for (const TensorPlacement& t : r.placement)
        placement.push_back({{"tensor", t.tensor}, {"type", t.type}, {"bytes", t.bytes}, {"fits_in", t.fits_in}});
    json scaling = json::array();
    for (const ThreadScaling& s : r.thread_scaling)
        scaling.push_back({{"threads", s.threads}, {"pp_tok_per_s", s.pp_tok_per_s}, {"tg_tok_per_s", s.tg_tok_per_s}});
    json advice = json::array();
    for (const Recommendation& a : r.recommendations)
        advice.push_back({{"topic", a.topic}, {"advice", a.advice}, {"evidence", a.evidence}});
    const Roofline& roof = r.roofline;
    return {{"model",
             {{"path", r.model_path},
              {"type", r.model_type},
              {"file_bytes", r.file_bytes},
              {"mmap", r.mapped},
              {"n_layers", r.n_layers},
              {"n_embd", r.n_embd},
              {"n_vocab", r.n_vocab},
              {"weight_bytes_per_token", r.weight_bytes_per_token}}},
            {"run",
             {{"threads", r.threads},
              {"batch", r.batch},
              {"kv_type", r.kv_type},
              {"n_prompt", r.n_prompt},
              {"n_gen", r.n_gen},
              {"prompt_source", r.prompt_source},
              {"context", r.context}}},
            {"prompt", phase_json(r.prompt)},
            {"generation", phase_json(r.generation)},
            {"per_token",
             {{"weight_bytes", r.weight_bytes_per_generated_token},
              {"kv_bytes", r.kv_bytes_per_generated_token},
              {"total_bytes", r.weight_bytes_per_generated_token + r.kv_bytes_per_generated_token}}},
            {"machine", machine_json(r)},
            {"roofline",
             {{"dram_gb_per_s", roof.dram_gb_per_s},
              {"bytes_per_token", roof.bytes_per_token},
              {"tok_per_s_bound", roof.tok_per_s_bound},
              {"achieved_tok_per_s", roof.achieved_tok_per_s},
              {"percent", roof.percent},
              {"level", roof.level},
              {"level_gb_per_s", roof.level_gb_per_s},
              {"level_tok_per_s_bound", roof.level_tok_per_s_bound},
              {"level_percent", roof.level_percent}}},
            {"placement", placement},
            {"counters",
             {{"hardware", r.hardware_counters ? std::string("available")
                                               : "unavailable: " + r.hardware_counters_reason}}},
            {"thread_scaling", scaling},
            {"recommendations", advice},
            {"peak_rss_mib", r.peak_rss_mib},
            {"seconds", r.seconds}};
}

}  // namespace dilmodeli::profile
