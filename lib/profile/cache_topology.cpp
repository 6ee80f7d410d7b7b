#include "profile/cache_topology.h"

#include <algorithm>
#include <hwloc.h>

#include "profile/bandwidth_probe.h"

namespace dilmodeli::profile {

uint64_t CacheLevel::capacity_for_threads(int threads) const {
    // A measured size is what the threads found, whatever hwloc said about sharing.
    if (measured_bytes) return measured_bytes;
    const int t = std::max(1, threads);
    const int share = std::max(1, shared_by);
    // Threads land on distinct cores first, so t threads touch ceil(t / share) instances.
    const int used = std::min(std::max(1, instances), (t + share - 1) / share);
    return effective_bytes() * uint64_t(used);
}

const CacheLevel* CacheTopology::level(int n) const {
    for (const CacheLevel& c : levels)
        if (c.level == n) return &c;
    return nullptr;
}

std::string CacheTopology::level_holding(uint64_t bytes, int threads) const {
    for (const CacheLevel& c : levels)
        if (bytes <= c.capacity_for_threads(threads)) return c.name();
    return "DRAM";
}

void reconcile_with_ladder(CacheTopology& t, const BandwidthReport& b) {
    if (t.levels.empty() || b.ladder.size() < 4 || b.threads.empty() || b.threads.front() != 1) return;
    CacheLevel& last = t.levels.back();
    if (b.ladder.back().bytes < last.size_bytes) return;  // the ladder never left the cache
    const double beyond = b.ladder.back().gb_per_s[0];
    // The cache ends at the largest size still read 1.5x faster than memory. On a busy host
    // the cache may lose that margin; then it ends where the memory plateau starts: the sizes
    // from which every point reads within 1.2x of the largest.
    const uint64_t inner = t.levels.size() > 1 ? t.levels[t.levels.size() - 2].size_bytes : 0;
    uint64_t end = 0, before_plateau = 0;
    for (const LadderPoint& p : b.ladder) {
        if (p.bytes > last.size_bytes) break;
        if (p.bytes <= inner) continue;
        if (p.gb_per_s[0] >= 1.5 * beyond) end = p.bytes;
        if (p.gb_per_s[0] >= 1.2 * beyond) before_plateau = p.bytes;
    }
    if (end == 0) end = before_plateau;
    if (end > inner && end < last.size_bytes / 2) last.measured_bytes = end;
}

CacheTopology read_cache_topology() {
    CacheTopology t;
    const unsigned version = hwloc_get_api_version();
    t.source = "hwloc " + std::to_string(version >> 16) + "." + std::to_string((version >> 8) & 0xff) + "." +
               std::to_string(version & 0xff);
    hwloc_topology_t topology;
    if (hwloc_topology_init(&topology) != 0) {
        t.error = "hwloc_topology_init failed";
        return t;
    }
    if (hwloc_topology_load(topology) != 0) {
        hwloc_topology_destroy(topology);
        t.error = "hwloc_topology_load failed";
        return t;
    }
    t.cores = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_CORE);
    t.processing_units = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_PU);
    const hwloc_obj_type_t types[] = {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE,
                                      HWLOC_OBJ_L5CACHE};
    for (hwloc_obj_type_t type : types) {
        const int n = hwloc_get_nbobjs_by_type(topology, type);
        if (n <= 0) continue;
        hwloc_obj_t first = hwloc_get_obj_by_type(topology, type, 0);
        const hwloc_obj_cache_type_t kind = first->attr->cache.type;
        if (kind == HWLOC_OBJ_CACHE_INSTRUCTION) continue;
        CacheLevel c;
        c.level = int(first->attr->cache.depth);
        c.kind = kind == HWLOC_OBJ_CACHE_DATA ? "data" : "unified";
        c.size_bytes = first->attr->cache.size;
        c.line_bytes = first->attr->cache.linesize;
        c.associativity = first->attr->cache.associativity;
        c.shared_by = std::max(1, hwloc_bitmap_weight(first->cpuset));
        c.instances = n;
        if (c.size_bytes > 0) t.levels.push_back(c);
    }
    hwloc_topology_destroy(topology);
    std::sort(t.levels.begin(), t.levels.end(),
              [](const CacheLevel& a, const CacheLevel& b) { return a.level < b.level; });
    return t;
}

}  // namespace dilmodeli::profile
