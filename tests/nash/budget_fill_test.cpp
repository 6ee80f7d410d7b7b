// The budget fill: after the price, moves that fit the slack until nobody can improve alone
// within the budget.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "common/error.h"
#include "nash/budget.h"
#include "nash/budget_fill.h"
#include "nash/game_builder.h"
#include "nash/player_costs.h"
#include "nash/potential.h"

using namespace dilmodeli::nash;

namespace {

// Brute force: the largest saving any player gets from a move that keeps the total in budget.
double largest_feasible_gain(const Game& game, const Profile& profile, double budget) {
    const double used = total_bytes(game, profile);
    const std::vector<int32_t> loads = resource_loads(game, profile);
    std::vector<double> cost(size_t(game.max_strategies()));
    double largest = 0;
    for (int32_t i = 0; i < game.num_players(); ++i) {
        strategy_costs(game, profile.data(), loads.data(), i, 0.0, cost.data());
        const int32_t now = profile[size_t(i)];
        for (int32_t s = 0; s < game.num_strategies(i); ++s)
            if (used - game.bytes(i, now) + game.bytes(i, s) <= budget)
                largest = std::max(largest, cost[size_t(now)] - cost[size_t(s)]);
    }
    return largest;
}

}  // namespace

TEST_CASE("the fill spends the slack a discrete price leaves", "[nash]") {
    // Player 0: 4 or 8 bytes (error 10 or 0): 2.5 saved per extra byte. Player 1: 4 or 12
    // bytes (error 40 or 0): 5 per byte. Both start small (8 bytes), as a high price leaves them.
    GameBuilder builder;
    builder.add_player({10.0, 0.0});
    builder.add_player({40.0, 0.0});
    builder.set_bytes(0, {4.0, 8.0});
    builder.set_bytes(1, {4.0, 12.0});
    const Game game = builder.build();
    // 13 bytes: only player 0's upgrade (+4) fits.
    const FillReport small = fill_budget(game, Profile{0, 0}, 13.0);
    CHECK(small.strategy == Profile{1, 0});
    CHECK(small.bytes == 12.0);
    CHECK(small.moves == 1);
    CHECK(small.is_equilibrium);
    CHECK(small.largest_feasible_gain == 0.0);
    // 17 bytes: both fit alone; the better per byte (player 1) goes first, then player 0's no
    // longer fits.
    const FillReport middle = fill_budget(game, Profile{0, 0}, 17.0);
    CHECK(middle.strategy == Profile{0, 1});
    CHECK(middle.bytes == 16.0);
    CHECK(middle.largest_feasible_gain == 0.0);
    // 21 bytes: both.
    const FillReport large = fill_budget(game, Profile{0, 0}, 21.0);
    CHECK(large.strategy == Profile{1, 1});
    CHECK(large.moves == 2);
    // A profile over the budget is refused.
    CHECK_THROWS_AS(fill_budget(game, Profile{1, 1}, 17.0), dilmodeli::Error);
}

TEST_CASE("after price and fill no player can improve within the budget", "[nash]") {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (int trial = 0; trial < 20; ++trial) {
        GameBuilder builder(3);
        const int32_t players = 30;
        for (int32_t i = 0; i < players; ++i) {
            // Five "bit widths": fewer bytes, more error, with random steps.
            std::vector<double> cost, bytes;
            std::vector<int32_t> labels;
            double c = 0, b = 64;
            for (int32_t s = 0; s < 5; ++s) {
                cost.push_back(c);
                bytes.push_back(b);
                labels.push_back(s);
                c += 1 + 10 * unit(rng);
                b -= 8 + int(8 * unit(rng));
            }
            builder.add_player(cost);
            builder.set_bytes(i, bytes);
            builder.set_labels(i, labels);
        }
        std::vector<double> table(25);
        for (int a = 0; a < 5; ++a)
            for (int b = 0; b < 5; ++b) table[size_t(a * 5 + b)] = std::abs(a - b);
        const int32_t kernel = builder.add_kernel(5, table);
        for (int32_t i = 0; i + 1 < players; ++i) builder.add_edge(i, i + 1, kernel, 0.3 * unit(rng));
        const Game game = builder.build();
        const double budget = minimum_bytes(game) + 400 + 300 * unit(rng);
        BudgetOptions options;
        options.relative_tolerance = 1e-9;
        const BudgetReport priced = solve_with_budget(game, budget, options);
        const FillReport filled = fill_budget(game, priced.equilibrium.strategy, budget);
        INFO("trial " << trial);
        CHECK(filled.bytes <= budget);
        CHECK(filled.bytes >= priced.bytes);
        CHECK(filled.potential <= potential(game, priced.equilibrium.strategy, 0.0));
        CHECK(largest_feasible_gain(game, filled.strategy, budget) <= 1e-9);
        CHECK(filled.largest_feasible_gain <= 1e-9);
        // Deterministic.
        CHECK(fill_budget(game, priced.equilibrium.strategy, budget).strategy == filled.strategy);
    }
}
