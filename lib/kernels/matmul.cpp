// Matrix products: quantize the activations once per call, then split the output into tiles of
// rows x tokens and run the active instruction set's kernel on each, in parallel with TBB.
// Every output element is one sequential dot product computed by exactly one task, and tiles
// are fixed by the shape alone, so results do not depend on the number of threads.
#include "kernels/matmul.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>

#include "common/error.h"
#include "common/thread_scratch.h"
#include "kernels/kernel_table.h"

namespace dilmodeli::kernels {
namespace {

using detail::GemmArgs;
using detail::GemmFn;
using detail::TypeKernel;

// Below this many multiply-adds a product runs on the calling thread: spawning tasks costs
// more than the work (the matrices of a tiny model, attention's keys for one query).
constexpr int64_t kSerialWork = int64_t(1) << 19;
bool runs_serially(int64_t work) { return work < kSerialWork; }
// Prompt-sized batches are cut into chunks of this many tokens; smaller batches stay whole.
constexpr int64_t kTokenChunk = 16;
constexpr int64_t kWholeBatch = 8;
// Weight bytes per task when streaming (few tokens), and rows per task for batches.
constexpr size_t kChunkBytes = size_t(64) << 10;
constexpr int64_t kBatchRowChunk = 64;
constexpr size_t kBatchChunkBytes = size_t(256) << 10;

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// A growable 64-byte-aligned buffer; one per thread and use through ThreadScratch.
class AlignedBuffer {
public:
    uint8_t* reserve(size_t bytes) {
        if (capacity_ < bytes + 64) {
            storage_.reset(new uint8_t[bytes + 64]);
            capacity_ = bytes + 64;
        }
        const auto p = reinterpret_cast<uintptr_t>(storage_.get());
        return reinterpret_cast<uint8_t*>((p + 63) & ~uintptr_t(63));
    }

private:
    std::unique_ptr<uint8_t[]> storage_;
    size_t capacity_ = 0;
};

// Separate buffers per use, since a product holds its activations while its tasks hold weights.
struct ActivationBuffer : AlignedBuffer {};
struct WeightBuffer : AlignedBuffer {};
struct StoredRowBuffer : AlignedBuffer {};  // dequantize_row's, as its callers may hold a WeightBuffer

const TypeKernel& kernel_for(const WeightMatrix& w) {
    const auto id = static_cast<uint32_t>(w.type);
    static const TypeKernel none{};
    if (id >= uint32_t(detail::kTypeSlots)) return none;
    const detail::IsaTable& table = detail::active_table();
    return w.interleaved ? table.interleaved[id] : table.types[id];
}

// Row tiles of interleaved matrices are whole groups; others, multiples of the kernels' four.
int64_t row_multiple(const WeightMatrix& w) { return w.interleaved ? kInterleaveRows : 4; }


// Runs run(0) .. run(n_tasks - 1), in parallel unless the product (`work` multiply-adds) is
// too small to pay for spawning tasks.
template <typename Task>
void run_tasks(int64_t n_tasks, int64_t work, const Task& run) {
    if (runs_serially(work) || n_tasks == 1) {
        for (int64_t task = 0; task < n_tasks; ++task) run(task);
        return;
    }
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, n_tasks, 1), [&](const tbb::blocked_range<int64_t>& range) {
        for (int64_t task = range.begin(); task != range.end(); ++task) run(task);
    });
}

// The fixed tiling of a product's rows x tokens into tasks.
struct Tiling {
    int64_t row_chunk, token_chunk, n_row_chunks, n_token_chunks;
    int64_t tasks() const { return n_row_chunks * n_token_chunks; }
};

