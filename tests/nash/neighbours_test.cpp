// k nearest neighbours by features: exact (against brute force, ties included), then
// symmetric and capped at k.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "nash/game_builder.h"
#include "nash/neighbours.h"

using namespace dilmodeli::nash;

namespace {

std::vector<std::pair<double, int32_t>> brute_force(const std::vector<float>& x, int32_t n,
                                                    int32_t dim, int32_t p, int32_t k) {
    std::vector<std::pair<double, int32_t>> all;
    for (int32_t q = 0; q < n; ++q) {
        if (q == p) continue;
        double d = 0;
        for (int32_t c = 0; c < dim; ++c) {
            const double diff = double(x[size_t(p) * dim + c]) - double(x[size_t(q) * dim + c]);
            d += diff * diff;
        }
        all.emplace_back(d, q);
    }
    std::sort(all.begin(), all.end());
    all.resize(size_t(std::min<int64_t>(k, int64_t(all.size()))));
    return all;
}

void check_exact(const std::vector<float>& x, int32_t n, int32_t dim, int32_t k) {
    const NeighbourLists lists = k_nearest(x.data(), n, dim, k);
    REQUIRE(lists.num_points() == n);
    for (int32_t p = 0; p < n; ++p) {
        const auto expected = brute_force(x, n, dim, p, k);
        REQUIRE(lists.degree(p) == int32_t(expected.size()));
        for (int32_t m = 0; m < lists.degree(p); ++m) {
            INFO("point " << p << " rank " << m);
            REQUIRE(lists.index[lists.begin[p] + m] == expected[m].second);
            REQUIRE(lists.distance[lists.begin[p] + m] == expected[m].first);
        }
    }
}

}  // namespace

TEST_CASE("k_nearest is exact on random points and on a grid full of ties", "[nash]") {
    std::mt19937_64 rng(42);
    std::vector<float> random_points(1500 * 4);
    for (auto& v : random_points) v = float(int64_t(rng() % 100000)) / 1000.0f;
    check_exact(random_points, 1500, 4, 7);

    std::vector<float> grid;
    for (int y = 0; y < 25; ++y) {
        for (int x = 0; x < 25; ++x) {
            grid.push_back(float(x));
            grid.push_back(float(y));
        }
    }
    check_exact(grid, 625, 2, 7);
    check_exact(grid, 625, 2, 1);

    std::vector<float> same(10 * 3, 1.0f);  // identical points: ranked by index
    check_exact(same, 10, 3, 7);
    check_exact(same, 3, 3, 7);  // fewer points than k
}

TEST_CASE("nearest_neighbours are symmetric, at most k, and keep every mutual pair", "[nash]") {
    std::mt19937_64 rng(7);
    const int32_t n = 4000, dim = 3, k = 7;
    std::vector<float> x(size_t(n) * dim);
    // Clusters of very different density make one-sided nearest-neighbour relations common.
    for (int32_t p = 0; p < n; ++p) {
        const float spread = p % 3 == 0 ? 0.01f : 1.0f;
        for (int32_t c = 0; c < dim; ++c) {
            x[size_t(p) * dim + c] = spread * float(rng() % 100000) / 100000.0f;
        }
    }
    const NeighbourLists directed = k_nearest(x.data(), n, dim, k);
    const NeighbourLists lists = nearest_neighbours(x.data(), n, dim, k);

    std::set<std::pair<int32_t, int32_t>> directed_pairs, kept;
    for (int32_t p = 0; p < n; ++p) {
        for (int64_t e = directed.begin[p]; e < directed.begin[p + 1]; ++e) {
            directed_pairs.emplace(p, directed.index[e]);
        }
        REQUIRE(lists.degree(p) <= k);
        for (int64_t e = lists.begin[p]; e < lists.begin[p + 1]; ++e) {
            const int32_t q = lists.index[e];
            REQUIRE(q != p);
            if (e > lists.begin[p]) REQUIRE(lists.index[e - 1] < q);  // sorted, no repeats
            kept.emplace(p, q);
        }
    }
    int64_t mutual = 0, one_sided = 0;
    for (const auto& [p, q] : directed_pairs) {
        const bool is_mutual = directed_pairs.count({q, p}) > 0;
        mutual += is_mutual;
        one_sided += !is_mutual;
        if (is_mutual) REQUIRE(kept.count({p, q}) == 1);
    }
    CHECK(one_sided > 0);  // the cap had something to decide
    for (const auto& [p, q] : kept) {
        REQUIRE(kept.count({q, p}) == 1);
        REQUIRE(directed_pairs.count({p, q}) + directed_pairs.count({q, p}) > 0);
    }

    // The lists feed the game builder as they are.
    GameBuilder builder(k);
    for (int32_t p = 0; p < n; ++p) builder.add_player({0.0, 1.0});
    const int32_t kernel = builder.add_kernel(2, {0.0, 1.0, 1.0, 0.0});
    for (int32_t p = 0; p < n; ++p) {
        for (int64_t e = lists.begin[p]; e < lists.begin[p + 1]; ++e) {
            builder.add_neighbour(p, lists.index[e], kernel, 1.0 / (1.0 + lists.distance[e]));
        }
    }
    const Game game = builder.build();
    CHECK(game.num_players() == n);
}
