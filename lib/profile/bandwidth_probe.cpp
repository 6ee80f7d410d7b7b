#include "profile/bandwidth_probe.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sys/mman.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "common/error.h"
#include "runtime/benchmark.h"

namespace dilmodeli::profile {
namespace {

constexpr size_t kReadChunk = 256;       // bytes one iteration of a read kernel consumes

using ReadFn = uint64_t (*)(const uint8_t* p, size_t n);

// Each kernel XORs every byte into a few accumulators: one-cycle operations, so loads are the
// only limit, and the result depends on every byte so nothing can be skipped.
uint64_t read_scalar(const uint8_t* p, size_t n) {
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    const uint64_t* w = reinterpret_cast<const uint64_t*>(p);
    for (size_t i = 0; i < n / 8; i += 4) {
        a0 ^= w[i];
        a1 ^= w[i + 1];
        a2 ^= w[i + 2];
        a3 ^= w[i + 3];
    }
    return a0 ^ a1 ^ a2 ^ a3;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) uint64_t read_avx2(const uint8_t* p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (size_t i = 0; i < n; i += kReadChunk) {
        const __m256i* v = reinterpret_cast<const __m256i*>(p + i);
        a0 = _mm256_xor_si256(a0, _mm256_load_si256(v + 0));
        a1 = _mm256_xor_si256(a1, _mm256_load_si256(v + 1));
        a2 = _mm256_xor_si256(a2, _mm256_load_si256(v + 2));
        a3 = _mm256_xor_si256(a3, _mm256_load_si256(v + 3));
        a4 = _mm256_xor_si256(a4, _mm256_load_si256(v + 4));
        a5 = _mm256_xor_si256(a5, _mm256_load_si256(v + 5));
        a6 = _mm256_xor_si256(a6, _mm256_load_si256(v + 6));
        a7 = _mm256_xor_si256(a7, _mm256_load_si256(v + 7));
    }
    __m256i a = _mm256_xor_si256(_mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3)),
                                 _mm256_xor_si256(_mm256_xor_si256(a4, a5), _mm256_xor_si256(a6, a7)));
    alignas(32) uint64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), a);
    return lanes[0] ^ lanes[1] ^ lanes[2] ^ lanes[3];
}

__attribute__((target("avx512f"))) uint64_t read_avx512(const uint8_t* p, size_t n) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < n; i += kReadChunk) {
        const __m512i* v = reinterpret_cast<const __m512i*>(p + i);
        a0 = _mm512_xor_si512(a0, _mm512_load_si512(v + 0));
        a1 = _mm512_xor_si512(a1, _mm512_load_si512(v + 1));
        a2 = _mm512_xor_si512(a2, _mm512_load_si512(v + 2));
        a3 = _mm512_xor_si512(a3, _mm512_load_si512(v + 3));
    }
    __m512i a = _mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3));
    alignas(64) uint64_t lanes[8];
    _mm512_store_si512(reinterpret_cast<__m512i*>(lanes), a);
    uint64_t r = 0;
    for (uint64_t l : lanes) r ^= l;
    return r;
}
#endif

struct ReadKernel {
    ReadFn fn;
    const char* name;
};

ReadKernel pick_read_kernel() {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return {read_avx512, "avx512"};
    if (__builtin_cpu_supports("avx2")) return {read_avx2, "avx2"};
#endif
    return {read_scalar, "scalar"};
}

