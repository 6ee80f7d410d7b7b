#include "nash/budget_fill.h"

#include <limits>
#include <string>
#include <vector>

#include "common/error.h"
#include "nash/potential.h"

namespace dilmodeli::nash {
namespace {

struct Move {
    int32_t player = -1;
    int32_t strategy = -1;
    double gain = 0;         // cost saved by the mover
    double extra_bytes = 0;  // bytes it adds (<= 0: it frees some)
};

// true if a is the better move: freeing bytes beats spending them; then gain per byte.
bool better(const Move& a, const Move& b) {
    if (b.player < 0) return true;
    const bool a_free = a.extra_bytes <= 0, b_free = b.extra_bytes <= 0;
    if (a_free != b_free) return a_free;
    if (a_free) return a.gain > b.gain;
    return a.gain * b.extra_bytes > b.gain * a.extra_bytes;
}

// The best fitting improving move of every player (one scan over the game).
Move best_move(const Game& game, const Profile& profile, double slack, const ImprovementTolerance& tolerance,
               double* largest_gain) {
    const std::vector<int32_t> loads = resource_loads(game, profile);
    std::vector<double> cost(size_t(game.max_strategies()));
    Move best;
    *largest_gain = 0;
    for (int32_t i = 0; i < game.num_players(); ++i) {
        strategy_costs(game, profile.data(), loads.data(), i, 0.0, cost.data());
        const int32_t current = profile[size_t(i)];
        const double current_bytes = game.bytes(i, current);
        for (int32_t s = 0; s < game.num_strategies(i); ++s) {
            const double extra = game.bytes(i, s) - current_bytes;
            if (s == current || extra > slack) continue;
            const double gain = cost[size_t(current)] - cost[size_t(s)];
            if (gain > *largest_gain) *largest_gain = gain;
            if (!(gain > tolerance.margin(cost[size_t(current)], cost[size_t(s)]))) continue;
            const Move candidate{i, s, gain, extra};
            if (better(candidate, best)) best = candidate;
        }
    }
    return best;
}

}  // namespace

FillReport fill_budget(const Game& game, const Profile& start, double budget_bytes,
                       const ImprovementTolerance& tolerance) {
    check_profile(game, start);
    FillReport report;
    report.strategy = start;
    report.bytes = total_bytes(game, start);
    if (!(report.bytes <= budget_bytes))
        throw usage_error("nash: the profile to fill takes " + std::to_string(report.bytes) +
                          " bytes, over the budget of " + std::to_string(budget_bytes));
    for (;;) {
        double largest = 0;
        const Move move = best_move(game, report.strategy, budget_bytes - report.bytes, tolerance, &largest);
        report.largest_feasible_gain = largest;
        if (move.player < 0) break;
        report.strategy[size_t(move.player)] = move.strategy;
        report.bytes += move.extra_bytes;
        report.moves++;
    }
    // Exact bytes again, free of the running sum's rounding.
    report.bytes = total_bytes(game, report.strategy);
    report.potential = potential(game, report.strategy, 0.0);
    // The scan that stopped the fill found no move above the margin.
    report.is_equilibrium = true;
    return report;
}

}  // namespace dilmodeli::nash
