#pragma once
// An OpTimer that adds up the forward pass op by op and layer by layer, separately for prompt
// processing and generation, with the bytes each op had to read: weights (rows x row_bytes per
// matrix product, one row per token for the embedding) and the KV cache (attention reads K and
// V for every visible position, once per batch). Times come from the session's hooks.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/matmul_observer.h"

namespace dilmodeli::model { class Model; }

namespace dilmodeli::profile {

enum class Phase { Prompt = 0, Generation = 1 };

struct OpTotals {
    std::string op;             // "attn_q", "attention", "sampling", ...
    double seconds = 0;
    int64_t calls = 0;
    int64_t tokens = 0;         // summed over calls
    uint64_t weight_bytes = 0;  // weights read, summed over calls
    uint64_t kv_bytes = 0;      // KV cache read, summed over calls
    double flops = 0;           // 2 x rows x cols x tokens for matrix products
    bool is_matmul = false;
};

struct PhaseTotals {
    std::vector<OpTotals> ops;          // in forward-pass order; ops never seen are absent
    std::vector<double> layer_seconds;  // n_layers entries, then one for work outside the blocks
    int64_t forward_steps = 0;          // batches run (one per token in generation)
};

class ForwardProfile : public model::OpTimer {
public:
    // kv_element_bytes: 4 for an F32 cache, 2 for F16.
    ForwardProfile(const model::Model& model, int kv_element_bytes);

    void set_phase(Phase phase) { phase_ = phase; }
    // Called before each Session::decode with session.n_past(), so attention knows how many
    // cached positions each batch sees.
    void begin_decode(int64_t n_past) { next_position_ = n_past; }
    // Time spent outside the session that belongs to the phase (sampling).
    void add_time(const std::string& op, double seconds);

    const PhaseTotals& totals(Phase phase) const { return phases_[int(phase)]; }
    int64_t n_layers() const { return n_layers_; }

    void on_matmul(const kernels::WeightMatrix& w, int64_t n_tokens, double seconds) override;
    void on_op(const char* op, int64_t layer, int64_t n_tokens, double seconds) override;

private:
    struct TensorRole {
        std::string op;
        int64_t layer = -1;
    };
    OpTotals& entry(const std::string& op);
    void add_layer_time(int64_t layer, double seconds);

    std::unordered_map<const uint8_t*, TensorRole> roles_;  // by the weight's data pointer
    int64_t n_layers_ = 0;
    uint64_t embedding_row_bytes_ = 0;
    uint64_t kv_bytes_per_position_ = 0;  // K and V of one position in one layer
    Phase phase_ = Phase::Prompt;
    int64_t next_position_ = 0;
    int64_t batch_start_ = 0;
    PhaseTotals phases_[2];
};

// The ops of a llama forward pass in the order they run, then "sampling"; op names from the
// tensor names (blk.N.attn_q.weight -> attn_q) and the session's on_op names.
const std::vector<std::string>& forward_op_order();

}  // namespace dilmodeli::profile
