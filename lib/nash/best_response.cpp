#include "nash/best_response.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <string>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "common/error.h"
#include "nash/colouring.h"
#include "nash/potential.h"

namespace dilmodeli::nash {
namespace {

// Each colour class split by how its players may be updated (see best_response.h).
struct SweepPlan {
    std::vector<std::vector<int32_t>> independent;     // no resources: all at once
    std::vector<std::vector<int32_t>> with_resources;  // serially, after the independent ones
    std::vector<std::vector<int32_t>> in_order;        // the whole class, increasing index
};

SweepPlan make_plan(const Game& game, const Colouring& colouring) {
    SweepPlan plan;
    for (int32_t c = 0; c < colouring.num_colours; ++c) {
        plan.independent.emplace_back();
        plan.with_resources.emplace_back();
        plan.in_order.emplace_back(colouring.members.begin() + colouring.class_begin[c],
                                   colouring.members.begin() + colouring.class_begin[c + 1]);
        for (const int32_t i : plan.in_order.back()) {
            (game.uses_resources(i) ? plan.with_resources : plan.independent).back().push_back(i);
        }
    }
    return plan;
}

class Sweeper {
public:
    Sweeper(const Game& game, const SolveOptions& options, Profile& profile)
        : game_(game),
          options_(options),
          profile_(profile),
          loads_(resource_loads(game, profile)),
          cost_(size_t(game.max_strategies())) {}

    // Re-plays one player; returns whether it moved. Updates loads when it does.
    bool update(int32_t i, double* cost) {
        strategy_costs(game_, profile_.data(), loads_.data(), i, options_.price, cost);
        const int32_t current = profile_[i];
        const Reply reply = best_reply(cost, game_.num_strategies(i), current, options_.tolerance);
        if (reply.strategy == current) return false;
        if (game_.uses_resources(i))
            move_loads(game_.slot(i, current), game_.slot(i, reply.strategy));
        profile_[i] = reply.strategy;
        return true;
    }

    int64_t serial_sweep(const SweepPlan& plan) {
        int64_t moves = 0;
        for (const auto& members : plan.in_order) {
            for (const int32_t i : members) moves += update(i, cost_.data());
        }
        return moves;
    }

    int64_t parallel_sweep(const SweepPlan& plan) {
        int64_t moves = 0;
        for (size_t c = 0; c < plan.independent.size(); ++c) {
            const auto& members = plan.independent[c];
            std::atomic<int64_t> class_moves{0};
            tbb::parallel_for(tbb::blocked_range<size_t>(0, members.size(), 512),
                              [&](const tbb::blocked_range<size_t>& range) {
                                  std::vector<double> cost(size_t(game_.max_strategies()));
                                  int64_t local = 0;
                                  for (size_t k = range.begin(); k < range.end(); ++k) {
                                      local += update(members[k], cost.data());
                                  }
                                  class_moves += local;
                              });
            moves += class_moves.load();
            for (const int32_t i : plan.with_resources[c]) moves += update(i, cost_.data());
        }
        return moves;
    }

private:
    void move_loads(int64_t from_slot, int64_t to_slot) {
        for (int64_t k = game_.resource_begin(from_slot); k < game_.resource_begin(from_slot + 1);
             ++k) {
            loads_[game_.resource(k)]--;
        }
        for (int64_t k = game_.resource_begin(to_slot); k < game_.resource_begin(to_slot + 1);
             ++k) {
            loads_[game_.resource(k)]++;
        }
    }

    const Game& game_;
    const SolveOptions& options_;
    Profile& profile_;
    std::vector<int32_t> loads_;
    std::vector<double> cost_;  // scratch for the serial parts
};

}  // namespace

SolveReport solve_equilibrium(const Game& game, const SolveOptions& options) {
    if (options.max_sweeps < 0) {
        throw usage_error("nash: max_sweeps must be >= 0, got " +
                          std::to_string(options.max_sweeps));
    }
    if (!std::isfinite(options.price)) {
        throw usage_error("nash: the price per byte must be finite");
    }
    SolveReport report;
    report.strategy =
        options.initial.empty() ? cheapest_private_profile(game, options.price) : options.initial;
    check_profile(game, report.strategy);

    const Colouring colouring = greedy_colouring(game);
    const SweepPlan plan = make_plan(game, colouring);
    report.colours = colouring.num_colours;
    const bool parallel = options.execution == SweepExecution::parallel;
    tbb::task_arena arena(options.threads > 0 ? options.threads : tbb::task_arena::automatic);

    arena.execute([&] {
        Sweeper sweeper(game, options, report.strategy);
        if (options.record_trace) {
            report.potential_trace.push_back(potential(game, report.strategy, options.price));
        }
        while (report.sweeps < options.max_sweeps) {
            const auto start = std::chrono::steady_clock::now();
            const int64_t moves =
                parallel ? sweeper.parallel_sweep(plan) : sweeper.serial_sweep(plan);
            report.sweep_seconds +=
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            report.sweeps++;
            report.moves += moves;
            if (options.record_trace) {
                report.potential_trace.push_back(potential(game, report.strategy, options.price));
                report.moves_trace.push_back(moves);
            }
            if (moves == 0) {
                report.converged = true;
                break;
            }
        }
        report.check = check_equilibrium(game, report.strategy, options.price, options.tolerance);
    });
    report.potential = potential(game, report.strategy, options.price);
    report.bytes = total_bytes(game, report.strategy);
    return report;
}

}  // namespace dilmodeli::nash
