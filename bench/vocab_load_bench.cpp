// Load time and heap of large vocabularies: GgufFile::open followed by Tokenizer::from_gguf, as
// `dilmodeli tokenize` does on a vocabulary-only GGUF. Prints one JSON object with, for each
// file, the median over --runs loads of the wall time of the GGUF open, of the tokenizer build and
// of both, and the heap in use after a load. Each load runs in a child process of its own (after
// one warm-up load that fills the page cache): a load's speed depends on the allocator's state
// (whether its blocks come fresh from the kernel, page fault by page fault, or are reused), and a
// fresh process is what `dilmodeli tokenize` or `run` starts from.
//
// Heap is counted by replacing the global operator new/delete: every C++ allocation adds its
// malloc_usable_size to a running total. That covers every std container (all of the tokenizer's
// and the GGUF reader's memory) but not the file mapping itself, which is page cache, not heap.
// `heap_file_and_tokenizer` is what is live while both objects exist, `heap_tokenizer` what
// remains once the GgufFile is closed, `heap_peak` the most live at any moment during the load.
//
// usage: vocab_load_bench [--runs N] [VOCAB.gguf ...]
//        (default: ../shared/models/tokenizers/ggml-vocab-{qwen2,gemma-4}.gguf from the source tree)
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"

namespace {

std::atomic<size_t> g_live{0};
std::atomic<size_t> g_peak{0};

void* counted_alloc(size_t n) {
    void* p = std::malloc(n == 0 ? 1 : n);
    if (!p) throw std::bad_alloc();
    const size_t live = g_live.fetch_add(malloc_usable_size(p)) + malloc_usable_size(p);
    size_t peak = g_peak.load();
    while (live > peak && !g_peak.compare_exchange_weak(peak, live)) {
    }
    return p;
}

void counted_free(void* p) {
    if (!p) return;
    g_live.fetch_sub(malloc_usable_size(p));
    std::free(p);
}

}  // namespace

void* operator new(size_t n) { return counted_alloc(n); }
void* operator new[](size_t n) { return counted_alloc(n); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, size_t) noexcept { counted_free(p); }
void operator delete[](void* p, size_t) noexcept { counted_free(p); }

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Load {
    double open_ms, build_ms, total_ms;
    size_t heap_file_and_tokenizer, heap_tokenizer, heap_peak;
    int32_t vocab_size;
};

Load load_once(const std::string& path) {
    Load r{};
    const size_t base = g_live.load();
    g_peak.store(base);
    const auto t0 = Clock::now();
    auto file = dilmodeli::gguf::GgufFile::open(path);
    r.open_ms = ms_since(t0);
    const auto t1 = Clock::now();
    auto tokenizer = dilmodeli::tokenizer::Tokenizer::from_gguf(*file);
    r.build_ms = ms_since(t1);
    r.total_ms = ms_since(t0);
    r.heap_file_and_tokenizer = g_live.load() - base;
    r.heap_peak = g_peak.load() - base;
    file.reset();
    r.heap_tokenizer = g_live.load() - base;
    r.vocab_size = tokenizer->vocab_size();
    return r;
}

// load_once in a child process; the parent's heap and allocator state stay as they were.
Load load_in_child(const std::string& path) {
    int fds[2];
    if (pipe(fds) != 0) std::abort();
    const pid_t pid = fork();
    if (pid < 0) std::abort();
    if (pid == 0) {
        close(fds[0]);
        const Load r = load_once(path);
        const ssize_t written = write(fds[1], &r, sizeof r);
        _exit(written == static_cast<ssize_t>(sizeof r) ? 0 : 1);
    }
    close(fds[1]);
    Load r{};
    const ssize_t got = read(fds[0], &r, sizeof r);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != static_cast<ssize_t>(sizeof r) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "vocab_load_bench: loading %s failed\n", path.c_str());
        std::exit(1);
    }
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 5;
    std::vector<std::string> paths;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
        else paths.push_back(a);
    }
    if (paths.empty()) {
        const std::string dir = std::string(DILMODELI_SOURCE_DIR) + "/../shared/models/tokenizers/";
        paths = {dir + "ggml-vocab-qwen2.gguf", dir + "ggml-vocab-gemma-4.gguf"};
    }
    std::printf("{\"runs\": %d, \"heap_counting\": \"operator new/delete, malloc_usable_size\", \"vocabs\": [", runs);
    for (size_t p = 0; p < paths.size(); ++p) {
        load_in_child(paths[p]);  // warm-up: page cache
        std::vector<double> open, build, total;
        Load last{};
        for (int r = 0; r < runs; ++r) {
            last = load_in_child(paths[p]);
            open.push_back(last.open_ms);
            build.push_back(last.build_ms);
            total.push_back(last.total_ms);
        }
        const std::string name = paths[p].substr(paths[p].find_last_of('/') + 1);
        std::printf("%s\n  {\"file\": \"%s\", \"vocab_size\": %d, \"open_ms\": %.1f, \"build_ms\": %.1f, "
                    "\"load_ms\": %.1f, \"load_ms_min\": %.1f, \"load_ms_max\": %.1f, "
                    "\"heap_file_and_tokenizer_mib\": %.2f, \"heap_tokenizer_mib\": %.2f, \"heap_peak_mib\": %.2f}",
                    p ? "," : "", name.c_str(), last.vocab_size, median(open), median(build), median(total),
                    *std::min_element(total.begin(), total.end()), *std::max_element(total.begin(), total.end()),
                    last.heap_file_and_tokenizer / 1048576.0, last.heap_tokenizer / 1048576.0,
                    last.heap_peak / 1048576.0);
    }
    std::printf("\n]}\n");
    return 0;
}
