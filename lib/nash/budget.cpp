#include "nash/budget.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"
#include "common/number_format.h"
#include "nash/strategy_profile.h"

namespace dilmodeli::nash {
namespace {

std::string number(double value) { return format_number(value, 15); }

// A first price of the right magnitude: cost differences per byte difference, over the game.
double first_price_guess(const Game& game) {
    double cost_spread = 0, byte_spread = 0;
    for (int32_t i = 0; i < game.num_players(); ++i) {
        const double* c = game.cost_data() + game.strategy_begin(i);
        const double* b = game.bytes_data() + game.strategy_begin(i);
        const int32_t n = game.num_strategies(i);
        const auto [cmin, cmax] = std::minmax_element(c, c + n);
        const auto [bmin, bmax] = std::minmax_element(b, b + n);
        cost_spread += *cmax - *cmin;
        byte_spread += *bmax - *bmin;
    }
    const double guess = byte_spread > 0 ? cost_spread / byte_spread : 1.0;
    return guess > 0 && std::isfinite(guess) ? guess : 1.0;
}

}  // namespace

BudgetReport solve_with_budget(const Game& game, double budget_bytes,
                               const BudgetOptions& options) {
    if (!std::isfinite(budget_bytes)) throw usage_error("nash: the byte budget must be finite");
    const double least = minimum_bytes(game);
    if (least > budget_bytes) {
        throw usage_error("nash: the budget of " + number(budget_bytes) +
                          " bytes cannot be met: the smallest strategy of every player already "
                          "takes " +
                          number(least) + " bytes");
    }
    if (!(options.relative_tolerance > 0) || options.max_solves < 1) {
        throw usage_error(
            "nash: the budget search needs relative_tolerance > 0 and max_solves >= 1");
    }

    BudgetReport report;
    SolveOptions solve = options.solve;
    auto run = [&](double price) {
        solve.price = price;
        SolveReport result = solve_equilibrium(game, solve);
        report.solves++;
        report.all_converged = report.all_converged && result.converged;
        return result;
    };

    SolveReport fitting = run(0.0);
    if (fitting.bytes <= budget_bytes) {
        report.bytes = fitting.bytes;
        report.equilibrium = std::move(fitting);
        return report;
    }
    report.binding = true;
    double below = 0.0, below_bytes = fitting.bytes;

    // Bracket: raise the price until the equilibrium fits.
    double price = first_price_guess(game);
    for (;;) {
        if (report.solves >= options.max_solves || !std::isfinite(price)) {
            throw usage_error("nash: no price up to " + number(price) +
                              " brings the equilibrium "
                              "within the budget of " +
                              number(budget_bytes) + " bytes (" + std::to_string(report.solves) +
                              " solves)");
        }
        SolveReport result = run(price);
        if (result.bytes <= budget_bytes) {
            fitting = std::move(result);
            break;
        }
        below = price;
        below_bytes = result.bytes;
        price *= 2;
    }

    // Bisect: `below` never fits, `price` always does.
    while (price - below > options.relative_tolerance * price) {
        if (report.solves >= options.max_solves) {
            report.tolerance_reached = false;
            break;
        }
        const double middle = 0.5 * (below + price);
        if (middle <= below || middle >= price) break;  // no double left between them
        SolveReport result = run(middle);
        if (result.bytes <= budget_bytes) {
            price = middle;
            fitting = std::move(result);
        } else {
            below = middle;
            below_bytes = result.bytes;
        }
    }
    report.price = price;
    report.bytes = fitting.bytes;
    report.price_below = below;
    report.bytes_below = below_bytes;
    report.equilibrium = std::move(fitting);
    return report;
}

}  // namespace dilmodeli::nash
