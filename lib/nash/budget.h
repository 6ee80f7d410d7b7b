#pragma once
// A global budget, sum_i bytes_i(s_i) <= B, met through a price: every player pays
// price * bytes_i(s) on top of its cost, and the price is found by bisection so that the
// equilibrium just fits. This keeps each player's decision local (the flock never sees the
// total) while the total obeys the budget.
//
// The search assumes the equilibrium's bytes fall as the price rises, which holds without
// coupling and nearly always with it. Where it does not, the result still fits the budget (the
// upper end of the bracket always does) but is the smallest fitting price of the bracket found,
// not necessarily of all prices.
#include <cstdint>

#include "nash/best_response.h"
#include "nash/game.h"

namespace dilmodeli::nash {

struct BudgetOptions {
    double relative_tolerance = 1e-6;  // stop when (price - price_below) <= this * price
    int32_t max_solves = 200;          // equilibrium solves in all (bracketing and bisection)
    SolveOptions solve;                // for every solve; its price is set by the search
};

struct BudgetReport {
    bool binding = false;    // false: the price-free equilibrium fits, price == 0
    double price = 0;        // the smallest price found whose equilibrium fits
    double bytes = 0;        // total bytes of that equilibrium (<= budget)
    double price_below = 0;  // binding: the largest price tried whose equilibrium does not fit
    double bytes_below = 0;  // binding: its total bytes (> budget)
    int32_t solves = 0;      // equilibrium solves run (the bisection's iterations)
    bool tolerance_reached = true;  // false: max_solves stopped the bisection first
    bool all_converged = true;      // every solve converged within its sweep limit
    SolveReport equilibrium;        // the solve at `price`
};

// Error(Usage) if the budget is not finite or is below minimum_bytes(game): even the smallest
// strategy of every player exceeds it.
BudgetReport solve_with_budget(const Game& game, double budget_bytes,
                               const BudgetOptions& options = {});

}  // namespace dilmodeli::nash
