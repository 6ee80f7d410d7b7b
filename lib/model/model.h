#pragma once
// A transformer of one of the families of architecture.h, mapped from a GGUF file, and the
// inference session that runs it: token embedding -> n_layers x (RMSNorm, rotary GQA attention
// with a KV cache, RMSNorm, gated FFN; each half optionally post-normed) -> final RMSNorm ->
// output head. The families differ only in the traits the config carries.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <tbb/task_arena.h>

#include "gguf/gguf_file.h"
#include "kernels/matmul.h"
#include "model/feed_forward.h"
#include "model/model_config.h"
#include "model/matmul_observer.h"

namespace dilmodeli::model {

// One block's weights. Optional parts are null (vectors) or empty (matrices); a file that fuses
// Q, K and V into attn_qkv gets wq, wk and wv as views of its rows.
struct Layer {
    const float* attn_norm = nullptr;  // (n_embd)
    kernels::WeightMatrix wq;          // (n_embd -> q_dim)
    kernels::WeightMatrix wk;          // (n_embd -> kv_dim)
    kernels::WeightMatrix wv;          // (n_embd -> kv_dim)
    const float* bq = nullptr;         // (q_dim)
    const float* bk = nullptr;         // (kv_dim)
    const float* bv = nullptr;         // (kv_dim)
    const float* q_norm = nullptr;     // (head_dim): per-head RMSNorm of Q before rope
    const float* k_norm = nullptr;     // (head_dim)
    kernels::WeightMatrix wo;          // (q_dim -> n_embd)
    const float* bo = nullptr;         // (n_embd)
    const float* attn_post_norm = nullptr;  // (n_embd)
    const float* ffn_norm = nullptr;   // (n_embd)
    std::unique_ptr<FeedForward> ffn;
    const float* ffn_post_norm = nullptr;   // (n_embd)
    bool slides = false;               // attends within config.sliding_window, with the local rope base
};

struct LoadOptions {
    Residency residency = Residency::Mapped;
    ExpertLayerLoader expert_layers;  // for MoE files (runtime::load_model supplies moe's)
    // Lay out the matrices of the blocks (and an untied output head) for the active instruction
    // set where it prefers (kernels::interleave_rows), in place in memory. Only for running the
    // model: the file's tensor bytes in memory then differ from the file's.
    bool interleave = false;
};

class Model {
public:
    // Maps and validates the file, then copies it into memory if `residency` says so (Auto: see
    // choose_residency); Error(BadInput) for anything the forward pass cannot use.
    static std::unique_ptr<Model> load(const std::string& path, const LoadOptions& options);
    static std::unique_ptr<Model> load(const std::string& path, Residency residency = Residency::Mapped) {
        return load(path, LoadOptions{residency, {}});
    }

    const ModelConfig& config() const { return config_; }
    const gguf::GgufFile& file() const { return *file_; }
    // Layer l's feed-forward half (dense or mixture of experts), e.g. to give MoE layers a router.
    FeedForward& feed_forward(int64_t layer) { return *layers_.at(size_t(layer)).ffn; }
    // Weight bytes one generated token reads (every matrix once), for roofline figures.
    uint64_t weight_bytes_per_token() const;
    // How many matrices LoadOptions::interleave laid out for the kernels (0 without it, or where
    // the instruction set reads every type as stored).
    int64_t interleaved_matrices() const { return interleaved_matrices_; }

private:
    friend class Session;
    Model() = default;
    // Dequantizes token's embedding row into out (n_embd floats); `row` is the caller's scratch.
    void embed(int32_t token, float* out, std::vector<uint8_t>& row) const;
    // LoadOptions::interleave's work.
    void interleave_matrices();

    std::unique_ptr<gguf::GgufFile> file_;
    ModelConfig config_;
    kernels::WeightMatrix token_embd_;  // (vocab rows of n_embd)
    kernels::WeightMatrix output_;      // (n_embd -> vocab); token_embd when tied
    // An untied embedding table is only ever read a row per token: those rows are read from
    // the file rather than faulted in through the mapping, which maps 64 KiB around each row
    // and, with a large vocabulary, soon holds the whole table in the process's memory. A copy
    // of the file in memory leaves the table out.
    bool read_embedding_rows_ = false;
    const float* output_norm_ = nullptr;
    std::vector<Layer> layers_;
    // Rope frequency divisors per rotated pair (null: none): Llama 3's rope_freqs, or Phi-3's
    // short and long factors, the long ones for contexts past the trained one.
    const float* rope_freqs_ = nullptr;
    const float* rope_short_ = nullptr;
    const float* rope_long_ = nullptr;
    int64_t rope_original_context_ = 0;
    std::vector<std::vector<float>> converted_vectors_;  // norms stored in types other than F32
    int64_t interleaved_matrices_ = 0;
};

enum class KvCacheType { F32, F16 };
// "f32" or "f16" (any case); Error(Usage) otherwise.
KvCacheType parse_kv_cache_type(const std::string& name);
// "f32" or "f16": the name parse_kv_cache_type reads, and the flags' default.
const char* kv_cache_type_name(KvCacheType type);

// The context a session gets when none is asked for, as llama.cpp's default n_ctx: Llama 3.2,
// Qwen3 and Gemma 3 train on 32k-128k tokens, whose F16 KV cache would take 0.6-4.7 GB.
constexpr int64_t kDefaultContext = 4096;

enum class DecodeOutput { Logits, Hidden };

struct SessionOptions {
    // KV cache length; 0: the model's trained context, at most kDefaultContext.
    int64_t context = 0;
    // F16, as llama.cpp stores it: half the memory, and generation at long contexts reads half
    // the bytes (110M shape after 128-192 tokens: 400 against 750-820 us of attention a token).
    KvCacheType kv_type = KvCacheType::F16;
    int threads = 0;       // 0: physical cores
    int64_t max_batch = 512;  // tokens per forward step in prompt processing
    // Independent sequences (a server's slots), each with its own `context` cells of KV cache,
    // set up front so that admitting a request never allocates.
    int sequences = 1;
    // What decode gives for the tokens whose logits it is asked for: logits (n_vocab floats a
    // token), or, for embeddings, the hidden states after the final norm and before the output
    // head (n_embd floats a token, llama.cpp's result_norm), which skips the output head.
    DecodeOutput output = DecodeOutput::Logits;
};

// Tokens of one sequence within a decode of several: appended at that sequence's next positions.
struct SequenceTokens {
    int sequence = 0;
    const int32_t* tokens = nullptr;
    int64_t n = 0;
    bool logits = false;  // wants its last token's logits: one row of logits(), in batch order
};

// The sequences being evaluated: their KV cache, scratch buffers and the thread arena.
class Session {
public:
    Session(Model& model, const SessionOptions& options);

