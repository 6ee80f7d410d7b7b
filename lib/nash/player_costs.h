#pragma once
// One player's view of the game: what each of its strategies would cost with everyone else
// fixed, and the rule by which it picks its reply. Best-response sweeps and the equilibrium
// check both go through here, so they cannot disagree about what "better" means.
#include <cstdint>

#include "nash/game.h"

namespace dilmodeli::nash {

// How much cheaper a strategy must be before a player leaves its current one. Without a
// margin, rounding could let a player hop between two strategies of equal cost forever; with
// it every move lowers the potential by more than the margin, so the dynamics stop. The margin
// is absolute + relative * max(|current cost|, |best cost|): tiny next to any real difference,
// and scale-free for costs in bytes or in squared errors alike.
struct ImprovementTolerance {
    double absolute = 1e-12;
    double relative = 1e-12;

    double margin(double current_cost, double best_cost) const;
};

// cost[s] for every strategy s of `player` (the buffer holds num_strategies(player) values):
//   c_i(s) + price * bytes_i(s) + sum_j w_ij(s, profile[j]) + sum_{r in R_i(s)} g_r(load_r),
// where load_r counts the player on r: loads[r] for resources it already occupies, loads[r] + 1
// for the others. `loads` are the current loads (resource_loads()); unused without resources.
// This is the hot spot of the engine: every sweep calls it once per player.
void strategy_costs(const Game& game, const int32_t* profile, const int32_t* loads, int32_t player,
                    double price, double* cost);

struct Reply {
    int32_t strategy;  // what the player plays next: `best`, or `current` if not worth moving
    int32_t best;      // the cheapest strategy, lowest index on ties
    double gain;       // cost[current] - cost[best] >= 0: what a unilateral deviation saves
};

// Deterministic: the cheapest strategy, ties to the lowest index; the player stays unless that
// strategy beats its current one by more than the tolerance's margin.
Reply best_reply(const double* cost, int32_t num_strategies, int32_t current,
                 const ImprovementTolerance& tolerance);

}  // namespace dilmodeli::nash
