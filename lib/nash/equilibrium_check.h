#pragma once
// The certificate that a profile is a pure Nash equilibrium: for every player, the most it could
// save by changing its own strategy alone. Run on every result, not only in tests.
#include <cstdint>

#include "nash/game.h"
#include "nash/player_costs.h"
#include "nash/strategy_profile.h"

namespace dilmodeli::nash {

struct EquilibriumCheck {
    double largest_gain = 0;       // max over players of cost(current) - cost(best) >= 0
    int32_t player = -1;           // who has it (lowest index on ties); -1 without players
    int32_t better_strategy = -1;  // that player's cheapest strategy
    // Nobody gains more than the tolerance's margin: exactly the state in which best-response
    // dynamics stop. At an exact equilibrium largest_gain is 0.
    bool is_equilibrium = true;
};

// Parallel over players (TBB) with a deterministic reduction. O(players * k * strategies).
EquilibriumCheck check_equilibrium(const Game& game, const Profile& profile, double price = 0.0,
                                   const ImprovementTolerance& tolerance = {});

}  // namespace dilmodeli::nash
