// Input that would not make a potential game, or not a well-formed one, is rejected with an
// Error(Usage) that says what is wrong.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "nash/best_response.h"
#include "nash/game_builder.h"

using namespace dilmodeli::nash;

namespace {

void require_usage_error(const std::function<void()>& action, const std::string& phrase) {
    try {
        action();
    } catch (const dilmodeli::Error& e) {
        CHECK(e.kind() == dilmodeli::ErrorKind::Usage);
        CHECK_THAT(e.what(), Catch::Contains(phrase));
        return;
    }
    FAIL("no error; expected one containing \"" << phrase << "\"");
}

GameBuilder three_players() {
    GameBuilder builder;
    for (int i = 0; i < 3; ++i) builder.add_player({0.0, 1.0});
    builder.add_kernel(2, {0.0, 1.0, 1.0, 0.0});
    return builder;
}

}  // namespace

TEST_CASE("asymmetric coupling is rejected", "[nash]") {
    // A cyclic preference needs w_ij(a, b) != w_ji(b, a); it cannot get past the builder.
    GameBuilder weights = three_players();
    weights.add_neighbour(0, 1, 0, 1.0);
    weights.add_neighbour(1, 0, 0, 2.0);
    require_usage_error([&] { weights.build(); }, "coupling of players 0 and 1 is not symmetric");

    GameBuilder kernels = three_players();
    kernels.add_kernel(2, {0.0, 1.0, 1.0, 0.0});
    kernels.add_neighbour(0, 1, 0, 1.0);
    kernels.add_neighbour(1, 0, 1, 1.0);
    require_usage_error([&] { kernels.build(); }, "not symmetric");

    GameBuilder table = three_players();
    require_usage_error(
        [&] {
            table.add_kernel(2, {0.0, 1.0, 3.0, 0.0});
        },
        "coupling kernel 1 is not symmetric: K(0, 1) = 1 but K(1, 0) = 3");

    GameBuilder one_way = three_players();
    one_way.add_neighbour(2, 0, 0, 1.0);
    require_usage_error([&] { one_way.build(); }, "2 -> 0 has no mirror entry 0 -> 2");

    // Rounding-level differences are accepted, and one value is used for both directions.
    GameBuilder nearly = three_players();
    nearly.add_neighbour(0, 1, 0, 0.1 + 0.2);
    nearly.add_neighbour(1, 0, 0, 0.3);
    const Game game = nearly.build();
    CHECK(game.coupling_weight(game.neighbour_begin(0)) ==
          game.coupling_weight(game.neighbour_begin(1)));
}

TEST_CASE("malformed games are rejected with a message", "[nash]") {
    require_usage_error([] { GameBuilder().add_player({}); }, "player 0 has no strategies");
    require_usage_error([] { GameBuilder().add_player({0.0, std::nan("")}); }, "not finite");

    GameBuilder bytes = three_players();
    require_usage_error([&] { bytes.set_bytes(1, {1.0}); }, "player 1 has 2 strategies but 1");
    require_usage_error([&] { bytes.set_bytes(1, {1.0, -2.0}); }, ">= 0");
    require_usage_error([&] { bytes.set_bytes(3, {1.0, 2.0}); }, "no player 3");

    GameBuilder self = three_players();
    require_usage_error([&] { self.add_neighbour(1, 1, 0, 1.0); }, "its own neighbour");

    GameBuilder twice = three_players();
    twice.add_edge(0, 1, 0, 1.0);
    twice.add_edge(0, 1, 0, 1.0);
    require_usage_error([&] { twice.build(); }, "given twice");

    GameBuilder crowded(1);
    for (int i = 0; i < 3; ++i) crowded.add_player({0.0});
    crowded.add_kernel(1, {0.0});
    crowded.add_edge(0, 1, 0, 1.0);
    crowded.add_edge(0, 2, 0, 1.0);
    require_usage_error([&] { crowded.build(); },
                        "player 0 has 2 neighbours, more than the limit k = 1");

    GameBuilder labels = three_players();
    labels.set_labels(2, {0, 5});
    labels.add_edge(1, 2, 0, 1.0);
    require_usage_error([&] { labels.build(); }, "player 2 has label 5 but kernel 0 has 2 labels");

    GameBuilder short_curve = three_players();
    const int32_t r = short_curve.add_resource({1.0, 2.0});
    for (int i = 0; i < 3; ++i) short_curve.add_strategy_resources(i, 1, {r});
    require_usage_error([&] { short_curve.build(); }, "covers 2 occupants but 3 players");
    require_usage_error([&] { short_curve.add_strategy_resources(0, 0, {7}); }, "no resource 7");

    GameBuilder repeated = three_players();
    repeated.add_resource({1.0, 2.0, 3.0});
    repeated.add_strategy_resources(0, 0, {0, 0});
    require_usage_error([&] { repeated.build(); }, "lists resource 0 twice");

    const Game game = three_players().build();
    SolveOptions options;
    options.initial = {0, 2, 0};
    require_usage_error([&] { solve_equilibrium(game, options); },
                        "gives player 1 strategy 2 of 2");
    options.initial = {0, 1};
    require_usage_error([&] { solve_equilibrium(game, options); }, "2 strategies for 3 players");
}

TEST_CASE("a game without players or neighbours is trivially at equilibrium", "[nash]") {
    const SolveReport empty = solve_equilibrium(GameBuilder().build());
    CHECK(empty.converged);
    CHECK(empty.sweeps == 1);
    CHECK(empty.strategy.empty());
    CHECK(empty.check.is_equilibrium);
    CHECK(empty.check.player == -1);

    GameBuilder loners;
    loners.add_player({3.0, 1.0, 2.0});
    loners.add_player({0.0, 0.0});
    const SolveReport report = solve_equilibrium(loners.build());
    CHECK(report.strategy == Profile{1, 0});  // cheapest; ties to the lowest index
    CHECK(report.moves == 0);
    CHECK(report.potential == 1.0);
}
