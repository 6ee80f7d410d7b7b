#pragma once
// Spending what the price left over. With discrete strategies the Lagrange price of
// solve_with_budget() (budget.h) stops where the next player to move up would overshoot, and
// the slack can be large: one tensor going from 5.5 to 6.6 bits is tens of kilobytes. The fill
// turns the priced equilibrium into an equilibrium of the constrained game itself, where a
// player may only switch to a strategy that still fits:
//
//   each step, among all (player, strategy) moves that fit in the slack and lower the mover's
//   own cost (private cost + coupling + congestion, no price), take the one saving the most
//   per extra byte (moves that free bytes first); stop when none is left.
//
// Every move lowers the price-free potential by its gain, so the fill ends. When it does, no
// player can lower its cost alone within the shared budget: a generalized Nash equilibrium
// (the certificate below). Deterministic: ties go to the lowest player, then strategy index.
// O(moves * players * strategies * k): meant for games of thousands of players, not millions.
#include <cstdint>

#include "nash/game.h"
#include "nash/player_costs.h"
#include "nash/strategy_profile.h"

namespace dilmodeli::nash {

struct FillReport {
    Profile strategy;     // the filled profile (starts as the input)
    int64_t moves = 0;    // strategy changes made
    double bytes = 0;     // total bytes afterwards (<= budget)
    double potential = 0; // the price-free potential afterwards
    // The certificate: the largest saving any player could still get by a move that fits the
    // budget (0 when the fill stopped, within the tolerance's margin).
    double largest_feasible_gain = 0;
    bool is_equilibrium = true;
};

// Error(Usage) if the profile is invalid or does not fit the budget to begin with.
FillReport fill_budget(const Game& game, const Profile& start, double budget_bytes,
                       const ImprovementTolerance& tolerance = {});

}  // namespace dilmodeli::nash
