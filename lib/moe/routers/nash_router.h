#pragma once
// Routing as a congestion game (docs: nash-swarm.md, Application 3). Players: the tokens of the
// batch. Token t's swarm: the g experts with its largest logits; its strategies: the k-subsets
// of them. Cost of subset S:
//
//   sum_{e in S} -log p(e | x_t)                      the router's preference
//   + sum_{e in S} g_e(load_e)                        congestion, Rosenthal form:
//       g_e(l) = congestion * max(0, l - cap)        rises past cap = slack * balanced load
//              + fetch_e / l                         cache: an expert not used in the previous
//                                                    batch costs `cache_cost`, shared by its users
//
// Best-response dynamics from plain top-k (every token's cheapest private choice) stop at a pure
// Nash equilibrium (lib/nash); the equilibrium check of every solve is kept in last_report().
// When the equilibrium still loads an expert past cap, the congestion price is raised (x8, at
// most twice) and the game solved again from there: the softest price that balances costs the
// least router mass, and the router's logit scale, which sets how strong preferences are,
// differs from model to model.
// The combine weights are llama.cpp's: the chosen experts' probabilities renormalised.
#include "moe/router.h"
#include "nash/best_response.h"

namespace dilmodeli::moe {

class NashRouter : public Router {
public:
    explicit NashRouter(const RouterOptions& options);
    std::string name() const override { return "nash"; }
    void route(const float* logits, int64_t n_tokens, int64_t n_experts, int64_t k, Routing& out) override;

    // Of the last batch (players, sweeps, equilibrium check).
    const nash::SolveReport& last_report() const { return report_; }
    // The token's candidate experts in the last batch, best first (g of them).
    const std::vector<int32_t>& last_groups() const { return groups_; }
    int64_t group_size() const { return group_; }

private:
    RouterOptions options_;
    int64_t group_ = 0;
    std::vector<int32_t> groups_;     // (n_tokens, group_)
    std::vector<uint8_t> resident_;   // (n_experts) used in the previous batch
    nash::SolveReport report_;
};

}  // namespace dilmodeli::moe
