// Random games with every feature (strategy sets of different sizes, labels, several kernels,
// neighbours from features, congestion for some players): the potential matches the players'
// costs, and the results are deterministic and the same serially and in parallel.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

#include "nash/best_response.h"
#include "nash/game_builder.h"
#include "nash/neighbours.h"
#include "nash/player_costs.h"
#include "nash/potential.h"

using namespace dilmodeli::nash;

namespace {

double uniform(std::mt19937_64& rng) { return double(rng() >> 11) / double(1ull << 53); }

// `resource_share` of the players (every n-th) also pick experts: each strategy occupies 1 or 2
// of 6 resources with a rising load curve.
Game random_game(int32_t n, uint64_t seed, int32_t resource_every = 0) {
    std::mt19937_64 rng(seed);
    std::vector<float> features(size_t(n) * 3);
    for (auto& f : features) f = float(uniform(rng));
    const NeighbourLists neighbours = nearest_neighbours(features.data(), n, 3, 7);

    GameBuilder builder;
    const int32_t labels = 6;
    std::vector<double> a(labels * labels), b(labels * labels);
    for (int32_t x = 0; x < labels; ++x) {
        for (int32_t y = 0; y <= x; ++y) {
            a[x * labels + y] = a[y * labels + x] = uniform(rng);
            b[x * labels + y] = b[y * labels + x] = x == y ? 0.0 : 1.0;
        }
    }
    const int32_t kernels[2] = {builder.add_kernel(labels, a), builder.add_kernel(labels, b)};
    const int32_t resources = resource_every > 0 ? 6 : 0;
    for (int32_t r = 0; r < resources; ++r) {
        std::vector<double> curve(static_cast<size_t>(n));
        for (int32_t l = 1; l <= n; ++l) curve[l - 1] = 0.05 * l + (l > n / 4 ? 0.01 * l * l : 0.0);
        builder.add_resource(curve);
    }
    for (int32_t i = 0; i < n; ++i) {
        const int32_t strategies = 2 + int32_t(rng() % 7);
        std::vector<double> cost(static_cast<size_t>(strategies));
        std::vector<int32_t> label(static_cast<size_t>(strategies));
        for (int32_t s = 0; s < strategies; ++s) {
            cost[s] = uniform(rng);
            label[s] = int32_t(rng() % labels);
        }
        builder.add_player(cost);
        builder.set_labels(i, label);
        if (resource_every > 0 && i % resource_every == 0) {
            for (int32_t s = 0; s < strategies; ++s) {
                const auto r0 = int32_t(rng() % resources);
                const auto r1 = int32_t(rng() % resources);
                builder.add_strategy_resources(
                    i, s, r0 == r1 ? std::vector<int32_t>{r0} : std::vector<int32_t>{r0, r1});
            }
        }
    }
    for (int32_t i = 0; i < n; ++i) {
        for (int64_t e = neighbours.begin[i]; e < neighbours.begin[i + 1]; ++e) {
            const int32_t j = neighbours.index[e];
            if (j < i) continue;
            builder.add_edge(i, j, kernels[(i + j) % 2], 0.2 + uniform(rng));
        }
    }
    return builder.build();
}

void require_identical(const SolveReport& x, const SolveReport& y) {
    REQUIRE(x.strategy == y.strategy);
    CHECK(x.potential == y.potential);  // bit for bit
    CHECK(x.sweeps == y.sweeps);
    CHECK(x.moves == y.moves);
    CHECK(x.converged == y.converged);
    CHECK(x.potential_trace == y.potential_trace);
    CHECK(x.moves_trace == y.moves_trace);
    CHECK(x.check.largest_gain == y.check.largest_gain);
}

}  // namespace

TEST_CASE("a unilateral move changes Phi by exactly the mover's change in cost", "[nash]") {
    const Game game = random_game(300, 11, 5);
    std::mt19937_64 rng(5);
    Profile profile = random_profile(game, 3);
    std::vector<double> cost(size_t(game.max_strategies()));
    for (int trial = 0; trial < 500; ++trial) {
        const auto i = int32_t(rng() % uint64_t(game.num_players()));
        const auto s = int32_t(rng() % uint64_t(game.num_strategies(i)));
        const auto loads = resource_loads(game, profile);
        strategy_costs(game, profile.data(), loads.data(), i, 0.3, cost.data());
        const double before = potential(game, profile, 0.3);
        const int32_t current = profile[i];
        profile[i] = s;
        const double after = potential(game, profile, 0.3);
        INFO("player " << i << " from " << current << " to " << s);
        REQUIRE(after - before == Approx(cost[s] - cost[current]).margin(1e-9));
    }
}

TEST_CASE("determinism: same input, same result; parallel equals serial", "[nash]") {
    for (const int32_t resource_every : {0, 4}) {
        const Game game = random_game(3000, 99, resource_every);
        INFO("resource_every " << resource_every);
        SolveOptions options;
        options.initial = random_profile(game, 1234);
        options.record_trace = true;
        options.execution = SweepExecution::serial;
        const SolveReport serial = solve_equilibrium(game, options);
        REQUIRE(serial.converged);
        CHECK(serial.sweeps > 2);
        CHECK(serial.check.is_equilibrium);
        CHECK(serial.check.largest_gain <= 1e-9);
        for (size_t s = 1; s < serial.potential_trace.size(); ++s) {
            if (serial.moves_trace[s - 1] > 0) {
                CHECK(serial.potential_trace[s] < serial.potential_trace[s - 1]);
            } else {
                CHECK(serial.potential_trace[s] == serial.potential_trace[s - 1]);
            }
        }
        require_identical(serial, solve_equilibrium(game, options));

        options.execution = SweepExecution::parallel;
        for (const int32_t threads : {2, 1, 0}) {
            options.threads = threads;
            INFO("threads " << threads);
            require_identical(serial, solve_equilibrium(game, options));
        }
        // The same game built again from the same seed plays the same way.
        options.threads = 2;
        require_identical(serial,
                          solve_equilibrium(random_game(3000, 99, resource_every), options));
    }
}
