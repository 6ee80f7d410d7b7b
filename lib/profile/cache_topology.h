#pragma once
// The data-cache hierarchy as hwloc reports it: for each level, its size, line, and how many
// cores share one instance. Capacity "available to T threads" is what a working set split over
// T threads can use: per-core levels multiply, shared levels do not.
#include <cstdint>
#include <string>
#include <vector>

namespace dilmodeli::profile {

struct BandwidthReport;

struct CacheLevel {
    int level = 0;              // 1, 2, 3 ...
    std::string kind;           // "data" or "unified" (instruction caches are left out)
    uint64_t size_bytes = 0;    // one instance
    uint32_t line_bytes = 0;
    int associativity = 0;      // ways; 0 unknown, -1 fully associative
    int shared_by = 1;          // processing units sharing one instance
    int instances = 1;          // instances in the machine
    // Set when the bandwidth ladder shows this level ending well before size_bytes (a virtual
    // machine may report the whole socket's L3 as one core's): placement then uses this size,
    // as the capacity of the level whatever the thread count (the sharing report is suspect too).
    uint64_t measured_bytes = 0;

    uint64_t effective_bytes() const { return measured_bytes ? measured_bytes : size_bytes; }

    std::string name() const { return "L" + std::to_string(level); }
    // Bytes of this level that `threads` threads (one per core, spread) can fill together.
    uint64_t capacity_for_threads(int threads) const;
};

struct CacheTopology {
    std::vector<CacheLevel> levels;  // L1 first
    int cores = 0;
    int processing_units = 0;
    std::string source;              // "hwloc <version>"
    std::string error;               // non-empty when hwloc could not load the topology

    // Null when the machine has no such level.
    const CacheLevel* level(int n) const;
    // The innermost level whose capacity for `threads` holds `bytes`; "DRAM" past the last one.
    std::string level_holding(uint64_t bytes, int threads) const;
};

// Asks hwloc (never sysfs by hand). An empty `levels` with `error` set when it fails.
CacheTopology read_cache_topology();

// Checks the last level against the single-thread ladder, when the ladder reaches past its
// reported size: the last working set still read at >= 1.5x the bandwidth of the ladder's top
// is where the cache really ends. Sets measured_bytes when that is under half the reported size.
void reconcile_with_ladder(CacheTopology& topology, const BandwidthReport& ladder);

}  // namespace dilmodeli::profile