// `serial`: the product runs on the calling thread (runs_serially), so a few tokens take all the
// rows in one task instead of paying per task for balance no thread needs (attention's scores
// of 16-1000 keys came in tasks of four rows).
Tiling tiling_of(const WeightMatrix& w, int64_t n_tokens, bool serial) {
    Tiling t;
    if (n_tokens <= kWholeBatch && serial) {
        t.token_chunk = n_tokens;
        t.row_chunk = std::max<int64_t>(1, w.rows);
    } else if (n_tokens <= kWholeBatch) {
        t.token_chunk = n_tokens;
        const int64_t m = row_multiple(w);
        t.row_chunk = round_up(std::max<int64_t>(1, int64_t(kChunkBytes / std::max<size_t>(w.row_bytes, 1))), m);
        // Enough tasks to balance two to eight threads.
        t.row_chunk = std::min(t.row_chunk, std::max<int64_t>(m, round_up((w.rows + 31) / 32, m)));
    } else {
        const int64_t m = row_multiple(w);
        t.token_chunk = kTokenChunk;
        // A task re-reads its rows once per tile of tokens: keep them within L2.
        const int64_t fit = int64_t(kBatchChunkBytes / std::max<size_t>(w.row_bytes, 1)) / m * m;
        t.row_chunk = std::clamp<int64_t>(fit, m, std::max(kBatchRowChunk, m));
    }
    t.n_row_chunks = (w.rows + t.row_chunk - 1) / t.row_chunk;
    t.n_token_chunks = (n_tokens + t.token_chunk - 1) / t.token_chunk;
    return t;
}

// Calls body(r0, r1, t0, t1) for task `task` of the tiling.
template <typename Body>
void run_tile_task(const WeightMatrix& w, int64_t n_tokens, const Tiling& t, int64_t task, const Body& body) {
    const int64_t rc = task / t.n_token_chunks, tc = task % t.n_token_chunks;
    const int64_t r0 = rc * t.row_chunk, t0 = tc * t.token_chunk;
    body(r0, std::min(w.rows, r0 + t.row_chunk), t0, std::min(n_tokens, t0 + t.token_chunk));
}

// Runs body(r0, r1, t0, t1) over the fixed tiling of rows x tokens.
template <typename Body>
void for_each_tile(const WeightMatrix& w, int64_t n_tokens, const Body& body) {
    const int64_t work = w.rows * w.cols * n_tokens;
    const Tiling t = tiling_of(w, n_tokens, runs_serially(work));
    run_tasks(t.tasks(), work, [&](int64_t task) { run_tile_task(w, n_tokens, t, task, body); });
}

// The activations as a type's kernel reads them: x itself, or quantized once into `buffer`.
struct KernelInput {
    const uint8_t* act;
    size_t stride;
};

// Bytes per token of k's quantized activations (0: k reads x itself).
size_t input_stride(const TypeKernel& k, int64_t cols) {
    return k.quantize ? size_t(round_up(int64_t(k.act_bytes(cols)), 64)) : 0;
}

// x as k reads it; a quantized copy goes to buf (input_stride bytes per token).
KernelInput kernel_input(const TypeKernel& k, const float* x, int64_t n_tokens, int64_t cols, uint8_t* buf) {
    if (!k.quantize) return {reinterpret_cast<const uint8_t*>(x), size_t(cols) * sizeof(float)};
    const size_t stride = input_stride(k, cols);
    auto quantize = [&](int64_t t) { k.quantize(x + t * cols, cols, buf + size_t(t) * stride); };
    if (n_tokens * cols < (int64_t(1) << 16)) {
        for (int64_t t = 0; t < n_tokens; ++t) quantize(t);
    } else {
        tbb::parallel_for(int64_t(0), n_tokens, quantize);
    }
    return {buf, stride};
}

// Rows [r0, r1) x tokens [t0, t1) of y = x w^T, by the type's kernel.
// An interleaved matrix's tiles start on a group (row_multiple); its rows after the last group
// go to the kernel of stored rows.
void gemm_tile(const TypeKernel& k, const WeightMatrix& w, const KernelInput& in, float* y, int64_t r0, int64_t r1,
               int64_t t0, int64_t t1) {
    auto run = [&](GemmFn gemm, int64_t first, int64_t end) {
        if (first < end)
            gemm({w.row(first), w.row_bytes, end - first, in.act + size_t(t0) * in.stride, in.stride, t1 - t0, w.cols,
                  y + t0 * w.rows + first, w.rows});
    };
    if (!w.interleaved) return run(k.gemm, r0, r1);
    const int64_t groups_end = w.rows / kInterleaveRows * kInterleaveRows;
    run(k.gemm, r0, std::min(r1, groups_end));
    run(k.gemm_tail_rows, std::max(r0, groups_end), r1);
}

// One product's share of a parallel loop: task i computes a fixed block of its output, from
// inputs prepared once per call (so products that share them can run in one loop).
struct ProductTasks {
    int64_t n_tasks = 0;
    std::function<void(int64_t)> run;
};

