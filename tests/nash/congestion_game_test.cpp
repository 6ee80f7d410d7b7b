// Congestion games: players choosing resources whose cost is their load settle at a balanced
// load, whether a strategy occupies one resource or several.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "nash/best_response.h"
#include "nash/game_builder.h"
#include "nash/potential.h"

using namespace dilmodeli::nash;

namespace {

std::vector<double> linear_load_curve(int32_t max_load) {
    std::vector<double> curve(static_cast<size_t>(max_load));
    for (int32_t l = 1; l <= max_load; ++l) curve[l - 1] = double(l);
    return curve;
}

// `players` players each choose `per_player` of `resources` identical resources with g(l) = l;
// strategies enumerate the subsets in lexicographic order.
Game subset_congestion_game(int32_t players, int32_t resources, int32_t per_player) {
    std::vector<std::vector<int32_t>> subsets;
    std::vector<int32_t> pick(static_cast<size_t>(per_player));
    for (int32_t k = 0; k < per_player; ++k) pick[k] = k;
    for (;;) {
        subsets.push_back(pick);
        int32_t k = per_player - 1;
        while (k >= 0 && pick[k] == resources - per_player + k) --k;
        if (k < 0) break;
        pick[k]++;
        for (int32_t m = k + 1; m < per_player; ++m) pick[m] = pick[m - 1] + 1;
    }
    GameBuilder builder;
    for (int32_t r = 0; r < resources; ++r) builder.add_resource(linear_load_curve(players));
    for (int32_t i = 0; i < players; ++i) {
        builder.add_player(std::vector<double>(subsets.size(), 0.0));
        for (size_t s = 0; s < subsets.size(); ++s)
            builder.add_strategy_resources(i, int32_t(s), subsets[s]);
    }
    return builder.build();
}

}  // namespace

TEST_CASE("singleton congestion: N players on M identical resources balance", "[nash]") {
    for (const auto& [players, resources] :
         std::vector<std::pair<int32_t, int32_t>>{{10, 3}, {101, 7}, {64, 8}, {5, 9}}) {
        const Game game = subset_congestion_game(players, resources, 1);
        for (const auto execution : {SweepExecution::serial, SweepExecution::parallel}) {
            SolveOptions options;
            options.execution = execution;
            options.record_trace = true;
            const SolveReport report = solve_equilibrium(game, options);
            INFO(players << " players, " << resources << " resources");
            REQUIRE(report.converged);
            CHECK(report.check.is_equilibrium);
            CHECK(report.check.largest_gain == 0.0);
            const auto loads = resource_loads(game, report.strategy);
            const auto [lo, hi] = std::minmax_element(loads.begin(), loads.end());
            CHECK(*hi - *lo <= 1);
            for (size_t s = 1; s < report.potential_trace.size(); ++s) {
                CHECK(report.potential_trace[s] <= report.potential_trace[s - 1]);
            }
        }
    }
    // Everyone starts on resource 0 (ties go to the lowest index): 10 on 3 ends as 4, 3, 3.
    const SolveReport report = solve_equilibrium(subset_congestion_game(10, 3, 1));
    CHECK(resource_loads(subset_congestion_game(10, 3, 1), report.strategy) ==
          std::vector<int32_t>{4, 3, 3});
}

TEST_CASE("k-subset congestion (tokens choosing 2 of 5 experts) balances", "[nash]") {
    const Game game = subset_congestion_game(23, 5, 2);
    REQUIRE(game.num_strategies(0) == 10);
    const SolveReport report = solve_equilibrium(game);
    REQUIRE(report.converged);
    CHECK(report.check.is_equilibrium);
    const auto loads = resource_loads(game, report.strategy);
    int32_t occupied = 0;
    for (const int32_t l : loads) occupied += l;
    CHECK(occupied == 46);
    const auto [lo, hi] = std::minmax_element(loads.begin(), loads.end());
    CHECK(*hi - *lo <= 1);
}

TEST_CASE("a falling load curve (shared cache) gathers players", "[nash]") {
    // g(l) = 1 / l: a resource's loading cost shared by its occupants. Private costs favour
    // resource 1 slightly for a few players only; everyone ends on one resource.
    GameBuilder builder;
    const int32_t players = 12;
    std::vector<double> shared(players);
    for (int32_t l = 1; l <= players; ++l) shared[l - 1] = 1.0 / l;
    builder.add_resource(shared);
    builder.add_resource(shared);
    for (int32_t i = 0; i < players; ++i) {
        builder.add_player(i < 3 ? std::vector<double>{0.01, 0.0} : std::vector<double>{0.0, 0.01});
        builder.add_strategy_resources(i, 0, {0});
        builder.add_strategy_resources(i, 1, {1});
    }
    const Game game = builder.build();
    const SolveReport report = solve_equilibrium(game);
    REQUIRE(report.converged);
    CHECK(report.check.is_equilibrium);
    const auto loads = resource_loads(game, report.strategy);
    CHECK(std::max(loads[0], loads[1]) == players);
}
