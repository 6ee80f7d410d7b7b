// Invariants of each router.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <set>

#include "common/error.h"
#include "moe/moe_feed_forward.h"
#include "moe/route_metrics.h"
#include "moe/router.h"
#include "moe/routers/bias_router.h"
#include "moe/routers/capacity_router.h"
#include "moe/routers/nash_router.h"

using namespace dilmodeli;

namespace {

double load_cv(const moe::Routing& r, int64_t n_experts) {
    const auto rec = moe::make_batch_record(0, r, n_experts);
    double sum = 0, sq = 0;
    for (int64_t v : rec.load) {
        sum += double(v);
        sq += double(v) * double(v);
    }
    const double mean = sum / double(n_experts);
    return std::sqrt(sq / double(n_experts) - mean * mean) / mean;
}

}  // namespace

TEST_CASE("topk picks the k largest logits and renormalises their softmax", "[moe]") {
    const int64_t n = 64, E = 16, k = 3;
    const auto logits = moe::synthetic_logits(n, E, 0.5, 3);
    moe::Routing r;
    moe::make_router("topk")->route(logits.data(), n, E, k, r);
    for (int64_t t = 0; t < n; ++t) {
        const float* l = logits.data() + t * E;
        std::vector<float> sorted(l, l + E);
        std::sort(sorted.rbegin(), sorted.rend());
        float wsum = 0;
        for (int64_t j = 0; j < k; ++j) {
            const int32_t e = r.expert[size_t(t * k + j)];
            REQUIRE(l[e] == sorted[size_t(j)]);
            wsum += r.weight[size_t(t * k + j)];
            // weight = p_e / sum of the chosen p
            double z = 0, chosen = 0;
            for (int64_t i = 0; i < E; ++i) z += std::exp(double(l[i]));
            for (int64_t i = 0; i < k; ++i) chosen += std::exp(double(l[r.expert[size_t(t * k + i)]])) / z;
            REQUIRE(r.weight[size_t(t * k + j)] == Approx(std::exp(double(l[e])) / z / chosen).epsilon(1e-5));
        }
        REQUIRE(wsum == Approx(1.0f).epsilon(1e-5));
    }
}

TEST_CASE("capacity never serves an expert beyond its capacity and drops the overflow", "[moe]") {
    const int64_t n = 256, E = 16, k = 2;
    const auto logits = moe::synthetic_logits(n, E, 1.5, 4);
    moe::CapacityRouter router(1.0);
    moe::Routing r;
    router.route(logits.data(), n, E, k, r);
    const auto rec = moe::make_batch_record(0, r, E);
    const int64_t cap = router.capacity(n, E, k);
    REQUIRE(cap == 32);
    for (int64_t v : rec.load) REQUIRE(v <= cap);
    REQUIRE(rec.dropped > 0);
    int64_t served = 0;
    for (int64_t v : rec.load) served += v;
    REQUIRE(served + rec.dropped == n * k);
    for (size_t j = 0; j < r.expert.size(); ++j)
        if (r.expert[j] == moe::kDroppedSlot) REQUIRE(r.weight[j] == 0.0f);
}

TEST_CASE("bias balancing lowers the load CV of a skewed workload over steps", "[moe]") {
    const int64_t n = 256, E = 32, k = 2, steps = 60;
    const auto logits = moe::synthetic_logits(n * steps, E, 1.2, 5);
    moe::BiasRouter bias(0.05);
    moe::Routing r, plain;
    double first = 0, last = 0;
    for (int64_t s = 0; s < steps; ++s) {
        bias.route(logits.data() + s * n * E, n, E, k, r);
        if (s == 0) {
            moe::make_router("topk")->route(logits.data(), n, E, k, plain);
            REQUIRE(load_cv(r, E) == Approx(load_cv(plain, E)));  // no bias yet
            first = load_cv(r, E);
        }
        last = load_cv(r, E);
    }
    INFO("CV first " << first << ", after " << steps << " steps " << last);
    REQUIRE(last < 0.5 * first);
}

TEST_CASE("nash routing is an equilibrium with k distinct experts from each token's group", "[moe]") {
    const int64_t n = 256, E = 16, k = 2;
    const auto logits = moe::synthetic_logits(n, E, 1.2, 6);
    moe::RouterOptions options;
    moe::NashRouter nash(options);
    moe::Routing r, plain;
    nash.route(logits.data(), n, E, k, r);
    const auto& report = nash.last_report();
    REQUIRE(report.converged);
    REQUIRE(report.check.is_equilibrium);
    REQUIRE(report.check.largest_gain <= 1e-9);
    REQUIRE(nash.group_size() == 7);
    for (int64_t t = 0; t < n; ++t) {
        const auto& groups = nash.last_groups();
        std::set<int32_t> group(groups.begin() + t * 7, groups.begin() + (t + 1) * 7);
        std::set<int32_t> chosen;
        for (int64_t j = 0; j < k; ++j) {
            const int32_t e = r.expert[size_t(t * k + j)];
            REQUIRE(group.count(e) == 1);
            chosen.insert(e);
        }
        REQUIRE(int64_t(chosen.size()) == k);
    }
    moe::make_router("topk")->route(logits.data(), n, E, k, plain);
    const auto balanced = moe::make_batch_record(0, r, E);
    const auto skewed = moe::make_batch_record(0, plain, E);
    const double mean = double(n * k) / double(E);
    const int64_t max_nash = *std::max_element(balanced.load.begin(), balanced.load.end());
    const int64_t max_topk = *std::max_element(skewed.load.begin(), skewed.load.end());
    INFO("max/mean: nash " << max_nash / mean << ", topk " << max_topk / mean);
    REQUIRE(max_nash / mean <= 1.10);
    REQUIRE(max_topk / mean > 1.10);
}

TEST_CASE("make_router names every router and rejects others", "[moe]") {
    for (const auto& name : moe::router_names()) REQUIRE(moe::make_router(name)->name() == name);
    REQUIRE_THROWS_AS(moe::make_router("random"), Error);
}

TEST_CASE("expert LRU hits what it holds and evicts the oldest", "[moe]") {
    moe::ExpertLru lru(300);
    REQUIRE_FALSE(lru.access(1, 100));
    REQUIRE_FALSE(lru.access(2, 100));
    REQUIRE_FALSE(lru.access(3, 100));
    REQUIRE(lru.access(1, 100));
    REQUIRE_FALSE(lru.access(4, 100));  // evicts 2
    REQUIRE_FALSE(lru.access(2, 100));
    REQUIRE(lru.access(1, 100));
}