// Tiles of rows x tokens (tiling_of) by the type's kernel.
ProductTasks tile_tasks(const WeightMatrix& w, const TypeKernel& k, const KernelInput& in, int64_t n_tokens, float* y,
                        bool serial) {
    const Tiling t = tiling_of(w, n_tokens, serial);
    return {t.tasks(), [w, &k, in, n_tokens, y, t](int64_t task) {
                run_tile_task(w, n_tokens, t, task, [&](int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
                    gemm_tile(k, w, in, y, r0, r1, t0, t1);
                });
            }};
}

// Batches of types with a packed layout: each task copies a block of rows (sized to stay in L2)
// into scratch, packs it, and runs every token over it, so the shuffles that put a row's blocks
// in register order are paid once per row instead of once per row and tile of tokens.
ProductTasks packed_batch_tasks(const WeightMatrix& w, const TypeKernel& k, const KernelInput& in, int64_t n_tokens,
                                float* y) {
    const size_t packed_row_bytes = k.packed_row_bytes(w.cols);
    // Chunks of whole row groups, and of at least 4 rows (the kernels' row tiles).
    const int64_t multiple = std::max<int64_t>(4, k.packed_row_group);
    const int64_t fit = int64_t(kBatchChunkBytes / packed_row_bytes) / multiple * multiple;
    const int64_t row_chunk = std::clamp<int64_t>(fit, multiple, std::max(kBatchRowChunk, multiple));
    return {(w.rows + row_chunk - 1) / row_chunk, [w, &k, in, n_tokens, y, packed_row_bytes, row_chunk](int64_t task) {
                const int64_t r0 = task * row_chunk, rows = std::min(w.rows, r0 + row_chunk) - r0;
                ThreadScratch<WeightBuffer> scratch;
                uint8_t* packed = scratch->reserve(size_t(round_up(rows, k.packed_row_group)) * packed_row_bytes);
                k.pack_rows(w.row(r0), w.row_bytes, packed, packed_row_bytes, rows, w.cols);
                k.gemm_packed({packed, packed_row_bytes, rows, in.act, in.stride, n_tokens, w.cols, y + r0, w.rows});
            }};
}

// x (n_tokens x cols) transposed for outer products: xt[i * xt_stride + t], the tokens past
// n_tokens zero. Blocks of 16 tokens x 64 columns keep reads and writes within a few lines.
void transpose_tokens(const float* x, int64_t n_tokens, int64_t cols, int64_t xt_stride, float* xt) {
    auto columns = [&](int64_t i0) {
        for (int64_t t0 = 0; t0 < xt_stride; t0 += 16)
            for (int64_t i = i0; i < std::min(cols, i0 + 64); ++i)
                for (int64_t t = t0; t < t0 + 16; ++t) xt[i * xt_stride + t] = t < n_tokens ? x[t * cols + i] : 0.0f;
    };
    const int64_t blocks = (cols + 63) / 64;
    if (n_tokens * cols < (int64_t(1) << 16)) {
        for (int64_t b = 0; b < blocks; ++b) columns(64 * b);
    } else {
        tbb::parallel_for(int64_t(0), blocks, [&](int64_t b) { columns(64 * b); });
    }
}

// Batches of float weights by outer products (see detail::OuterArgs) over the transposed
// activations: each task computes a block of rows for every token. Four tiles of rows per task:
// six tasks for a 256-row KV projection, so two threads stay balanced; the activations each task
// re-reads from L3 cost little against its products.
ProductTasks outer_batch_tasks(const WeightMatrix& w, const TypeKernel& k, const float* xt, int64_t xt_stride,
                               int64_t n_tokens, float* y) {
    const int64_t row_chunk = 4 * detail::kOuterTileRows;
    return {(w.rows + row_chunk - 1) / row_chunk, [w, &k, xt, xt_stride, n_tokens, y, row_chunk](int64_t task) {
                const int64_t r0 = task * row_chunk, rows = std::min(w.rows, r0 + row_chunk) - r0;
                ThreadScratch<WeightBuffer> scratch;
                const size_t floats = size_t(detail::kOuterTileRows * detail::kOuterDepth + rows * xt_stride);
                k.gemm_outer({w.row(r0), w.row_bytes, rows, xt, xt_stride, n_tokens, w.cols, y + r0, w.rows,
                              reinterpret_cast<float*>(scratch->reserve(floats * sizeof(float)))});
            }};
}

bool takes_outer_products(const TypeKernel& k, int64_t n_tokens) { return k.gemm_outer && n_tokens > kWholeBatch; }

