#pragma once
// What route-bench measures about a router, from the BatchRecords of MoE layers: balance,
// drops, probability mass kept, distinct experts per batch, expert-weight cache behaviour under
// an LRU of a cache's size, and speed.
#include <cstdint>
#include <string>
#include <vector>

#include "moe/moe_feed_forward.h"

namespace dilmodeli::moe {

struct RouterMetrics {
    std::string name;
    double max_mean_load = 0;       // mean over (batch, layer) of max load / mean load
    double load_cv = 0;             // mean over (batch, layer) of std / mean of the loads
    int64_t dropped = 0;            // slots dropped
    double mass_kept = 0;           // probability of the served experts / that of plain top-k's
    double distinct_per_batch = 0;  // experts used per (batch, layer)
    double cache_hit_l2 = 0;        // expert fetches found in an LRU of the L2 size
    double cache_hit_l3 = 0;
    double route_us_per_token = 0;
    double expert_tok_per_s = 0;
    double perplexity = -1;         // < 0: not measured
    // Mean over (batch, layer) of the lowest max/mean load a router keeping to each token's
    // swarm could reach on the same batches (lib/moe/swarm_bound.h); < 0: not computed.
    double swarm_bound = -1;
    std::vector<double> expert_load;  // (n_experts) load / mean load, summed over batches and layers
};

// An LRU of whole experts by bytes: access() says whether the expert was resident, then makes it so.
class ExpertLru {
public:
    explicit ExpertLru(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}
    bool access(int64_t key, uint64_t bytes);

private:
    uint64_t capacity_;
    uint64_t used_ = 0;
    std::vector<std::pair<int64_t, uint64_t>> entries_;  // most recent last
};

// `layers`: the records of each layer, in batch order (batch b of every layer ran before b + 1).
// Experts are fetched, per (batch, layer), in index order.
RouterMetrics summarise_records(const std::string& name, const std::vector<std::vector<BatchRecord>>& layers,
                                uint64_t expert_bytes, uint64_t l2_bytes, uint64_t l3_bytes);

// Per-expert load bars, one panel per router, with the mean and 1.10 x mean marked.
std::string load_svg(const std::vector<RouterMetrics>& routers);

// Router logits of a skewed synthetic workload: expert e's popularity falls as
// -skew * log(1 + rank(e)) (Zipf), plus unit Gaussian noise per token. Deterministic for a seed.
std::vector<float> synthetic_logits(int64_t n_tokens, int64_t n_experts, double skew, uint64_t seed);

// L2 and L3 sizes of this machine (hwloc), per core for L2 and whole for L3; 0 when unknown.
uint64_t cache_bytes(int level);

}  // namespace dilmodeli::moe
