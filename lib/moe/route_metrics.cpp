#include "moe/route_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <hwloc.h>
#include <random>

namespace dilmodeli::moe {

bool ExpertLru::access(int64_t key, uint64_t bytes) {
    auto it = std::find_if(entries_.begin(), entries_.end(), [key](const auto& e) { return e.first == key; });
    const bool hit = it != entries_.end();
    if (hit) {
        auto entry = *it;
        entries_.erase(it);
        entries_.push_back(entry);
        return true;
    }
    if (bytes > capacity_) return false;
    while (used_ + bytes > capacity_ && !entries_.empty()) {
        used_ -= entries_.front().second;
        entries_.erase(entries_.begin());
    }
    entries_.push_back({key, bytes});
    used_ += bytes;
    return false;
}

RouterMetrics summarise_records(const std::string& name, const std::vector<std::vector<BatchRecord>>& layers,
                                uint64_t expert_bytes, uint64_t l2_bytes, uint64_t l3_bytes) {
    RouterMetrics m;
    m.name = name;
    ExpertLru l2(l2_bytes), l3(l3_bytes);
    int64_t batches = 0, fetches = 0, hits2 = 0, hits3 = 0, tokens = 0, routed_tokens = 0;
    double mass = 0, mass_top = 0, route_s = 0, expert_s = 0, distinct = 0;
    size_t n_batches = 0;
    double bound_sum = 0;
    int64_t bound_batches = 0;
    for (const auto& records : layers) n_batches = std::max(n_batches, records.size());
    for (size_t b = 0; b < n_batches; ++b) {
        for (size_t l = 0; l < layers.size(); ++l) {
            if (b >= layers[l].size()) continue;
            const BatchRecord& r = layers[l][b];
            const int64_t n_exp = int64_t(r.load.size());
            if (m.expert_load.size() < r.load.size()) m.expert_load.resize(r.load.size(), 0.0);
            double sum = 0, sq = 0, max = 0;
            for (int64_t v : r.load) {
                sum += double(v);
                sq += double(v) * double(v);
                max = std::max(max, double(v));
            }
            const double mean = sum / double(n_exp);
            if (r.swarm_min_max_load >= 0 && r.n_tokens > 0) {
                // Against the full demand: a router that drops slots lowers its own mean.
                bound_sum += double(r.swarm_min_max_load) * double(n_exp) / double(r.n_tokens * r.k);
                ++bound_batches;
            }
            if (mean > 0) {
                m.max_mean_load += max / mean;
                m.load_cv += std::sqrt(std::max(0.0, sq / double(n_exp) - mean * mean)) / mean;
                for (int64_t e = 0; e < n_exp; ++e) m.expert_load[size_t(e)] += double(r.load[size_t(e)]) / mean;
            }
            ++batches;
            m.dropped += r.dropped;
            mass += r.mass_kept;
            mass_top += r.mass_top_k;
            route_s += r.route_seconds;
            expert_s += r.expert_seconds;
            tokens += r.n_tokens;
            routed_tokens += r.n_tokens;
            for (int64_t e = 0; e < n_exp; ++e) {
                if (r.load[size_t(e)] == 0) continue;
                distinct += 1;
                ++fetches;
                const int64_t key = r.layer * n_exp + e;
                hits2 += l2.access(key, expert_bytes);
                hits3 += l3.access(key, expert_bytes);
            }
        }
    }
    if (bound_batches > 0) m.swarm_bound = bound_sum / double(bound_batches);
    if (batches > 0) {
        m.max_mean_load /= double(batches);
        m.load_cv /= double(batches);
        m.distinct_per_batch = distinct / double(batches);
        for (double& v : m.expert_load) v /= double(batches);
    }
    m.mass_kept = mass_top > 0 ? mass / mass_top : 0;
    m.cache_hit_l2 = fetches > 0 ? double(hits2) / double(fetches) : 0;
    m.cache_hit_l3 = fetches > 0 ? double(hits3) / double(fetches) : 0;
    m.route_us_per_token = tokens > 0 ? route_s * 1e6 / double(tokens) : 0;
    m.expert_tok_per_s = expert_s > 0 ? double(routed_tokens) / expert_s : 0;
    return m;
}

std::string load_svg(const std::vector<RouterMetrics>& routers) {
    const int panel_w = 420, panel_h = 180, margin = 40;
    const int width = panel_w + 2 * margin;
    const int height = int(routers.size()) * (panel_h + margin) + margin;
    double top = 1.2;
    for (const auto& r : routers)
        for (double v : r.expert_load) top = std::max(top, v * 1.05);
    std::string svg;
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n"
                  "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                  width, height, width, height);
    svg += buf;
    for (size_t p = 0; p < routers.size(); ++p) {
        const auto& r = routers[p];
        const double y0 = margin + double(p) * (panel_h + margin);
        const double base = y0 + panel_h;
        std::snprintf(buf, sizeof buf,
                      "<text x=\"%d\" y=\"%.1f\" font-family=\"sans-serif\" font-size=\"13\">%s: load / mean per "
                      "expert (max/mean %.3f, CV %.3f)</text>\n",
                      margin, y0 - 8, r.name.c_str(), r.max_mean_load, r.load_cv);
        svg += buf;
        const size_t n = std::max<size_t>(1, r.expert_load.size());
        const double bar = double(panel_w) / double(n);
        for (size_t e = 0; e < r.expert_load.size(); ++e) {
            const double h = r.expert_load[e] / top * panel_h;
            std::snprintf(buf, sizeof buf,
                          "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#4477aa\"/>\n",
                          margin + double(e) * bar, base - h, std::max(0.5, bar * 0.85), h);
            svg += buf;
        }
        for (double level : {1.0, 1.10}) {
            const double y = base - level / top * panel_h;
            std::snprintf(buf, sizeof buf,
                          "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"%s\" stroke-dasharray=\"4 3\"/>\n",
                          margin, y, margin + panel_w, y, level == 1.0 ? "#222222" : "#cc3311");
            svg += buf;
        }
        std::snprintf(buf, sizeof buf, "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"black\"/>\n", margin,
                      base, margin + panel_w, base);
        svg += buf;
    }
    svg += "</svg>\n";
    return svg;
}

std::vector<float> synthetic_logits(int64_t n_tokens, int64_t n_experts, double skew, uint64_t seed) {
    std::mt19937_64 rng(seed);
    // Popularity ranks are a fixed shuffle of the experts, so the popular ones are not 0, 1, ...
    std::vector<int64_t> rank(static_cast<size_t>(n_experts));
    for (int64_t e = 0; e < n_experts; ++e) rank[size_t(e)] = e;
    std::shuffle(rank.begin(), rank.end(), rng);
    std::normal_distribution<float> noise(0.0f, 1.0f);
    std::vector<float> logits(size_t(n_tokens * n_experts));
    for (int64_t t = 0; t < n_tokens; ++t)
        for (int64_t e = 0; e < n_experts; ++e)
            logits[size_t(t * n_experts + e)] =
                float(-skew * std::log(1.0 + double(rank[size_t(e)]))) + noise(rng);
    return logits;
}

uint64_t cache_bytes(int level) {
    hwloc_topology_t topology;
    if (hwloc_topology_init(&topology) != 0) return 0;
    uint64_t bytes = 0;
    if (hwloc_topology_load(topology) == 0) {
        const hwloc_obj_type_t type = level == 2 ? HWLOC_OBJ_L2CACHE : HWLOC_OBJ_L3CACHE;
        hwloc_obj_t obj = hwloc_get_obj_by_type(topology, type, 0);
        if (obj && obj->attr) bytes = obj->attr->cache.size;
    }
    hwloc_topology_destroy(topology);
    return bytes;
}

}  // namespace dilmodeli::moe