// Products with one input and column count, each type with a kernel: the input is prepared once
// per form the products read (quantized once per activation format, a mixed file's Q4_K and Q6_K
// may differ; transposed once for outer products), then every product's tasks run as one
// parallel loop, so threads meet once instead of once per matrix, and a small product (a KV
// projection) shares the threads with the large ones instead of running alone.
void run_products(const Product* products, int64_t count, const float* x, int64_t n_tokens) {
    const int64_t cols = products[0].w.cols;
    struct Format {
        const TypeKernel* kernel;
        size_t offset;  // in the buffer
        KernelInput input;
    };
    std::vector<Format> formats;
    std::vector<size_t> format_of(static_cast<size_t>(count));
    size_t bytes = 0;
    bool outer = false;
    for (int64_t i = 0; i < count; ++i) {
        const TypeKernel& ki = kernel_for(products[i].w);
        if (takes_outer_products(ki, n_tokens)) {
            outer = true;
            continue;
        }
        size_t f = 0;
        while (f < formats.size() && !(formats[f].kernel->quantize == ki.quantize &&
                                       formats[f].kernel->act_bytes == ki.act_bytes))
            ++f;
        if (f == formats.size()) {
            formats.push_back({&ki, bytes, {}});
            bytes += input_stride(ki, cols) * size_t(n_tokens);
        }
        format_of[size_t(i)] = f;
    }
    const int64_t xt_stride = round_up(n_tokens, detail::kOuterTokenAlign);
    const size_t xt_offset = size_t(round_up(int64_t(bytes), 64));
    if (outer) bytes = xt_offset + size_t(cols * xt_stride) * sizeof(float);
    ThreadScratch<ActivationBuffer> scratch;
    uint8_t* buffer = scratch->reserve(bytes);
    for (Format& f : formats) f.input = kernel_input(*f.kernel, x, n_tokens, cols, buffer + f.offset);
    auto* xt = reinterpret_cast<float*>(buffer + xt_offset);
    if (outer) transpose_tokens(x, n_tokens, cols, xt_stride, xt);

    int64_t work = 0;
    for (int64_t i = 0; i < count; ++i) work += products[i].w.rows * cols * n_tokens;
    std::vector<ProductTasks> parts;
    std::vector<int64_t> tasks_before{0};  // task j belongs to the last part whose first task is <= j
    for (int64_t i = 0; i < count; ++i) {
        const Product& p = products[i];
        const TypeKernel& k = kernel_for(p.w);
        if (takes_outer_products(k, n_tokens)) {
            parts.push_back(outer_batch_tasks(p.w, k, xt, xt_stride, n_tokens, p.y));
        } else {
            const KernelInput& in = formats[format_of[size_t(i)]].input;
            if (k.pack_rows && n_tokens > kWholeBatch)
                parts.push_back(packed_batch_tasks(p.w, k, in, n_tokens, p.y));
            else
                parts.push_back(tile_tasks(p.w, k, in, n_tokens, p.y, runs_serially(work)));
        }
        tasks_before.push_back(tasks_before.back() + parts.back().n_tasks);
    }
    run_tasks(tasks_before.back(), work, [&](int64_t task) {
        const auto after = std::upper_bound(tasks_before.begin(), tasks_before.end(), task);
        const auto part = size_t(after - tasks_before.begin()) - 1;
        parts[part].run(task - tasks_before[part]);
    });
}

// Types with no kernel (TQ1_0, ...): dequantize one row at a time and use the float kernel.
void matmul_dequantized(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y) {
    const quant::TypeInfo& info = quant::type_info(w.type);
    if (!info.dequantize_row)
        throw usage_error(std::string("matmul: type ") + info.name + " cannot be computed with");
    const detail::GemmFn f32 = detail::active_table().types[int(quant::TypeId::F32)].gemm;
    for_each_tile(w, n_tokens, [&](int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
        ThreadScratch<WeightBuffer> row;
        auto* buf = reinterpret_cast<float*>(row->reserve(size_t(w.cols) * sizeof(float)));
        for (int64_t r = r0; r < r1; ++r) {
            info.dequantize_row(w.row(r), buf, w.cols);
            const GemmArgs args{reinterpret_cast<const uint8_t*>(buf), 0, 1,
                                reinterpret_cast<const uint8_t*>(x + t0 * w.cols), size_t(w.cols) * sizeof(float),
                                t1 - t0, w.cols, y + t0 * w.rows + r, w.rows};
            f32(args);
        }
    });
}

}  // namespace

