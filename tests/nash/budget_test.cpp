// A byte budget met through a price per byte: bisection finds the smallest price whose
// equilibrium fits.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/error.h"
#include "nash/budget.h"
#include "nash/game_builder.h"

using namespace dilmodeli::nash;

namespace {

// Two tensors, each either 4-bit (4 bytes) or 8-bit (8 bytes), with errors 10 and 20 at 4 bits
// and 0 at 8 bits. Without a price both take 8 bits (16 bytes). Player 0 gives up 4 bytes for
// 10 of error: it switches at price 10 / 4 = 2.5; player 1 at 20 / 4 = 5.
Game two_tensors() {
    GameBuilder builder;
    builder.add_player({10.0, 0.0});
    builder.add_player({20.0, 0.0});
    builder.set_bytes(0, {4.0, 8.0});
    builder.set_bytes(1, {4.0, 8.0});
    return builder.build();
}

}  // namespace

TEST_CASE("a budget that binds exactly finds the critical price", "[nash]") {
    const Game game = two_tensors();
    BudgetOptions options;
    options.relative_tolerance = 1e-9;

    const BudgetReport one = solve_with_budget(game, 12.0, options);
    REQUIRE(one.binding);
    CHECK(one.bytes == 12.0);
    CHECK(one.price == Approx(2.5).epsilon(1e-8));
    CHECK(one.price >= 2.5);
    CHECK(one.equilibrium.strategy == Profile{0, 1});
    CHECK(one.equilibrium.check.is_equilibrium);
    CHECK(one.tolerance_reached);
    CHECK(one.all_converged);
    // The price just below does not fit: the budget binds.
    CHECK(one.price - one.price_below <= 1e-9 * one.price);
    CHECK(one.bytes_below > 12.0);
    SolveOptions below;
    below.price = one.price_below;
    CHECK(solve_equilibrium(game, below).bytes == 16.0);

    const BudgetReport both = solve_with_budget(game, 8.0, options);
    CHECK(both.bytes == 8.0);
    CHECK(both.price == Approx(5.0).epsilon(1e-8));
    CHECK(both.equilibrium.strategy == Profile{0, 0});

    // A budget between the steps is met by the same price as the step below it.
    CHECK(solve_with_budget(game, 13.0, options).price == Approx(2.5).epsilon(1e-8));
}

TEST_CASE("a budget that does not bind gives price 0", "[nash]") {
    const BudgetReport report = solve_with_budget(two_tensors(), 16.0);
    CHECK_FALSE(report.binding);
    CHECK(report.price == 0.0);
    CHECK(report.bytes == 16.0);
    CHECK(report.solves == 1);
    CHECK(report.equilibrium.strategy == Profile{1, 1});
}

TEST_CASE("an infeasible budget is an error naming the least possible bytes", "[nash]") {
    try {
        solve_with_budget(two_tensors(), 7.0);
        FAIL("no error for a budget below the smallest strategies");
    } catch (const dilmodeli::Error& e) {
        CHECK(e.kind() == dilmodeli::ErrorKind::Usage);
        CHECK_THAT(e.what(), Catch::Contains("cannot be met") && Catch::Contains("8 bytes"));
    }
    CHECK(minimum_bytes(two_tensors()) == 8.0);
}

TEST_CASE("bit widths with a smoothness coupling meet a budget", "[nash]") {
    // 40 tensors in a chain; each picks a bit width (odd tensors lack 3 and 5 bits), with error
    // importance * 4^-bits, bytes = bits * size / 8, and mu * |bits_i - bits_j| between
    // neighbours, expressed through labels = bits and one kernel K(x, y) = |x - y|.
    GameBuilder builder;
    std::vector<double> bits_table(9 * 9);
    for (int x = 0; x < 9; ++x) {
        for (int y = 0; y < 9; ++y) bits_table[size_t(x) * 9 + y] = std::abs(x - y);
    }
    const int32_t bits_kernel = builder.add_kernel(9, bits_table);
    const int32_t n = 40;
    double largest = 0;
    for (int32_t i = 0; i < n; ++i) {
        const std::vector<int32_t> widths =
            i % 2 == 0 ? std::vector<int32_t>{2, 3, 4, 5, 6, 8} : std::vector<int32_t>{2, 4, 6, 8};
        const double importance = 1.0 + (i * 37 % 11);
        const double size = 1000.0 * (1 + i % 4);
        std::vector<double> error, bytes;
        for (const int32_t b : widths) {
            error.push_back(importance * std::pow(4.0, -b));
            bytes.push_back(b * size / 8);
        }
        builder.add_player(error);
        builder.set_bytes(i, bytes);
        builder.set_labels(i, widths);
        largest += bytes.back();
    }
    for (int32_t i = 0; i + 1 < n; ++i) builder.add_edge(i, i + 1, bits_kernel, 1e-4);
    const Game game = builder.build();

    const double budget = 0.55 * largest;
    const BudgetReport report = solve_with_budget(game, budget);
    REQUIRE(report.binding);
    CHECK(report.bytes <= budget);
    CHECK(report.bytes_below > budget);
    CHECK(report.price - report.price_below <= 1e-6 * report.price);
    CHECK(report.tolerance_reached);
    CHECK(report.all_converged);
    CHECK(report.equilibrium.check.is_equilibrium);
    CHECK(report.equilibrium.bytes == report.bytes);
}
