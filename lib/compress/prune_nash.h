#pragma once
// Pruning as a Nash-swarm game (docs: nash-swarm.md, Application 2). Every block is a player
// with two strategies, keep (0) or prune (1):
//   cost(prune) = its saliency; cost(keep) = lambda * its bytes, lambda found by bisection so
//   that the kept bytes meet the budget (solve_with_budget);
//   coupling with at most k neighbours, through a per-edge 2x2 table
//     K(keep, keep) = 0, K(keep, prune) = K(prune, keep) = cohesion_ij, K(prune, prune) = pair_ij,
//   where cohesion_ij >= 0 makes disagreeing neighbours pay (contiguous runs, whole groups) and
//   pair_ij is the cross term of removing both (FFN channels: 2 (W_down[:,a] . W_down[:,b])
//   E[h_a h_b], so that the potential is the layer's output error restricted to the k strongest
//   interactions of every channel).
// Costs are divided by their mean, so lambda is in "mean saliencies per byte".
#include <cstdint>
#include <functional>
#include <vector>

#include "compress/pruning.h"

namespace dilmodeli::compress {

struct BlockGame {
    std::vector<double> saliency;  // (players) cost of pruning, >= 0
    std::vector<double> bytes;     // (players) bytes when kept, > 0
    std::vector<int32_t> group;    // (players) the group a player's width is counted in
    struct Edge {
        int32_t a, b;
        double cohesion;  // in units of saliency, >= 0
        double pair;      // in units of saliency, any sign
    };
    std::vector<Edge> edges;  // a < b, each pair at most once, at most k per player
};

struct BlockGameResult {
    std::vector<uint8_t> pruned;  // (players)
    NashGameSummary summary;
};

// Given the players each group keeps at the equilibrium, the number it must keep.
using GroupWidths = std::function<std::vector<int64_t>(const std::vector<int64_t>& kept_at_equilibrium)>;

// Solves the game with the kept bytes <= budget_bytes, then meets `widths` exactly (when given)
// by switching, in each group, the players that lose least by it; without `widths` it fills
// what the budget leaves the same way. summary.adjusted counts those switches. The equilibrium
// figures in the summary are those of the game's solution, before the adjustment. Deterministic.
BlockGameResult solve_block_game(const BlockGame& game, double budget_bytes, int32_t max_neighbours,
                                 const GroupWidths& widths);

// Edges among `n` players from a dense symmetric interaction table (n x n, row-major): each
// player proposes its k strongest |interaction| partners, and the proposals are made symmetric
// without exceeding k (nash::symmetric_capped). `offset` is added to the player indices.
// cohesion_ij = cohesion * sqrt(saliency_a * saliency_b), pair_ij = interaction(a, b).
void add_strongest_edges(BlockGame& game, int32_t offset, int32_t n, const std::vector<double>& interaction,
                         int32_t k, double cohesion);

}  // namespace dilmodeli::compress