void check_shape(const WeightMatrix& w) {
    const quant::TypeInfo& info = quant::type_info(w.type);
    if (w.cols % info.block_size != 0 || w.row_bytes < info.row_bytes(w.cols))
        throw usage_error(std::string("matmul: ") + info.name + " matrix of " + std::to_string(w.cols) +
                          " columns with rows of " + std::to_string(w.row_bytes) + " bytes");
}


void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y) {
    if (n_tokens <= 0 || w.rows <= 0) return;
    if (w.cols == 0) {
        std::fill(y, y + n_tokens * w.rows, 0.0f);
        return;
    }
    const TypeKernel& k = kernel_for(w);
    if (!k.gemm) {
        matmul_dequantized(w, x, n_tokens, y);
        return;
    }
    if (n_tokens <= kWholeBatch) {
        // A token or a few (generation, attention's scores): run_products's plan in vectors and
        // std::functions would cost more than some of these products.
        ThreadScratch<ActivationBuffer> scratch;
        const KernelInput in =
            kernel_input(k, x, n_tokens, w.cols, scratch->reserve(input_stride(k, w.cols) * size_t(n_tokens)));
        for_each_tile(w, n_tokens,
                      [&](int64_t r0, int64_t r1, int64_t t0, int64_t t1) { gemm_tile(k, w, in, y, r0, r1, t0, t1); });
        return;
    }
    const Product product{w, y};
    run_products(&product, 1, x, n_tokens);
}

void matmul_many(const Product* products, int64_t count, const float* x, int64_t n_tokens) {
    if (count <= 0 || n_tokens <= 0) return;
    const int64_t cols = products[0].w.cols;
    bool shared = cols > 0;
    for (int64_t i = 0; i < count && shared; ++i) {
        const WeightMatrix& w = products[i].w;
        shared = w.cols == cols && w.rows > 0 && kernel_for(w).gemm;
    }
    if (!shared) {
        for (int64_t i = 0; i < count; ++i) matmul(products[i].w, x, n_tokens, products[i].y);
        return;
    }
    run_products(products, count, x, n_tokens);
}

void weighted_row_sum(const WeightMatrix& w, const float* weights, int64_t n_sets, float* out) {
    const TypeKernel& k = kernel_for(w);
    if (k.weighted_row_sum) {
        k.weighted_row_sum(w.data, w.row_bytes, weights, n_sets, w.rows, w.cols, out);
        return;
    }
    std::fill(out, out + n_sets * w.cols, 0.0f);
    ThreadScratch<WeightBuffer> scratch;
    auto* row = reinterpret_cast<float*>(scratch->reserve(size_t(w.cols) * sizeof(float)));
    for (int64_t r = 0; r < w.rows; ++r) {
        dequantize_row(w, r, row);
        for (int64_t s = 0; s < n_sets; ++s)
            for (int64_t i = 0; i < w.cols; ++i)
                out[s * w.cols + i] = std::fma(weights[s * w.rows + r], row[i], out[s * w.cols + i]);
    }
}

void dequantize_row(const WeightMatrix& w, int64_t r, float* out) {
    if (w.type == quant::TypeId::F32) {
        std::memcpy(out, w.row(r), size_t(w.cols) * sizeof(float));
        return;
    }
    const quant::TypeInfo& info = quant::type_info(w.type);
    if (!info.dequantize_row) throw usage_error(std::string("dequantize_row: type ") + info.name + " cannot be read");
    if (!w.interleaved) {
        info.dequantize_row(w.row(r), out, w.cols);
        return;
    }
    ThreadScratch<StoredRowBuffer> scratch;
    uint8_t* row = scratch->reserve(w.row_bytes);
    detail::stored_row(w, r, row);
    info.dequantize_row(row, out, w.cols);
}

void matmul_reference(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y) {
    std::vector<float> row(size_t(w.cols));
    for (int64_t r = 0; r < w.rows; ++r) {
        dequantize_row(w, r, row.data());
        for (int64_t t = 0; t < n_tokens; ++t) {
            const float* xt = x + t * w.cols;
            double sum = 0.0;
            for (int64_t i = 0; i < w.cols; ++i) sum += double(row[size_t(i)]) * double(xt[i]);
            y[t * w.rows + r] = float(sum);
        }
    }
}

}  // namespace dilmodeli::kernels
