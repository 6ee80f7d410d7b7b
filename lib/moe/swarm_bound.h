#pragma once
// How balanced any router could be while each token keeps to its swarm (its g experts of highest
// router probability, as the nash router does): the smallest possible largest expert load when
// every token takes k distinct experts of its own g. It is the answer of a bipartite flow
// problem (tokens supply k, each token-candidate edge carries 1, each expert takes at most C),
// solved exactly by max-flow and a binary search on C. A router's max/mean load can be set
// against it to tell "the router balances badly" from "no router restricted to the swarm can".
#include <cstdint>

namespace dilmodeli::moe {

// probs: (n_tokens, n_experts) router probabilities. Requires 1 <= k <= group <= n_experts.
int64_t swarm_min_max_load(const float* probs, int64_t n_tokens, int64_t n_experts, int64_t k, int64_t group);

}  // namespace dilmodeli::moe
