#pragma once
// Assembling a Game: players, then kernels, neighbour entries and resources in any order, then
// build(), which checks that the result really is a potential game. Every problem is an
// Error(Usage) naming the player, entry or resource and the offending value.
#include <cstdint>
#include <vector>

#include "nash/game.h"

namespace dilmodeli::nash {

class GameBuilder {
public:
    // `max_neighbours` is the k of the flock: build() rejects a player with more neighbours.
    explicit GameBuilder(int32_t max_neighbours = kDefaultMaxNeighbours);

    // A new player whose strategies are 0 .. private_cost.size()-1 (at least one); returns its
    // index. Its bytes default to 0 and its labels to the strategy indices.
    int32_t add_player(const std::vector<double>& private_cost);
    int32_t num_players() const { return int32_t(begin_.size()) - 1; }

    // bytes_i(s) for the budget's price term; one value per strategy, finite and >= 0.
    void set_bytes(int32_t player, const std::vector<double>& bytes);
    // The coupling label of each strategy; must be < the label count of every kernel used on
    // this player's edges (checked in build()).
    void set_labels(int32_t player, const std::vector<int32_t>& labels);

    // A coupling kernel: a symmetric table K(x, y), row-major, num_labels x num_labels. Returns
    // its id. An asymmetric table is rejected here, since it would break w_ij(a,b) = w_ji(b,a).
    int32_t add_kernel(int32_t num_labels, const std::vector<double>& table);

    // One direction of a neighbour relation: j is in N(i) with
    // w_ij(a, b) = weight * K(label_i(a), label_j(b)). Neighbourhoods must be symmetric: build()
    // requires the mirror entry j -> i with the same kernel and weight (equal to a relative
    // 1e-9; the game then uses the weight from the lower-indexed player for both directions).
    void add_neighbour(int32_t player, int32_t neighbour, int32_t kernel, double weight);
    // Both directions at once.
    void add_edge(int32_t a, int32_t b, int32_t kernel, double weight);

    // A congestion resource with cost_at_load[l - 1] = g_r(l), the cost each of its l occupants
    // pays. The curve must cover every load that can occur (build() counts the players that
    // can occupy r). Any shape is allowed: rising for balance, falling for shared caching.
    int32_t add_resource(const std::vector<double>& cost_at_load);
    // Adds resources to those occupied when `player` plays `strategy` (no repeats).
    void add_strategy_resources(int32_t player, int32_t strategy,
                                const std::vector<int32_t>& resources);

    // Validates and freezes (copies) the game.
    Game build() const;

private:
    struct NeighbourEntry {
        int32_t player;
        int32_t neighbour;
        int32_t kernel;
        double weight;
    };
    struct SlotResource {
        int64_t slot;
        int32_t resource;
    };

    void check_player(int32_t player, const char* what) const;

    int32_t max_neighbours_;
    std::vector<int64_t> begin_{0};
    std::vector<double> cost_;
    std::vector<double> bytes_;
    std::vector<int32_t> label_;
    std::vector<int32_t> kernel_labels_;
    std::vector<int64_t> kernel_begin_;
    std::vector<double> kernel_values_;
    std::vector<NeighbourEntry> entries_;
    std::vector<int64_t> load_curve_begin_{0};
    std::vector<double> load_curve_;
    std::vector<SlotResource> slot_resources_;
};

}  // namespace dilmodeli::nash
