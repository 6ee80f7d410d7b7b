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

// What `player` loses by moving from its strategy in `profile` to `to`.
double move_loss(const nash::Game& game, const nash::Profile& profile, int32_t player, int32_t to, double price,
                 std::vector<double>& scratch) {
    scratch.resize(size_t(game.num_strategies(player)));
    nash::strategy_costs(game, profile.data(), nullptr, player, price, scratch.data());
    return scratch[size_t(to)] - scratch[size_t(profile[size_t(player)])];
}

// `moves` (player, target strategy) ordered by how little they cost (ties to the lower player).
std::vector<std::pair<int32_t, int32_t>> cheapest_moves(const nash::Game& game, const nash::Profile& profile,
                                                        double price, std::vector<std::pair<int32_t, int32_t>> moves) {
    std::vector<double> loss(moves.size()), scratch;
    for (size_t i = 0; i < moves.size(); ++i)
        loss[i] = move_loss(game, profile, moves[i].first, moves[i].second, price, scratch);
    std::vector<size_t> order(moves.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(), [&](size_t x, size_t y) {
        return loss[x] != loss[y] ? loss[x] < loss[y] : moves[x].first < moves[y].first;
    });
    std::vector<std::pair<int32_t, int32_t>> out(moves.size());
    for (size_t i = 0; i < order.size(); ++i) out[i] = moves[order[i]];
    return out;
}

}  // namespace

BlockGameResult solve_block_game(const BlockGame& g, double budget_bytes, int32_t max_neighbours,
                                 const GroupWidths& widths) {
    const int32_t n = g.players(), levels = g.levels, strategies = levels + 1;
    if (levels < 1 || g.cost.size() != size_t(n) * size_t(strategies) || g.bytes.size() != g.cost.size())
        throw usage_error("nash pruning: inconsistent block game");
    if (widths && levels != 1) throw usage_error("nash pruning: widths need keep/prune players");
    double mean = 0;
    for (int32_t i = 0; i < n; ++i) mean += g.whole(i);
    mean = n > 0 && mean > 0 ? mean / double(n) : 1.0;

    nash::GameBuilder builder(std::max<int32_t>(max_neighbours, 0));
    std::vector<double> cost(static_cast<size_t>(strategies)), bytes(static_cast<size_t>(strategies));
    for (int32_t i = 0; i < n; ++i) {
        for (int32_t l = 0; l < strategies; ++l) {
            cost[size_t(l)] = g.cost[size_t(i) * size_t(strategies) + size_t(l)] / mean;
            bytes[size_t(l)] = g.bytes[size_t(i) * size_t(strategies) + size_t(l)];
        }
        builder.set_bytes(builder.add_player(cost), bytes);
    }
    // |a - b| / L for cohesion-only edges (shared); edges with a pair term get their own table.
    std::vector<double> distance(size_t(strategies) * size_t(strategies));
    for (int32_t a = 0; a < strategies; ++a)
        for (int32_t b = 0; b < strategies; ++b)
            distance[size_t(a * strategies + b)] = double(std::abs(a - b)) / double(levels);
    const int32_t disagreement = builder.add_kernel(strategies, distance);
    int64_t edges = 0;
    for (const BlockGame::Edge& e : g.edges) {
        const double cohesion = e.cohesion / mean, pair = e.pair / mean;
        if (cohesion == 0 && pair == 0) continue;
        if (pair == 0) {
            builder.add_edge(e.a, e.b, disagreement, cohesion);
        } else {
            std::vector<double> table(distance.size());
            for (size_t t = 0; t < table.size(); ++t) table[t] = cohesion * distance[t];
            table.back() += pair;
            builder.add_edge(e.a, e.b, builder.add_kernel(strategies, table), 1.0);
        }
        ++edges;
    }
    const nash::Game game = builder.build();

    const nash::BudgetReport solved = nash::solve_with_budget(game, budget_bytes, nash::BudgetOptions{});
    const nash::SolveReport& eq = solved.equilibrium;

    BlockGameResult result;
    NashGameSummary& s = result.summary;
    s.players = n;
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
    const nash::Profile at_equilibrium = profile;
    if (widths) {
        // Meet every group's width exactly: switch the players that lose least by it.
        int32_t groups = 0;
        for (int32_t grp : g.group) groups = std::max(groups, grp + 1);
        std::vector<std::vector<std::pair<int32_t, int32_t>>> to_keep(static_cast<size_t>(groups)),
            to_prune(static_cast<size_t>(groups));
        for (int32_t i = 0; i < n; ++i) {
            if (profile[size_t(i)] == 0)
                to_prune[size_t(g.group[size_t(i)])].push_back({i, 1});
            else
                to_keep[size_t(g.group[size_t(i)])].push_back({i, 0});
        }
        std::vector<int64_t> counts(static_cast<size_t>(groups));
        for (int32_t grp = 0; grp < groups; ++grp) counts[size_t(grp)] = int64_t(to_prune[size_t(grp)].size());
        const std::vector<int64_t> kept_per_group = widths(counts);
        if (int32_t(kept_per_group.size()) != groups) throw usage_error("nash pruning: a width per group is needed");
        for (int32_t grp = 0; grp < groups; ++grp) {
            const int64_t want = kept_per_group[size_t(grp)], have = counts[size_t(grp)];
            const auto order = cheapest_moves(game, at_equilibrium, solved.price,
                                              have < want ? to_keep[size_t(grp)] : to_prune[size_t(grp)]);
            const int64_t count = std::min<int64_t>(std::llabs(want - have), int64_t(order.size()));
            for (int64_t i = 0; i < count; ++i) profile[size_t(order[size_t(i)].first)] = order[size_t(i)].second;
            s.adjusted += int32_t(count);
        }
    } else {
        // Fill what the budget leaves: one level down for the players that lose least by it.
        double room = budget_bytes - nash::total_bytes(game, profile);
        std::vector<std::pair<int32_t, int32_t>> moves;
        for (int32_t i = 0; i < n; ++i)
            if (profile[size_t(i)] > 0) moves.push_back({i, profile[size_t(i)] - 1});
        for (const auto& [player, to] : cheapest_moves(game, at_equilibrium, solved.price, moves)) {
            const double more = game.bytes(player, to) - game.bytes(player, profile[size_t(player)]);
            if (more > room) continue;
            room -= more;
            profile[size_t(player)] = to;
            ++s.adjusted;
        }
    }
    s.bytes = nash::total_bytes(game, profile);
    result.level.assign(profile.begin(), profile.end());
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
            const double sa = game.whole(offset + a), sb = game.whole(offset + b);
            game.edges.push_back({offset + a, offset + b, cohesion * std::sqrt(std::max(0.0, sa * sb)),
                                  interaction[size_t(a) * size_t(n) + size_t(b)]});
        }
}

}  // namespace dilmodeli::compress
