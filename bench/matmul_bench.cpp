// Microbenchmark of kernels::matmul. Prints one JSON object: for each instruction set and weight
// type, the weight bandwidth (GB/s of stored weights streamed) of single-token products with
// 2048 x 5632 and 5632 x 2048 matrices (cols x rows) at 1 and all threads, and the GFLOP/s of a
// 128-token product, each the median of several runs. Matrices are cycled through a pool larger
// than any last-level cache, so matvec numbers are memory, not cache, bandwidth.
//
// usage: matmul_bench [--types Q4_0,Q8_0,...] [--isas avx512,...] [--runs N] [--pool-mb M]
//                     [--batch TOKENS] [--threads 1,2] [--cpu-time 1 (one thread, CPU time)]
//                     [--shapes COLSxROWS,...] [--only matvec|batch]
#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/huge_page_region.h"
#include "kernels/matmul.h"
#include "quant/quant_type.h"

using namespace dilmodeli;

namespace {

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU time of the calling thread: with one thread it excludes time the OS gave to other
// processes (the machine may be shared), so kernels can be compared on a busy machine.
double thread_cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// `copies` copies of a rows x cols matrix, built from 64 distinct quantized rows. They live where
// the model's weights do when `run` copies a file into memory (a HugePageRegion): 4 KiB pages
// stream measurably slower.
struct Pool {
    HugePageRegion bytes;
    std::vector<kernels::WeightMatrix> matrices;
};

Pool make_pool(const quant::TypeInfo& info, int64_t rows, int64_t cols, size_t pool_bytes) {
    const size_t row_bytes = info.row_bytes(cols);
    const int64_t distinct = std::min<int64_t>(64, rows);
    std::vector<uint8_t> base(row_bytes * size_t(distinct));
    std::mt19937 rng(7);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> src(static_cast<size_t>(cols));
    for (int64_t r = 0; r < distinct; ++r) {
        for (auto& v : src) v = dist(rng);
        info.quantize_row(src.data(), base.data() + size_t(r) * row_bytes, cols, nullptr);
    }
    const size_t matrix_bytes = row_bytes * size_t(rows);
    const size_t copies = std::max<size_t>(2, pool_bytes / matrix_bytes);
    Pool pool;
    pool.bytes = HugePageRegion(matrix_bytes * copies);
    for (size_t c = 0; c < copies; ++c)
        for (int64_t r = 0; r < rows; ++r)
            std::memcpy(pool.bytes.data() + c * matrix_bytes + size_t(r) * row_bytes,
                        base.data() + size_t(r % distinct) * row_bytes, row_bytes);
    for (size_t c = 0; c < copies; ++c)
        pool.matrices.push_back({info.id, pool.bytes.data() + c * matrix_bytes, rows, cols, row_bytes});
    return pool;
}

// Median seconds per product over `runs` timed passes (each pass one product per pool copy).
double time_products(const Pool& pool, int64_t n_tokens, const std::vector<float>& x, std::vector<float>& y,
                     int runs, int threads, bool cpu_time) {
    tbb::task_arena arena(threads);
    std::vector<double> samples;
    arena.execute([&] {
        kernels::matmul(pool.matrices[0], x.data(), n_tokens, y.data());  // warm-up
        for (int run = 0; run < runs; ++run) {
            const size_t count = n_tokens == 1 ? pool.matrices.size() : 1;
            const double start = cpu_time ? thread_cpu_seconds() : now_seconds();
            for (size_t c = 0; c < count; ++c) kernels::matmul(pool.matrices[c], x.data(), n_tokens, y.data());
            samples.push_back(((cpu_time ? thread_cpu_seconds() : now_seconds()) - start) / double(count));
        }
    });
    return median(samples);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> types = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL",
                                      "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "TQ1_0", "TQ2_0"};
    std::vector<std::string> isas = kernels::available_isas();
    int runs = 7;
    size_t pool_mb = 384;
    int batch = 128;
    bool cpu_time = false;
    std::string only;  // empty: both
    std::vector<std::string> thread_counts_flag;
    std::vector<std::pair<int64_t, int64_t>> shapes = {{2048, 5632}, {5632, 2048}};  // cols x rows
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i], value = argv[i + 1];
        if (flag == "--types") types = split(value);
        else if (flag == "--isas") isas = split(value);
        else if (flag == "--runs") runs = std::max(1, std::stoi(value));
        else if (flag == "--pool-mb") pool_mb = size_t(std::stoul(value));
        else if (flag == "--batch") batch = std::max(1, std::stoi(value));
        else if (flag == "--cpu-time") cpu_time = value == "1";
        else if (flag == "--only") {
            if (value != "matvec" && value != "batch") {
                std::fprintf(stderr, "--only takes matvec or batch, not %s\n", value.c_str());
                return 2;
            }
            only = value;
        }
        else if (flag == "--threads") thread_counts_flag = split(value);
        else if (flag == "--shapes") {
            shapes.clear();
            for (const auto& shape : split(value)) {
                const auto x = shape.find('x');
                shapes.emplace_back(std::stoll(shape.substr(0, x)), std::stoll(shape.substr(x + 1)));
            }
        }
        else {
            std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
            return 2;
        }
    }
    const int max_threads = int(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<int> thread_counts = {1};
    if (max_threads > 1) thread_counts.push_back(max_threads);
    if (!thread_counts_flag.empty()) {
        thread_counts.clear();
        for (const auto& t : thread_counts_flag) thread_counts.push_back(std::stoi(t));
    }
    // CPU time is only meaningful when the calling thread does all the work.
    if (cpu_time) thread_counts = {1};

    std::printf("{\n  \"runs\": %d,\n  \"results\": [\n", runs);
    bool first = true;
    for (const auto& isa : isas) {
        kernels::force_isa(isa);
        for (const auto& type_name : types) {
            const quant::TypeInfo& info = quant::type_by_name(type_name);
            if (!info.quantize_row) continue;
            for (const auto& [cols, rows] : shapes) {
                const Pool pool = make_pool(info, rows, cols, pool_mb << 20);
                std::mt19937 rng(3);
                std::normal_distribution<float> dist(0.0f, 1.0f);
                std::vector<float> x(size_t(cols) * size_t(batch));
                for (auto& v : x) v = dist(rng);
                std::vector<float> y(size_t(rows) * size_t(batch));
                const double bytes = double(pool.matrices[0].row_bytes) * double(rows);
                // One result: one token (GB/s of weights) or a batch (GFLOP/s).
                auto print = [&](int threads, int tokens, double s) {
                    const double rate = tokens == 1 ? bytes / s * 1e-9 : 2.0 * double(rows) * double(cols) * tokens / s * 1e-9;
                    std::printf("%s    {\"isa\": \"%s\", \"type\": \"%s\", \"cols\": %lld, \"rows\": %lld, "
                                "\"threads\": %d, \"tokens\": %d, \"ms\": %.4f, \"%s\": %.2f}",
                                first ? "" : ",\n", isa.c_str(), info.name, (long long)cols, (long long)rows, threads,
                                tokens, s * 1e3, tokens == 1 ? "gbps" : "gflops", rate);
                    first = false;
                };
                if (only != "batch")
                    for (int threads : thread_counts) print(threads, 1, time_products(pool, 1, x, y, runs, threads, cpu_time));
                if (only != "matvec")
                    for (int threads : thread_counts)
                        print(threads, batch, time_products(pool, batch, x, y, std::max(3, runs / 2), threads, cpu_time));
                std::fflush(stdout);
            }
        }
    }
    std::printf("\n  ]\n}\n");
    return 0;
}
