#include "model/attention.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "common/thread_scratch.h"
#include "kernels/activation.h"
#include "kernels/matmul.h"
#include "model/ops.h"

namespace dilmodeli::model {
namespace {

// With an F16 cache, llama.cpp rounds the query and the attention weights to F16 before the
// two products; doing the same keeps logits within rounding of its results.
inline void round_like(const float*, float*, int64_t) {}
inline void round_like(const uint16_t*, float* x, int64_t n) { kernels::round_to_half(x, n); }

struct ScoreTransform {
    float scale;
    float softcap;  // 0: none
};

ScoreTransform score_transform(const AttentionArgs& a) {
    const float scale = a.scale > 0.0f ? a.scale : 1.0f / std::sqrt(float(a.head_dim));
    // As ggml's flash attention: the scale divided by the cap first, then cap * tanh.
    return a.softcap > 0.0f ? ScoreTransform{scale / a.softcap, a.softcap} : ScoreTransform{scale, 0.0f};
}

// The first position a query at `pos` sees.
int64_t first_visible(const AttentionArgs& a, int64_t pos) {
    return a.window > 0 ? std::max<int64_t>(0, pos + 1 - a.window) : 0;
}

// Turns a row of raw scores into attention weights: scaled (and soft-capped), a softmax over
// positions first .. visible - 1, rounded like the cache (as llama.cpp feeds them to its product
// with V), and zero for the positions the query may not see, up to `span`.
template <typename Element>
void attention_weights(float* row, int64_t first, int64_t visible, int64_t span, const ScoreTransform& st,
                       const Element* cache_tag) {
    for (int64_t p = first; p < visible; ++p) row[p] *= st.scale;
    if (st.softcap > 0.0f)
        for (int64_t p = first; p < visible; ++p) row[p] = st.softcap * std::tanh(row[p]);
    softmax(row + first, visible - first);
    round_like(cache_tag, row + first, visible - first);
    std::fill(row, row + first, 0.0f);
    std::fill(row + visible, row + span, 0.0f);
}

template <typename Element>
constexpr quant::TypeId cache_type() {
    return std::is_same_v<Element, float> ? quant::TypeId::F32 : quant::TypeId::F16;
}

// K_h (or V_h) as a matrix of the kernels: one row per position, read in place from the cache.
// Rows first .. first + positions - 1 of it.
template <typename Element>
kernels::WeightMatrix rows_of_head(const Element* cache, int64_t kv_head, int64_t positions, const AttentionArgs& a,
                                   int64_t first = 0) {
    return {cache_type<Element>(),
            reinterpret_cast<const uint8_t*>(cache + (kv_head * a.cache_rows + first) * a.head_dim), positions,
            a.head_dim, size_t(a.head_dim) * sizeof(Element)};
}

// From this many queries on, a head's scores and outputs are two matrix products through the
// kernels (their batch path); below it, one query at a time (generation, short prompts).
constexpr int64_t kBatchedQueries = 16;

// One query at a time, in parallel over (query, KV head): the query heads that share a KV head
// (grouped-query attention) are scored together, so their keys are read once, as one product of
// the kernels with a token per query head, and their outputs are the kernels' weighted sums of
// the value rows, one per head, each row read once for the group. Up to 8 heads a group, every
// score has the bits of a one-head product.
template <typename Element>
void attend_each(const AttentionArgs& a, const Element* k_cache, const Element* v_cache) {
    const int64_t hd = a.head_dim, group = a.n_heads / a.n_kv_heads;
    const ScoreTransform st = score_transform(a);
    const int64_t tasks = a.n * a.n_kv_heads;
    const int64_t span = a.n_past + a.n;  // positions any query of this batch may see
    auto run = [&](int64_t begin, int64_t end) {
        std::vector<float> scores(static_cast<size_t>(group * span)), q(static_cast<size_t>(group * hd));
        for (int64_t task = begin; task < end; ++task) {
            const int64_t t = task / a.n_kv_heads, kv_head = task % a.n_kv_heads;
            const int64_t pos = a.n_past + t;
            const int64_t first = first_visible(a, pos);
            const int64_t seen = pos + 1 - first;  // causal: itself and the window before it
            const float* queries = a.q + t * a.q_stride + kv_head * group * hd;
            std::copy_n(queries, group * hd, q.data());
            round_like(k_cache, q.data(), group * hd);
            kernels::matmul(rows_of_head(k_cache, kv_head, seen, a, first), q.data(), group, scores.data());
            for (int64_t g = 0; g < group; ++g) attention_weights(&scores[size_t(g * seen)], 0, seen, seen, st, v_cache);
            // The group's heads are adjacent in the output, as their weights are in scores.
            kernels::weighted_row_sum(rows_of_head(v_cache, kv_head, seen, a, first), scores.data(), group,
                                      a.out + t * a.q_stride + kv_head * group * hd);
        }
    };
    // Small problems (a tiny model, one token) are cheaper without task overhead.
    if (tasks * group * span * hd < (1 << 15) || !a.parallel) {
        run(0, tasks);
    } else {
        tbb::parallel_for(tbb::blocked_range<int64_t>(0, tasks),
                          [&](const tbb::blocked_range<int64_t>& r) { run(r.begin(), r.end()); });
    }
}

template <typename Element>
struct BatchBuffers {
    std::vector<float> q, scores, out;
    std::vector<Element> v_transposed;
};

// Per head: scores (n x span) = Q_h K_h^T, a causal softmax per row, then out = P V_h, where
// K_h is read in place from the cache and V_h is transposed once per
// KV head, so both products are the kernels' batch products of stored-type weights. KV heads
// run in parallel: one head's products are too small to split well over threads.
template <typename Element>
void attend_batched(const AttentionArgs& a, const Element* k_cache, const Element* v_cache) {
    const int64_t hd = a.head_dim, group = a.n_heads / a.n_kv_heads;
    const ScoreTransform st = score_transform(a);
    const int64_t span = a.n_past + a.n;
    auto run = [&](int64_t kv_head) {
        ThreadScratch<BatchBuffers<Element>> s;
        s->q.resize(size_t(a.n * hd));
        s->scores.resize(size_t(a.n * span));
        s->out.resize(size_t(a.n * hd));
        s->v_transposed.resize(size_t(hd * span));
        const Element* v_head = v_cache + kv_head * a.cache_rows * hd;
        for (int64_t p = 0; p < span; ++p)
            for (int64_t i = 0; i < hd; ++i) s->v_transposed[size_t(i * span + p)] = v_head[p * hd + i];
        const kernels::WeightMatrix keys = rows_of_head(k_cache, kv_head, span, a);
        const kernels::WeightMatrix values{cache_type<Element>(),
                                           reinterpret_cast<const uint8_t*>(s->v_transposed.data()), hd, span,
                                           size_t(span) * sizeof(Element)};
        for (int64_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
            for (int64_t t = 0; t < a.n; ++t)
                std::copy_n(a.q + t * a.q_stride + h * hd, hd, &s->q[size_t(t * hd)]);
            round_like(k_cache, s->q.data(), a.n * hd);
            kernels::matmul(keys, s->q.data(), a.n, s->scores.data());
            for (int64_t t = 0; t < a.n; ++t)
                attention_weights(&s->scores[size_t(t * span)], first_visible(a, a.n_past + t), a.n_past + t + 1, span,
                                  st, v_cache);
            kernels::matmul(values, s->scores.data(), a.n, s->out.data());
            for (int64_t t = 0; t < a.n; ++t)
                std::copy_n(&s->out[size_t(t * hd)], hd, a.out + t * a.q_stride + h * hd);
        }
    };
    if (a.parallel && a.n_kv_heads > 1)
        tbb::parallel_for(int64_t(0), a.n_kv_heads, run);
    else
        for (int64_t kv_head = 0; kv_head < a.n_kv_heads; ++kv_head) run(kv_head);
}

}  // namespace

template <typename Element>
void attend(const AttentionArgs& args, const Element* k_cache, const Element* v_cache) {
    if (args.n >= kBatchedQueries)
        attend_batched(args, k_cache, v_cache);
    else
        attend_each(args, k_cache, v_cache);
}

template void attend<float>(const AttentionArgs&, const float*, const float*);
template void attend<uint16_t>(const AttentionArgs&, const uint16_t*, const uint16_t*);

}  // namespace dilmodeli::model
