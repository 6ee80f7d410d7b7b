// Coordination games (players prefer to agree with their neighbours): known equilibria, the
// equilibrium check, the potential's descent and the sweep limit.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "nash/best_response.h"
#include "nash/game_builder.h"
#include "nash/potential.h"

using namespace dilmodeli::nash;

namespace {

// Potts coupling: cost 1 when two neighbours disagree.
int32_t add_disagreement_kernel(GameBuilder& builder, int32_t num_labels) {
    std::vector<double> table(size_t(num_labels) * num_labels, 1.0);
    for (int32_t x = 0; x < num_labels; ++x) table[size_t(x) * num_labels + x] = 0.0;
    return builder.add_kernel(num_labels, table);
}

// A path of 10 players; player i slightly prefers strategy i % 2 (by 0.1), so the cheapest
// private profile alternates 0,1,0,1,...; disagreement costs 1, which dominates.
Game alternating_path() {
    GameBuilder builder;
    for (int32_t i = 0; i < 10; ++i) {
        builder.add_player(i % 2 == 0 ? std::vector<double>{0.0, 0.1}
                                      : std::vector<double>{0.1, 0.0});
    }
    const int32_t potts = add_disagreement_kernel(builder, 2);
    for (int32_t i = 0; i + 1 < 10; ++i) builder.add_edge(i, i + 1, potts, 1.0);
    return builder.build();
}

}  // namespace

TEST_CASE("coordination on a path: coupling dominates and everyone agrees", "[nash]") {
    const Game game = alternating_path();
    for (const auto execution : {SweepExecution::serial, SweepExecution::parallel}) {
        SolveOptions options;
        options.execution = execution;
        options.record_trace = true;
        const SolveReport report = solve_equilibrium(game, options);
        // Colour 0 (the even players) plays first and joins its neighbours' strategy 1; then
        // nobody wants to move.
        REQUIRE(report.converged);
        CHECK(report.colours == 2);
        CHECK(report.sweeps == 2);
        CHECK(report.moves == 5);
        CHECK(report.strategy == Profile(10, 1));
        CHECK(report.check.is_equilibrium);
        CHECK(report.check.largest_gain == 0.0);
        // Phi: 9 disagreements at the start; 5 players paying 0.1 at the end.
        REQUIRE(report.potential_trace.size() == 3);
        CHECK(report.potential_trace[0] == Approx(9.0));
        CHECK(report.potential_trace[1] == Approx(0.5));
        CHECK(report.potential_trace[2] == Approx(0.5));
        CHECK(report.potential == Approx(0.5));
        CHECK(report.moves_trace == std::vector<int64_t>{5, 0});
    }
}

TEST_CASE("coordination on a ring from a random start: equilibrium, Phi descends", "[nash]") {
    // 200 players, 4 strategies with small random private costs, each coupled to the 2 players
    // on either side (4 neighbours).
    GameBuilder builder;
    const int32_t n = 200;
    uint64_t state = 12345;
    auto next_unit = [&state] {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return double(state >> 11) / double(1ull << 53);
    };
    for (int32_t i = 0; i < n; ++i) {
        builder.add_player(
            {0.2 * next_unit(), 0.2 * next_unit(), 0.2 * next_unit(), 0.2 * next_unit()});
    }
    const int32_t potts = add_disagreement_kernel(builder, 4);
    for (int32_t i = 0; i < n; ++i) {
        builder.add_edge(i, (i + 1) % n, potts, 1.0);
        builder.add_edge(i, (i + 2) % n, potts, 0.5);
    }
    const Game game = builder.build();

    SolveOptions options;
    options.initial = random_profile(game, 7);
    options.record_trace = true;
    const SolveReport report = solve_equilibrium(game, options);
    REQUIRE(report.converged);
    CHECK(report.moves > 0);
    CHECK(report.check.is_equilibrium);
    CHECK(report.check.largest_gain <= 1e-12);
    for (size_t s = 1; s < report.potential_trace.size(); ++s) {
        INFO("sweep " << s);
        CHECK(report.potential_trace[s] <= report.potential_trace[s - 1]);
    }
    CHECK(report.potential_trace.back() < report.potential_trace.front());
    CHECK(report.potential == potential(game, report.strategy));

    // Agreement with neighbours: with disagreement costing 1.5 per pair at least, a player
    // agrees with most of its ring neighbours at equilibrium.
    int64_t agreeing_pairs = 0;
    for (int32_t i = 0; i < n; ++i)
        agreeing_pairs += report.strategy[i] == report.strategy[(i + 1) % n];
    CHECK(agreeing_pairs > n / 2);
}

TEST_CASE("a sweep limit that is too small reports not converged", "[nash]") {
    const Game game = alternating_path();
    SolveOptions options;
    options.max_sweeps = 1;
    const SolveReport report = solve_equilibrium(game, options);
    CHECK_FALSE(report.converged);
    CHECK(report.sweeps == 1);
    CHECK(report.moves == 5);
    // The profile reached happens to be an equilibrium, but only a quiet sweep proves
    // convergence; the independent check says so.
    CHECK(report.check.is_equilibrium);

    options.max_sweeps = 0;
    const SolveReport none = solve_equilibrium(game, options);
    CHECK_FALSE(none.converged);
    CHECK(none.sweeps == 0);
    CHECK_FALSE(none.check.is_equilibrium);
    // An inner player pays 2 for disagreeing both ways, or 0.1 for giving up its preference.
    CHECK(none.check.largest_gain == Approx(1.9));
    CHECK(none.check.player == 1);
}
