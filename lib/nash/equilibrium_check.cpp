#include "nash/equilibrium_check.h"

#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_reduce.h>

namespace dilmodeli::nash {
namespace {

// The larger gain wins, the lower player on ties: associative and commutative, so the result
// does not depend on how TBB splits the range.
EquilibriumCheck larger(const EquilibriumCheck& a, const EquilibriumCheck& b) {
    EquilibriumCheck out = a;
    if (b.player >= 0 && (a.player < 0 || b.largest_gain > a.largest_gain ||
                          (b.largest_gain == a.largest_gain && b.player < a.player))) {
        out = b;
    }
    out.is_equilibrium = a.is_equilibrium && b.is_equilibrium;
    return out;
}

}  // namespace

EquilibriumCheck check_equilibrium(const Game& game, const Profile& profile, double price,
                                   const ImprovementTolerance& tolerance) {
    check_profile(game, profile);
    const std::vector<int32_t> loads = resource_loads(game, profile);
    return tbb::parallel_reduce(
        tbb::blocked_range<int32_t>(0, game.num_players(), 1024), EquilibriumCheck{},
        [&](const tbb::blocked_range<int32_t>& range, EquilibriumCheck found) {
            std::vector<double> cost(size_t(game.max_strategies()));
            for (int32_t i = range.begin(); i < range.end(); ++i) {
                strategy_costs(game, profile.data(), loads.data(), i, price, cost.data());
                const Reply reply =
                    best_reply(cost.data(), game.num_strategies(i), profile[i], tolerance);
                EquilibriumCheck here;
                here.largest_gain = reply.gain;
                here.player = i;
                here.better_strategy = reply.best;
                here.is_equilibrium = reply.strategy == profile[i];
                found = larger(found, here);
            }
            return found;
        },
        larger);
}

}  // namespace dilmodeli::nash
