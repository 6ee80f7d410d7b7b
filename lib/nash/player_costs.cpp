#include "nash/player_costs.h"

#include <algorithm>
#include <cmath>

namespace dilmodeli::nash {

double ImprovementTolerance::margin(double current_cost, double best_cost) const {
    return absolute + relative * std::max(std::fabs(current_cost), std::fabs(best_cost));
}

void strategy_costs(const Game& game, const int32_t* profile, const int32_t* loads, int32_t player,
                    double price, double* cost) {
    const int64_t first = game.strategy_begin(player);
    const int32_t n = game.num_strategies(player);
    const double* private_cost = game.cost_data() + first;
    const double* bytes = game.bytes_data() + first;
    const int32_t* labels = game.label_data() + first;
    for (int32_t s = 0; s < n; ++s) cost[s] = private_cost[s] + price * bytes[s];

    // K is symmetric, so K(label_i(s), label_j) is row label_j of the table read at label_i(s).
    const int64_t entry_end = game.neighbour_begin(player + 1);
    for (int64_t e = game.neighbour_begin(player); e < entry_end; ++e) {
        const int32_t j = game.neighbour(e);
        const int32_t kernel = game.coupling_kernel(e);
        const double weight = game.coupling_weight(e);
        const double* row = game.kernel_table(kernel) +
                            int64_t(game.label(j, profile[j])) * game.kernel_labels(kernel);
        for (int32_t s = 0; s < n; ++s) cost[s] += weight * row[labels[s]];
    }

    if (!game.uses_resources(player)) return;
    const int64_t current = first + profile[player];
    const int64_t current_begin = game.resource_begin(current);
    const int64_t current_end = game.resource_begin(current + 1);
    for (int32_t s = 0; s < n; ++s) {
        const int64_t t = first + s;
        for (int64_t k = game.resource_begin(t); k < game.resource_begin(t + 1); ++k) {
            const int32_t r = game.resource(k);
            bool occupied = false;
            for (int64_t c = current_begin; c < current_end; ++c) occupied |= game.resource(c) == r;
            cost[s] += game.load_cost(r, loads[r] + (occupied ? 0 : 1));
        }
    }
}

Reply best_reply(const double* cost, int32_t num_strategies, int32_t current,
                 const ImprovementTolerance& tolerance) {
    int32_t best = 0;
    for (int32_t s = 1; s < num_strategies; ++s) {
        if (cost[s] < cost[best]) best = s;
    }
    const double gain = cost[current] - cost[best];
    const bool move = gain > tolerance.margin(cost[current], cost[best]);
    return {move ? best : current, best, gain};
}

}  // namespace dilmodeli::nash
