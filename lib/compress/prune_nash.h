#pragma once
// Pruning as a Nash-swarm game (docs: nash-swarm.md, Application 2). Every block is a player
// whose strategy says how much of it is pruned: level 0 keeps it whole, level L (`levels`)
// prunes it whole, level l prunes its l/L least salient weights (L = 1 is plain keep/prune):
//   cost(l) = the saliency pruned; the budget adds lambda * the bytes kept, lambda found by
//   bisection so that the kept bytes meet the budget (solve_with_budget);
//   coupling with at most k neighbours, through a per-edge table
//     K(a, b) = cohesion_ij * |a - b| / L + pair_ij * [a = b = L],
//   where cohesion_ij >= 0 makes disagreeing neighbours pay (contiguous runs, whole groups) and
//   pair_ij is the cross term of removing both (FFN channels: 2 (W_down[:,a] . W_down[:,b])
//   E[h_a h_b], so that the potential is the layer's output error restricted to the k strongest
//   interactions of every channel).
// Costs are divided by the mean cost of pruning a whole block, so lambda is in "mean block
// saliencies per byte".
#include <cstdint>
#include <functional>
#include <vector>

#include "compress/pruning.h"

namespace dilmodeli::compress {

struct BlockGame {
    int32_t levels = 1;           // L: strategies 0..L
    std::vector<double> cost;     // (players x (L + 1)) saliency pruned at each level, cost[0] = 0
    std::vector<double> bytes;    // (players x (L + 1)) bytes kept at each level, bytes[L] = 0
    std::vector<int32_t> group;   // (players) the group a player's width is counted in (L = 1)

    int32_t players() const { return int32_t(group.size()); }
    double whole(int32_t player) const { return cost[size_t(player) * size_t(levels + 1) + size_t(levels)]; }
    // A keep/prune player (L = 1).
    void add_block(double saliency, double kept_bytes, int32_t in_group) {
        cost.insert(cost.end(), {0.0, saliency});
        bytes.insert(bytes.end(), {kept_bytes, 0.0});
        group.push_back(in_group);
    }
    struct Edge {
        int32_t a, b;
        double cohesion;  // in units of saliency, >= 0
        double pair;      // in units of saliency, any sign
    };
    std::vector<Edge> edges;  // a < b, each pair at most once, at most k per player
};

struct BlockGameResult {
    std::vector<int32_t> level;  // (players) the strategy chosen
    NashGameSummary summary;
};

// Given the players each group keeps at the equilibrium, the number it must keep.
using GroupWidths = std::function<std::vector<int64_t>(const std::vector<int64_t>& kept_at_equilibrium)>;

// Solves the game with the kept bytes <= budget_bytes, then meets `widths` exactly (when given;
// L = 1 only) by switching, in each group, the players that lose least by it; without `widths`
// it fills what the budget leaves by moving players one level down, those that lose least
// first. summary.adjusted counts those moves. The equilibrium figures in the summary are those
// of the game's solution, before the adjustment. Deterministic.
BlockGameResult solve_block_game(const BlockGame& game, double budget_bytes, int32_t max_neighbours,
                                 const GroupWidths& widths);

// Edges among `n` players from a dense symmetric interaction table (n x n, row-major): each
// player proposes its k strongest |interaction| partners, and the proposals are made symmetric
// without exceeding k (nash::symmetric_capped). `offset` is added to the player indices.
// cohesion_ij = cohesion * sqrt(whole_a * whole_b), pair_ij = interaction(a, b).
void add_strongest_edges(BlockGame& game, int32_t offset, int32_t n, const std::vector<double>& interaction,
                         int32_t k, double cohesion);

}  // namespace dilmodeli::compress