    // Appends `n` tokens at positions n_past()..n_past()+n-1. When `all_logits` is set, logits
    // holds n x vocab floats (one row per token); otherwise one row, for the last token.
    // Error(Usage) when the tokens do not fit in the context.
    // (Sequence 0.)
    void decode(const int32_t* tokens, int64_t n, bool all_logits);
    // Several sequences in one pass, as continuous batching decodes the next token of each running
    // sequence with chunks of new prompts: every matrix product reads the weights once for all
    // their tokens; attention runs per sequence over its own cache. Each sequence appears at most
    // once. Error(Usage) for an unknown sequence or one whose tokens do not fit its context.
    void decode(const std::vector<SequenceTokens>& batch);
    const std::vector<float>& logits() const { return logits_; }
    // With SessionOptions::output Hidden, the rows logits() would hold (n_embd floats each) and
    // logits() stays empty.
    const std::vector<float>& hidden() const { return hidden_; }
    DecodeOutput output() const { return output_; }

    int64_t n_past(int sequence = 0) const { return n_past_.at(size_t(sequence)); }
    int sequences() const { return int(n_past_.size()); }
    int64_t context() const { return context_; }  // per sequence
    int threads() const { return threads_; }
    uint64_t kv_cache_bytes() const;
    void reset() { std::fill(n_past_.begin(), n_past_.end(), 0); }
    // Forgets a sequence's positions from `keep` on; the ones before stay cached (prompt reuse).
    void truncate(int sequence, int64_t keep);
    // Shown the input of every matrix product from now on (null: none). Not owned.
    void set_observer(MatmulObserver* observer) { hooks_.observer = observer; }
    // Told the duration of every op from now on (null: none). Not owned.
    void set_timer(OpTimer* timer) { hooks_.timer = timer; }
    const Model& model() const { return model_; }

private:
    // Consecutive tokens of one sequence inside a forward batch.
    struct Run {
        int sequence;
        int64_t first;     // the run's first row in the batch
        int64_t count;
        int64_t position;  // of its first token
    };
    // Tokens with their sequence and whether their logits are wanted, cut into forward batches.
    void decode_entries(const std::vector<int32_t>& tokens, const std::vector<int>& sequences,
                        const std::vector<uint8_t>& wants_logits);
    // Rows `logit_rows` (ascending) get logits, appended to logits_.
    void forward_batch(const int32_t* tokens, int64_t n, const std::vector<Run>& runs,
                       const std::vector<int64_t>& logit_rows);
    void attention(int64_t layer, const Run& run);
    // tmp_ (a block half's output) plus its bias, post-normed, added into the residual stream x_.
    void finish_residual(int64_t layer, int64_t n, const float* bias, const float* post_norm);
    size_t cache_offset(int64_t layer, int sequence) const;
    void check_fits(int sequence, int64_t n) const;  // Error(Usage) past the sequence's context
    void store_kv(int64_t layer, int sequence, int64_t pos, const float* k, const float* v);
    void ensure_scratch(int64_t n);

    Model& model_;
    ModelConfig config_;
    int64_t context_ = 0;
    int threads_ = 1;
    int64_t max_batch_ = 512;
    std::vector<int64_t> n_past_;  // per sequence
    tbb::task_arena arena_;
    ForwardHooks hooks_;

    KvCacheType kv_type_ = KvCacheType::F32;
    // (n_layers, sequences, n_kv_heads, context, head_dim) when F32
    std::vector<float> k_cache_, v_cache_;
    std::vector<uint16_t> k_cache16_, v_cache16_;   // the same when F16
    std::vector<float> x_, xb_, q_, k_, v_, att_, tmp_;  // (n, ...) scratch
    // (n, n_rot / 2): each token's rope angles, with the global and the sliding layers' base.
    std::vector<float> rope_cos_, rope_sin_, rope_cos_local_, rope_sin_local_;
    std::vector<int64_t> positions_;  // (n) each row's position in its sequence
    const float* rope_factors_ = nullptr;
    std::vector<uint8_t> embedding_row_;
    std::vector<float> logits_;
    DecodeOutput output_ = DecodeOutput::Logits;
    std::vector<float> hidden_;  // (rows, n_embd) when output_ is Hidden
};

}  // namespace dilmodeli::model
