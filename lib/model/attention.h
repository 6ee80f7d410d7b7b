#pragma once
// Causal grouped-query attention of a batch of queries over one layer's KV cache.
#include <cstdint>

namespace dilmodeli::model {

struct AttentionArgs {
    const float* q;      // n rows of n_heads * head_dim (rope applied), `q_stride` floats apart
    int64_t q_stride;
    int64_t n;           // queries, at positions n_past .. n_past + n - 1
    int64_t n_past;
    int64_t n_heads;
    int64_t n_kv_heads;
    int64_t head_dim;
    int64_t cache_rows;  // positions the cache has room for: the distance between its KV heads
    float* out;          // n rows of n_heads * head_dim, `q_stride` floats apart
    bool parallel;       // may use TBB (call inside the session's arena)
    float scale = 0.0f;  // multiplies each score q.k (0: 1 / sqrt(head_dim))
    float softcap = 0.0f;  // scores -> softcap * tanh(scores / softcap) before the softmax (0: none)
    int64_t window = 0;  // keys a query sees, itself included (0: all before it)
};

// Element: float, or uint16_t for an F16 cache (then the queries and the attention weights are
// rounded to F16 before their products, as llama.cpp does). The cache holds, for each KV head,
// `cache_rows` rows of head_dim elements, of which positions 0 .. n_past + n - 1 are filled: a
// head's keys are contiguous, so reading them streams instead of striding across the heads.
template <typename Element>
void attend(const AttentionArgs& args, const Element* k_cache, const Element* v_cache);

}  // namespace dilmodeli::model
