#pragma once
// A finite game among parts of a model (tensors, weight blocks, tokens). Player i picks one
// strategy s from its own set {0 .. |S_i|-1}; its cost is
//
//   c_i(s) + price * bytes_i(s)                         private cost, and the budget's price
//   + sum_{j in N(i)} weight_ij * K(label_i(s), label_j(s_j))   coupling with <= k neighbours
//   + sum_{r in R_i(s)} g_r(load_r)                      congestion on the resources s occupies
//
// The coupling kernel K is a symmetric table over "labels" and weight_ij = weight_ji, so
// w_ij(a, b) = w_ji(b, a): together with Rosenthal-form congestion this makes the game a
// potential game (potential.h), and best-response dynamics stop at a pure Nash equilibrium.
//
// Why labels: they let one small table serve every edge. Quantization labels a strategy by its
// quant type and uses K(x, y) = |bits(x) - bits(y)|; pruning labels keep/prune and uses
// K(x, y) = [x != y]. Any symmetric coupling w_ij(a, b) fits: give every (player, strategy) its
// own label and put w in one big kernel.
//
// Congestion: a strategy may occupy several resources (a token choosing a k-subset of experts).
// A cache term for routing fits as it is: "resident from earlier steps" is a private cost, and
// "already loaded by another token of this batch" is a load curve that drops after load 1.
//
// Storage is flat so the best-response loop reads dense arrays: player i's strategy s is the
// "slot" strategy_begin(i) + s; neighbour entries and resource lists are CSR. Build a Game with
// GameBuilder (game_builder.h), which validates everything; a Game is immutable afterwards.
#include <cstdint>
#include <vector>

namespace dilmodeli::nash {

inline constexpr int32_t kDefaultMaxNeighbours = 7;

class Game {
public:
    int32_t num_players() const { return int32_t(strategy_begin_.size()) - 1; }
    int32_t num_strategies(int32_t player) const {
        return int32_t(strategy_begin_[player + 1] - strategy_begin_[player]);
    }
    int32_t max_strategies() const { return max_strategies_; }
    int64_t num_slots() const { return strategy_begin_.back(); }
    int64_t strategy_begin(int32_t player) const { return strategy_begin_[player]; }

    double private_cost(int32_t player, int32_t s) const { return cost_[slot(player, s)]; }
    double bytes(int32_t player, int32_t s) const { return bytes_[slot(player, s)]; }
    int32_t label(int32_t player, int32_t s) const { return label_[slot(player, s)]; }

    // Neighbour entries of player i are [neighbour_begin(i), neighbour_begin(i + 1)), sorted by
    // neighbour index; every entry i -> j has its mirror j -> i with the same weight and kernel.
    int32_t max_neighbours() const { return max_neighbours_; }
    int64_t neighbour_begin(int32_t player) const { return neighbour_begin_[player]; }
    int32_t degree(int32_t player) const {
        return int32_t(neighbour_begin_[player + 1] - neighbour_begin_[player]);
    }
    int32_t neighbour(int64_t entry) const { return neighbour_[entry]; }
    double coupling_weight(int64_t entry) const { return weight_[entry]; }
    int32_t coupling_kernel(int64_t entry) const { return kernel_of_entry_[entry]; }
    // w_ij(a, b) for the entry i -> j.
    double coupling(int32_t player, int64_t entry, int32_t s_player, int32_t s_neighbour) const {
        const int32_t j = neighbour_[entry];
        return weight_[entry] * kernel_value(kernel_of_entry_[entry], label(player, s_player),
                                             label(j, s_neighbour));
    }

    int32_t num_kernels() const { return int32_t(kernel_labels_.size()); }
    int32_t kernel_labels(int32_t kernel) const { return kernel_labels_[kernel]; }
    double kernel_value(int32_t kernel, int32_t label_a, int32_t label_b) const {
        return kernel_values_[kernel_begin_[kernel] + int64_t(label_a) * kernel_labels_[kernel] +
                              label_b];
    }
    // The kernel's table, row-major (kernel_labels x kernel_labels).
    const double* kernel_table(int32_t kernel) const {
        return kernel_values_.data() + kernel_begin_[kernel];
    }

    // Congestion. The resources of slot t are resource_of_[resource_begin(t) .. +count).
    bool has_resources() const { return num_resources() > 0; }
    int32_t num_resources() const { return int32_t(load_curve_begin_.size()) - 1; }
    bool uses_resources(int32_t player) const { return uses_resources_[player] != 0; }
    int64_t resource_begin(int64_t slot) const { return resource_begin_[slot]; }
    int32_t resource(int64_t index) const { return resource_of_[index]; }
    // g_r(load) for 1 <= load <= max_load(r): the cost each occupant of r pays.
    double load_cost(int32_t resource, int32_t load) const {
        return load_curve_[load_curve_begin_[resource] + load - 1];
    }
    // The largest load the resource's curve covers (at least the number of players that can
    // occupy it).
    int32_t max_load(int32_t resource) const {
        return int32_t(load_curve_begin_[resource + 1] - load_curve_begin_[resource]);
    }

    int64_t slot(int32_t player, int32_t s) const { return strategy_begin_[player] + s; }

    // Raw arrays for the hot loops (indexed by slot or by neighbour entry).
    const double* cost_data() const { return cost_.data(); }
    const double* bytes_data() const { return bytes_.data(); }
    const int32_t* label_data() const { return label_.data(); }

private:
    friend class GameBuilder;

    std::vector<int64_t> strategy_begin_{0};  // (num_players + 1)
    std::vector<double> cost_;                // (num_slots) c_i(s)
    std::vector<double> bytes_;               // (num_slots) bytes_i(s), 0 when not given
    std::vector<int32_t> label_;              // (num_slots) coupling label
    int32_t max_strategies_ = 0;

    int32_t max_neighbours_ = kDefaultMaxNeighbours;
    std::vector<int64_t> neighbour_begin_{0};  // (num_players + 1)
    std::vector<int32_t> neighbour_;           // (entries) j
    std::vector<double> weight_;               // (entries) weight_ij
    std::vector<int32_t> kernel_of_entry_;     // (entries)

    std::vector<int32_t> kernel_labels_;  // (kernels) L
    std::vector<int64_t> kernel_begin_;   // (kernels) offset into kernel_values_
    std::vector<double> kernel_values_;   // concatenated L x L tables

    std::vector<int64_t> resource_begin_{0};    // (num_slots + 1)
    std::vector<int32_t> resource_of_;          // concatenated resource lists
    std::vector<int64_t> load_curve_begin_{0};  // (num_resources + 1)
    std::vector<double> load_curve_;            // concatenated g_r(1..max_load)
    std::vector<uint8_t> uses_resources_;       // (num_players)
};

}  // namespace dilmodeli::nash
