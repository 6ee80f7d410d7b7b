#include "moe/routers/nash_router.h"

#include <algorithm>
#include <cmath>
#include <tbb/parallel_for.h>

#include "common/error.h"
#include "nash/game_builder.h"

namespace dilmodeli::moe {

namespace {

// Every k-subset of {0..g-1}, in lexicographic order (the first is {0..k-1}: plain top-k).
std::vector<std::vector<int32_t>> subsets(int64_t g, int64_t k) {
    std::vector<std::vector<int32_t>> all;
    std::vector<int32_t> s(static_cast<size_t>(k));
    for (int64_t i = 0; i < k; ++i) s[size_t(i)] = int32_t(i);
    while (true) {
        all.push_back(s);
        int64_t i = k - 1;
        while (i >= 0 && s[size_t(i)] == int32_t(g - k + i)) --i;
        if (i < 0) break;
        ++s[size_t(i)];
        for (int64_t j = i + 1; j < k; ++j) s[size_t(j)] = s[size_t(j - 1)] + 1;
    }
    return all;
}

}  // namespace

NashRouter::NashRouter(const RouterOptions& options) : options_(options) {
    if (options.nash_group < 1) throw usage_error("nash group must be at least 1");
    if (!(options.nash_load_slack >= 1.0)) throw usage_error("nash load slack must be >= 1");
    if (!(options.nash_congestion >= 0) || !(options.nash_cache_cost >= 0))
        throw usage_error("nash congestion and cache costs must be >= 0");
}

void NashRouter::route(const float* logits, int64_t n_tokens, int64_t n_experts, int64_t k, Routing& out) {
    out.reset(n_tokens, k, n_experts);
    if (int64_t(resident_.size()) != n_experts) resident_.assign(size_t(n_experts), 0);
    group_ = std::min<int64_t>(n_experts, std::max<int64_t>(k, options_.nash_group));
    groups_.resize(size_t(n_tokens * group_));
    tbb::parallel_for(int64_t(0), n_tokens, [&](int64_t t) {
        softmax_probs(logits + t * n_experts, n_experts, out.probs.data() + t * n_experts);
        top_k_indices(logits + t * n_experts, n_experts, group_, groups_.data() + t * group_);
    });

    const auto strategies = subsets(group_, k);
    // One resource per expert; the curve covers loads 1..n_tokens (a token occupies an expert once).
    const double balanced = double(n_tokens * k) / double(n_experts);
    const double cap = std::max(1.0, std::floor(options_.nash_load_slack * balanced + 1e-9));
    // The private costs do not depend on the congestion price: build them once.
    std::vector<std::vector<double>> private_cost(static_cast<size_t>(n_tokens), std::vector<double>(strategies.size()));
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float* p = out.probs.data() + t * n_experts;
        const int32_t* group = groups_.data() + t * group_;
        for (size_t s = 0; s < strategies.size(); ++s) {
            double c = 0;
            for (int32_t member : strategies[s]) c -= std::log(std::max(double(p[group[member]]), 1e-30));
            private_cost[size_t(t)][s] = c;
        }
    }
    auto solve_at = [&](double congestion, const nash::Profile& start) {
        nash::GameBuilder builder;
        std::vector<double> curve(static_cast<size_t>(n_tokens));
        for (int64_t e = 0; e < n_experts; ++e) {
            const double fetch = resident_[size_t(e)] ? 0.0 : options_.nash_cache_cost;
            for (int64_t l = 1; l <= n_tokens; ++l)
                curve[size_t(l - 1)] = congestion * std::max(0.0, double(l) - cap) + fetch / double(l);
            builder.add_resource(curve);
        }
        std::vector<int32_t> resources(static_cast<size_t>(k));
        for (int64_t t = 0; t < n_tokens; ++t) {
            const int32_t player = builder.add_player(private_cost[size_t(t)]);
            const int32_t* group = groups_.data() + t * group_;
            for (size_t s = 0; s < strategies.size(); ++s) {
                for (int64_t j = 0; j < k; ++j) resources[size_t(j)] = group[strategies[s][size_t(j)]];
                builder.add_strategy_resources(player, int32_t(s), resources);
            }
        }
        const nash::Game game = builder.build();
        nash::SolveOptions solve;
        solve.max_sweeps = 200;
        solve.initial = start;
        return nash::solve_equilibrium(game, solve);
    };
    auto max_load = [&](const nash::Profile& profile) {
        std::vector<int64_t> load(static_cast<size_t>(n_experts), 0);
        for (int64_t t = 0; t < n_tokens; ++t)
            for (int32_t member : strategies[size_t(profile[size_t(t)])]) ++load[size_t(groups_[size_t(t * group_ + member)])];
        return double(*std::max_element(load.begin(), load.end()));
    };
    // The gentlest price first: it moves only tokens whose preference gap is small. Where the
    // equilibrium still overloads an expert, the price rises (x8, twice) from where it stood,
    // so preferences strong enough to resist a soft price yield to a firm one.
    report_ = solve_at(options_.nash_congestion, {});
    for (int step = 0; step < 2 && max_load(report_.strategy) > cap && options_.nash_congestion > 0; ++step)
        report_ = solve_at(options_.nash_congestion * std::pow(8.0, step + 1), report_.strategy);

    std::fill(resident_.begin(), resident_.end(), 0);
    for (int64_t t = 0; t < n_tokens; ++t) {
        const auto& chosen = strategies[size_t(report_.strategy[size_t(t)])];
        int32_t* experts = out.expert.data() + t * k;
        for (int64_t j = 0; j < k; ++j) {
            experts[j] = groups_[size_t(t * group_ + chosen[size_t(j)])];
            resident_[size_t(experts[j])] = 1;
        }
        renormalised_weights(out.probs.data() + t * n_experts, experts, k, out.weight.data() + t * k);
    }
}

}  // namespace dilmodeli::moe
