#pragma once
// What the memory system delivers, measured: STREAM's triad (a = b + s*c over arrays far larger
// than any cache) and a plain read, on 1 and N threads, and a read-bandwidth ladder over working
// sets from 16 KiB up (each level of the cache hierarchy shows as a plateau). The ladder is the
// ceiling an op can reach when its data lives at that level. Threads come from a TBB arena, as
// in inference; each thread streams its own slice.
#include <cstdint>
#include <string>
#include <vector>

namespace dilmodeli::profile {

struct BandwidthOptions {
    std::vector<int> threads = {1};             // thread counts to measure
    uint64_t ladder_min_bytes = 16 << 10;
    uint64_t ladder_max_bytes = 1ull << 30;     // capped so the whole probe takes seconds
    int points_per_octave = 1;
    uint64_t stream_array_bytes = 128ull << 20; // each of the triad's three arrays
    double seconds_per_measurement = 0.004;     // timed work behind one figure
    int repetitions = 5;                        // figures per point (fewer for huge sizes); median reported

    // Error(Usage) for sizes that cannot work (min > max, zero threads, ...).
    void validate() const;
};

struct StreamFigures {
    int threads = 1;
    double triad_gb_per_s = 0;  // median; 24 bytes per element, as STREAM counts
    double triad_best_gb_per_s = 0;
    double read_gb_per_s = 0;   // median read over the same 3 arrays
};

struct LadderPoint {
    uint64_t bytes = 0;                // working set, split over the threads
    std::vector<double> gb_per_s;      // median, one per BandwidthReport::threads entry
};

struct BandwidthReport {
    std::vector<int> threads;          // the thread counts measured, ascending
    std::vector<StreamFigures> stream; // one per thread count
    std::vector<LadderPoint> ladder;   // ascending bytes
    std::string read_kernel;           // "avx512", "avx2" or "scalar"
    double seconds = 0;                // time the probe took

    // Read bandwidth of the smallest measured working set that holds `bytes` (the largest one
    // past the ladder's end), for the closest measured thread count; 0 when the ladder is empty.
    // A step, not an interpolation: a working set just past a cache's end runs at the next
    // level's rate, not between the two.
    double ladder_at(uint64_t bytes, int threads) const;
    // Triad bandwidth of the closest measured thread count.
    double triad(int threads) const;
    size_t thread_index(int threads) const;
};

BandwidthReport measure_bandwidth(const BandwidthOptions& options);

}  // namespace dilmodeli::profile
