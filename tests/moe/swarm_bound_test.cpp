// The swarm bound is the exact optimum of "each token takes k distinct experts of its g best":
// checked by hand, against brute force on small random batches, and against a real router.
#include <catch2/catch.hpp>
#include <algorithm>
#include <functional>
#include <random>

#include "common/error.h"
#include "moe/router.h"
#include "moe/swarm_bound.h"

using namespace dilmodeli;

namespace {

// Every assignment of k distinct experts among each token's top-g, smallest max load.
int64_t brute_force(const std::vector<float>& probs, int64_t tokens, int64_t experts, int64_t k, int64_t group) {
    std::vector<std::vector<std::vector<int32_t>>> choices(static_cast<size_t>(tokens));
    for (int64_t t = 0; t < tokens; ++t) {
        std::vector<int32_t> candidates(static_cast<size_t>(group));
        moe::top_k_indices(probs.data() + t * experts, experts, group, candidates.data());
        std::vector<bool> pick(size_t(group), false);
        std::fill(pick.begin(), pick.begin() + k, true);
        do {
            std::vector<int32_t> subset;
            for (int64_t i = 0; i < group; ++i)
                if (pick[size_t(i)]) subset.push_back(candidates[size_t(i)]);
            choices[size_t(t)].push_back(subset);
        } while (std::prev_permutation(pick.begin(), pick.end()));
    }
    int64_t best = tokens * k;
    std::vector<int64_t> load(static_cast<size_t>(experts), 0);
    std::function<void(int64_t)> search = [&](int64_t t) {
        if (t == tokens) {
            best = std::min(best, *std::max_element(load.begin(), load.end()));
            return;
        }
        for (const auto& subset : choices[size_t(t)]) {
            for (int32_t e : subset) ++load[size_t(e)];
            search(t + 1);
            for (int32_t e : subset) --load[size_t(e)];
        }
    };
    search(0);
    return best;
}

}  // namespace

TEST_CASE("swarm bound: tokens that all want one expert", "[moe]") {
    // Four tokens, four experts; every token ranks 0 > 1 > 2 > 3.
    std::vector<float> probs;
    for (int t = 0; t < 4; ++t) probs.insert(probs.end(), {0.4f, 0.3f, 0.2f, 0.1f});
    CHECK(moe::swarm_min_max_load(probs.data(), 4, 4, 1, 1) == 4);  // no choice at all
    CHECK(moe::swarm_min_max_load(probs.data(), 4, 4, 1, 2) == 2);  // split over 0 and 1
    CHECK(moe::swarm_min_max_load(probs.data(), 4, 4, 1, 4) == 1);  // perfectly balanced
    CHECK(moe::swarm_min_max_load(probs.data(), 4, 4, 2, 2) == 4);  // both of 0 and 1, for all
    CHECK(moe::swarm_min_max_load(probs.data(), 4, 4, 2, 4) == 2);
    REQUIRE_THROWS_AS(moe::swarm_min_max_load(probs.data(), 4, 4, 3, 2), Error);
    REQUIRE_THROWS_AS(moe::swarm_min_max_load(probs.data(), 4, 4, 1, 5), Error);
}

TEST_CASE("swarm bound equals brute force on small random batches", "[moe]") {
    std::mt19937 rng(5);
    std::exponential_distribution<float> skewed(1.0f);
    for (int trial = 0; trial < 40; ++trial) {
        const int64_t experts = 4 + trial % 3, tokens = 3 + trial % 4, k = 1 + trial % 2, group = k + trial % 2;
        std::vector<float> probs(size_t(tokens * experts));
        for (int64_t t = 0; t < tokens; ++t)
            for (int64_t e = 0; e < experts; ++e) probs[size_t(t * experts + e)] = skewed(rng) * float(1 + (e == 0) * 3);
        INFO("trial " << trial << ": " << tokens << " tokens, " << experts << " experts, k " << k << ", g " << group);
        CHECK(moe::swarm_min_max_load(probs.data(), tokens, experts, k, group) ==
              brute_force(probs, tokens, experts, k, group));
    }
}

TEST_CASE("no router keeping to the swarm goes below the bound", "[moe]") {
    std::mt19937 rng(9);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int64_t tokens = 256, experts = 16, k = 2;
    std::vector<float> logits(size_t(tokens * experts));
    for (int64_t t = 0; t < tokens; ++t)
        for (int64_t e = 0; e < experts; ++e) logits[size_t(t * experts + e)] = normal(rng) - 0.3f * float(e);
    moe::RouterOptions options;
    auto router = moe::make_router("nash", options);
    moe::Routing routing;
    router->route(logits.data(), tokens, experts, k, routing);
    std::vector<int64_t> load(static_cast<size_t>(experts), 0);
    for (int32_t e : routing.expert) ++load[size_t(e)];
    const int64_t bound = moe::swarm_min_max_load(routing.probs.data(), tokens, experts, k, options.nash_group);
    CHECK(*std::max_element(load.begin(), load.end()) >= bound);
    CHECK(bound >= tokens * k / experts);
}
