#include "compress/prune_nash.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "nash/budget.h"
#include "nash/game_builder.h"
#include "nash/neighbours.h"
#include "nash/player_costs.h"
#include "nash/strategy_profile.h"

namespace dilmodeli::compress {
namespace {

constexpr int32_t kKeep = 0, kPrune = 1;

// What `player` loses by switching away from its strategy in `profile` (>= 0 at equilibrium,
// up to the tolerance).
double switching_loss(const nash::Game& game, const nash::Profile& profile, int32_t player, double price) {
    double cost[2];
    nash::strategy_costs(game, profile.data(), nullptr, player, price, cost);
    const int32_t now = profile[size_t(player)];
    return cost[1 - now] - cost[now];
}

// Players of `candidates` ordered by how little switching costs them (ties to the lower index).
std::vector<int32_t> cheapest_switches(const nash::Game& game, const nash::Profile& profile, double price,
                                       std::vector<int32_t> candidates) {
    std::vector<double> loss(candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) loss[i] = switching_loss(game, profile, candidates[i], price);
    std::vector<size_t> order(candidates.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(), [&](size_t x, size_t y) {
        return loss[x] != loss[y] ? loss[x] < loss[y] : candidates[x] < candidates[y];
    });
    std::vector<int32_t> out(candidates.size());
    for (size_t i = 0; i < order.size(); ++i) out[i] = candidates[order[i]];
    return out;
}

}  // namespace

BlockGameResult solve_block_game(const BlockGame& g, double budget_bytes, int32_t max_neighbours,
                                 const GroupWidths& widths) {
    const size_t n = g.saliency.size();
    if (g.bytes.size() != n || g.group.size() != n) throw usage_error("nash pruning: inconsistent block game");
    double mean = 0;
    for (double s : g.saliency) mean += s;
    mean = n > 0 && mean > 0 ? mean / double(n) : 1.0;

    nash::GameBuilder builder(std::max<int32_t>(max_neighbours, 0));
    for (size_t i = 0; i < n; ++i) {
        const int32_t p = builder.add_player({0.0, g.saliency[i] / mean});
        builder.set_bytes(p, {g.bytes[i], 0.0});
    }
    // Edges without a pair term share one table; the others get their own 2x2 table.
    const int32_t disagreement = builder.add_kernel(2, {0.0, 1.0, 1.0, 0.0});
    int64_t edges = 0;
    for (const BlockGame::Edge& e : g.edges) {
        const double cohesion = e.cohesion / mean, pair = e.pair / mean;
        if (cohesion == 0 && pair == 0) continue;
        if (pair == 0) {
            builder.add_edge(e.a, e.b, disagreement, cohesion);
        } else {
            builder.add_edge(e.a, e.b, builder.add_kernel(2, {0.0, cohesion, cohesion, pair}), 1.0);
        }
        ++edges;
    }
    const nash::Game game = builder.build();

    nash::BudgetOptions options;
    const nash::BudgetReport solved = nash::solve_with_budget(game, budget_bytes, options);
    const nash::SolveReport& eq = solved.equilibrium;

    BlockGameResult result;
    NashGameSummary& s = result.summary;
    s.players = int32_t(n);
    s.edges = edges;
    s.price = solved.price;
    s.solves = solved.solves;
    s.sweeps = eq.sweeps;
    s.moves = eq.moves;
    s.converged = solved.all_converged;
    s.largest_gain = eq.check.largest_gain;
    s.is_equilibrium = eq.check.is_equilibrium;
    s.budget_bytes = budget_bytes;

    nash::Profile profile = eq.strategy;
    if (widths) {
        // Meet every group's width exactly: switch the players that lose least by it.
        int32_t groups = 0;
        for (int32_t grp : g.group) groups = std::max(groups, grp + 1);
        std::vector<std::vector<int32_t>> kept(static_cast<size_t>(groups)), pruned(static_cast<size_t>(groups));
        for (size_t i = 0; i < n; ++i)
            (profile[i] == kKeep ? kept : pruned)[size_t(g.group[i])].push_back(int32_t(i));
        std::vector<int64_t> counts(static_cast<size_t>(groups));
        for (int32_t grp = 0; grp < groups; ++grp) counts[size_t(grp)] = int64_t(kept[size_t(grp)].size());
        const std::vector<int64_t> kept_per_group = widths(counts);
        if (int32_t(kept_per_group.size()) != groups) throw usage_error("nash pruning: a width per group is needed");
        const nash::Profile at_equilibrium = profile;
        for (int32_t grp = 0; grp < groups; ++grp) {
            const int64_t want = kept_per_group[size_t(grp)], have = int64_t(kept[size_t(grp)].size());
            const bool add = have < want;
            const std::vector<int32_t> order =
                cheapest_switches(game, at_equilibrium, solved.price, add ? pruned[size_t(grp)] : kept[size_t(grp)]);
            const int64_t count = std::min<int64_t>(std::llabs(want - have), int64_t(order.size()));
            for (int64_t i = 0; i < count; ++i) profile[size_t(order[size_t(i)])] = add ? kKeep : kPrune;
            s.adjusted += int32_t(count);
        }
    } else {
        // Fill what the budget leaves with the players that most want to be kept.
        double room = budget_bytes - nash::total_bytes(game, profile);
        std::vector<int32_t> pruned;
        for (size_t i = 0; i < n; ++i)
            if (profile[i] == kPrune) pruned.push_back(int32_t(i));
        for (int32_t p : cheapest_switches(game, profile, solved.price, pruned)) {
            if (g.bytes[size_t(p)] > room) continue;
            room -= g.bytes[size_t(p)];
            profile[size_t(p)] = kKeep;
            ++s.adjusted;
        }
    }
    s.bytes = nash::total_bytes(game, profile);
    result.pruned.resize(n);
    for (size_t i = 0; i < n; ++i) result.pruned[i] = uint8_t(profile[i] == kPrune);
    return result;
}

void add_strongest_edges(BlockGame& game, int32_t offset, int32_t n, const std::vector<double>& interaction,
                         int32_t k, double cohesion) {
    if (k <= 0 || n < 2) return;
    const int32_t proposals = std::min(k, n - 1);
    nash::NeighbourLists directed;
    directed.begin.assign(size_t(n) + 1, 0);
    std::vector<int32_t> others(size_t(n - 1));
    for (int32_t a = 0; a < n; ++a) {
        const double* row = &interaction[size_t(a) * size_t(n)];
        others.clear();
        for (int32_t b = 0; b < n; ++b)
            if (b != a) others.push_back(b);
        std::partial_sort(others.begin(), others.begin() + proposals, others.end(), [&](int32_t x, int32_t y) {
            const double ax = std::fabs(row[x]), ay = std::fabs(row[y]);
            return ax != ay ? ax > ay : x < y;
        });
        for (int32_t i = 0; i < proposals; ++i) {
            directed.index.push_back(others[size_t(i)]);
            directed.distance.push_back(-std::fabs(row[others[size_t(i)]]));
        }
        directed.begin[size_t(a) + 1] = int64_t(directed.index.size());
    }
    const nash::NeighbourLists lists = nash::symmetric_capped(directed, k);
    for (int32_t a = 0; a < n; ++a)
        for (int64_t e = lists.begin[size_t(a)]; e < lists.begin[size_t(a) + 1]; ++e) {
            const int32_t b = lists.index[size_t(e)];
            if (b <= a) continue;
            const double sa = game.saliency[size_t(offset + a)], sb = game.saliency[size_t(offset + b)];
            game.edges.push_back({offset + a, offset + b, cohesion * std::sqrt(std::max(0.0, sa * sb)),
                                  interaction[size_t(a) * size_t(n) + size_t(b)]});
        }
}

}  // namespace dilmodeli::compress
