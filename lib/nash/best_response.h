#pragma once
// Best-response dynamics: players in turn switch to their cheapest strategy given the others,
// sweep after sweep, until a sweep moves nobody (a pure Nash equilibrium, since the game has a
// potential) or the sweep limit is reached (reported as not converged).
//
// The order of play is fixed: colour class 0, 1, ... of greedy_colouring(), players of a class
// in increasing index. Serial and parallel execution both follow it, and their results are
// identical bit for bit, because players of one colour are not neighbours:
// - players without resources only read the strategies of their neighbours, which sit in other
//   classes, so a whole class can be updated at once (TBB parallel_for);
// - players with congestion resources are coupled through loads to anyone sharing a resource,
//   whatever the neighbour graph says, so within each class they are updated serially, in
//   increasing index, after the parallel part. That is still the serial order's result: a
//   resource-free player of the class neither reads nor writes loads and is nobody's neighbour
//   in the class. (Colouring by shared resources instead would make routing's colour classes
//   tiny: every token shares experts with most others.)
#include <cstdint>
#include <vector>

#include "nash/equilibrium_check.h"
#include "nash/game.h"
#include "nash/player_costs.h"
#include "nash/strategy_profile.h"

namespace dilmodeli::nash {

enum class SweepExecution { serial, parallel };

struct SolveOptions {
    double price = 0.0;         // lambda: added as price * bytes_i(s) to every cost
    int32_t max_sweeps = 1000;  // reaching it without a quiet sweep: converged == false
    SweepExecution execution = SweepExecution::parallel;
    int32_t threads = 0;  // parallel execution; 0: as many as TBB offers
    ImprovementTolerance tolerance;
    Profile initial;            // empty: cheapest_private_profile(game, price)
    bool record_trace = false;  // fill potential_trace and moves_trace
};

struct SolveReport {
    bool converged = false;               // the last sweep moved nobody
    int32_t sweeps = 0;                   // sweeps run, the final quiet one included
    int64_t moves = 0;                    // strategy changes over all sweeps
    double potential = 0;                 // Phi of the final profile, price term included
    double bytes = 0;                     // total bytes of the final profile
    EquilibriumCheck check;               // of the final profile, at the same price and tolerance
    int32_t colours = 0;                  // colour classes of the neighbour graph
    Profile strategy;                     // the chosen strategy of every player
    std::vector<double> potential_trace;  // record_trace: Phi at the start, then after each sweep
    std::vector<int64_t> moves_trace;     // record_trace: moves in each sweep
    double sweep_seconds = 0;             // wall time of all sweeps (informative only)
};

// Error(Usage) for an invalid initial profile, a negative sweep limit or a non-finite price.
SolveReport solve_equilibrium(const Game& game, const SolveOptions& options = {});

}  // namespace dilmodeli::nash