void triad(double* a, const double* b, const double* c, size_t n, double s) {
    for (size_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Runs work(thread, reps) on `threads` slices at once in the arena and returns the wall time.
template <typename Work>
double timed_parallel(tbb::task_arena& arena, int threads, Work&& work) {
    const auto start = std::chrono::steady_clock::now();
    arena.execute([&] {
        tbb::parallel_for(
            tbb::blocked_range<int>(0, threads, 1),
            [&](const tbb::blocked_range<int>& r) {
                for (int t = r.begin(); t < r.end(); ++t) work(t);
            },
            tbb::static_partitioner());
    });
    return seconds_since(start);
}

// Bytes/second of `pass(thread, reps)` moving `bytes_per_pass` per rep: reps grow until one
// measurement takes the target time, then the figures of up to `repetitions` measurements
// (at least 2; fewer when one pass alone outlasts the target, so the largest sizes stay cheap).
template <typename Pass>
std::vector<double> measure(tbb::task_arena& arena, int threads, double bytes_per_pass, const BandwidthOptions& o,
                            Pass&& pass) {
    uint64_t reps = 1;
    double t = 0;
    for (;;) {
        t = timed_parallel(arena, threads, [&](int thread) { pass(thread, reps); });
        if (t >= o.seconds_per_measurement / 4 || reps > (1ull << 40)) break;
        reps *= t > 0 ? std::min<uint64_t>(64, std::max<uint64_t>(2, uint64_t(o.seconds_per_measurement / t))) : 64;
    }
    const double per_rep = t / double(reps);
    reps = std::max<uint64_t>(1, uint64_t(o.seconds_per_measurement / std::max(per_rep, 1e-12)));
    const double budget = o.seconds_per_measurement * o.repetitions;
    const int samples = std::clamp(int(budget / std::max(per_rep * double(reps), 1e-12)), 2, std::max(2, o.repetitions));
    std::vector<double> rates;
    for (int r = 0; r < samples; ++r) {
        const double seconds = timed_parallel(arena, threads, [&](int thread) { pass(thread, reps); });
        rates.push_back(bytes_per_pass * double(reps) / seconds / 1e9);
    }
    return rates;
}

// Anonymous memory, populated at once and then written once by the threads that will read it:
// in a virtual machine the first touch of a page is far slower than any later one.
class ProbeBuffer {
public:
    explicit ProbeBuffer(size_t bytes) : bytes_(bytes) {
        void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        data_ = static_cast<uint8_t*>(p);
    }
    ~ProbeBuffer() { ::munmap(data_, bytes_); }
    ProbeBuffer(const ProbeBuffer&) = delete;
    ProbeBuffer& operator=(const ProbeBuffer&) = delete;
    uint8_t* data() const { return data_; }

private:
    uint8_t* data_ = nullptr;
    size_t bytes_ = 0;
};

}  // namespace

void BandwidthOptions::validate() const {
    if (threads.empty()) throw usage_error("bandwidth probe: no thread counts");
    for (int t : threads)
        if (t < 1) throw usage_error("bandwidth probe: thread counts must be at least 1");
    if (ladder_min_bytes < 4096) throw usage_error("--ladder-min must be at least 4K");
    if (ladder_max_bytes < ladder_min_bytes)
        throw usage_error("--ladder-max " + std::to_string(ladder_max_bytes) + " is below the ladder's start of " +
                          std::to_string(ladder_min_bytes) + " bytes");
    if (ladder_max_bytes > (64ull << 30)) throw usage_error("--ladder-max is above 64G");
    if (stream_array_bytes < (64u << 10) || stream_array_bytes > (16ull << 30))
        throw usage_error("--stream-size must be between 64K and 16G");
    if (points_per_octave < 1 || points_per_octave > 8) throw usage_error("ladder points per octave must be 1 to 8");
    if (repetitions < 1 || seconds_per_measurement <= 0) throw usage_error("bandwidth probe: bad repetitions");
}

size_t BandwidthReport::thread_index(int t) const {
    size_t best = 0;
    for (size_t i = 0; i < threads.size(); ++i)
        if (std::abs(threads[i] - t) < std::abs(threads[best] - t)) best = i;
    return best;
}

double BandwidthReport::triad(int t) const {
    return stream.empty() ? 0.0 : stream[thread_index(t)].triad_gb_per_s;
}

double BandwidthReport::ladder_at(uint64_t bytes, int t) const {
    if (ladder.empty()) return 0.0;
    const size_t k = thread_index(t);
    for (const LadderPoint& p : ladder)
        if (p.bytes >= bytes) return p.gb_per_s[k];
    return ladder.back().gb_per_s[k];
}

BandwidthReport measure_bandwidth(const BandwidthOptions& o) {
    o.validate();
    const auto start = std::chrono::steady_clock::now();
    BandwidthReport report;
    report.threads = o.threads;
    std::sort(report.threads.begin(), report.threads.end());
    report.threads.erase(std::unique(report.threads.begin(), report.threads.end()), report.threads.end());
    const int max_threads = report.threads.back();
    const ReadKernel kernel = pick_read_kernel();
    report.read_kernel = kernel.name;

    // One buffer serves the ladder and the triad's three arrays.
    const size_t array_bytes = (size_t(o.stream_array_bytes) + 4095) / 4096 * 4096;
    const size_t buffer_bytes = std::max<size_t>(size_t(o.ladder_max_bytes), 3 * array_bytes);
    ProbeBuffer buffer(buffer_bytes);
    uint8_t* base = buffer.data();

    std::vector<tbb::task_arena> arenas;
    arenas.reserve(report.threads.size());
    for (int t : report.threads) arenas.emplace_back(t);
    timed_parallel(arenas.back(), max_threads, [&](int thread) {
        const size_t begin = buffer_bytes * size_t(thread) / size_t(max_threads) / 4096 * 4096;
        const size_t end = buffer_bytes * size_t(thread + 1) / size_t(max_threads) / 4096 * 4096;
        std::memset(base + begin, 0x5a + thread, end - begin);
    });

    std::atomic<uint64_t> sink{0};  // keeps the reads observable
    // Triad and a read of the same bytes, per thread count.
    const size_t n = array_bytes / sizeof(double);
    double* a = reinterpret_cast<double*>(base);
    double* b = reinterpret_cast<double*>(base + array_bytes);
    double* c = reinterpret_cast<double*>(base + 2 * array_bytes);
    arenas.back().execute([&] { tbb::parallel_for(size_t(0), n, [&](size_t i) { b[i] = 1.0, c[i] = 2.0; }); });
    for (size_t k = 0; k < report.threads.size(); ++k) {
        const int t = report.threads[k];
        auto triad_pass = [&](int thread, uint64_t reps) {
            const size_t begin = n * size_t(thread) / size_t(t), end = n * size_t(thread + 1) / size_t(t);
            for (uint64_t r = 0; r < reps; ++r) triad(a + begin, b + begin, c + begin, end - begin, 3.0);
        };
        const size_t read_bytes = 3 * array_bytes / (kReadChunk * size_t(t)) * kReadChunk;
        auto read_pass = [&](int thread, uint64_t reps) {
            uint64_t x = 0;
            for (uint64_t r = 0; r < reps; ++r) x ^= kernel.fn(base + read_bytes * size_t(thread), read_bytes);
            sink.fetch_xor(x, std::memory_order_relaxed);
        };
        std::vector<double> triad_rates = measure(arenas[k], t, 24.0 * double(n), o, triad_pass);
        StreamFigures s;
        s.threads = t;
        s.triad_gb_per_s = runtime::median(triad_rates);
        s.triad_best_gb_per_s = *std::max_element(triad_rates.begin(), triad_rates.end());
        s.read_gb_per_s = runtime::median(measure(arenas[k], t, double(read_bytes) * t, o, read_pass));
        report.stream.push_back(s);
    }

    // The ladder: sizes step by 2^(1/points_per_octave), slices rounded to whole read chunks.
    std::vector<uint64_t> sizes;
    for (int i = 0;; ++i) {
        const double size = double(o.ladder_min_bytes) * std::pow(2.0, double(i) / o.points_per_octave);
        if (size > double(o.ladder_max_bytes) * 1.0001) break;
        sizes.push_back(uint64_t(size) / 4096 * 4096);
    }
    for (uint64_t size : sizes) {
        LadderPoint p;
        p.bytes = size;
        for (size_t k = 0; k < report.threads.size(); ++k) {
            const int t = report.threads[k];
            const size_t slice = std::max<size_t>(kReadChunk, size / size_t(t) / kReadChunk * kReadChunk);
            auto pass = [&](int thread, uint64_t reps) {
                const uint8_t* p0 = base + slice * size_t(thread);
                uint64_t x = 0;
                for (uint64_t r = 0; r < reps; ++r) x ^= kernel.fn(p0, slice);
                sink.fetch_xor(x, std::memory_order_relaxed);
            };
            p.gb_per_s.push_back(runtime::median(measure(arenas[k], t, double(slice) * t, o, pass)));
        }
        report.ladder.push_back(p);
    }
    report.seconds = seconds_since(start);
    return report;
}

}  // namespace dilmodeli::profile
