#include "nash/game_builder.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"
#include "common/number_format.h"

namespace dilmodeli::nash {
namespace {

std::string number(double value) { return format_number(value, 12); }

std::string player_name(int32_t player) { return "player " + std::to_string(player); }

// Weights computed by an application from (i, j) and from (j, i) may differ in the last bits;
// anything larger is a real asymmetry.
bool nearly_equal(double a, double b) {
    return std::fabs(a - b) <= 1e-9 * std::max(std::fabs(a), std::fabs(b));
}

}  // namespace

GameBuilder::GameBuilder(int32_t max_neighbours) : max_neighbours_(max_neighbours) {
    if (max_neighbours < 0) {
        throw usage_error("nash: max_neighbours must be >= 0, got " +
                          std::to_string(max_neighbours));
    }
}

void GameBuilder::check_player(int32_t player, const char* what) const {
    if (player < 0 || player >= num_players()) {
        throw usage_error(std::string("nash: ") + what + ": no " + player_name(player) + " (" +
                          std::to_string(num_players()) + " players)");
    }
}

int32_t GameBuilder::add_player(const std::vector<double>& private_cost) {
    const auto player = num_players();
    if (private_cost.empty()) {
        throw usage_error("nash: " + player_name(player) + " has no strategies");
    }
    for (size_t s = 0; s < private_cost.size(); ++s) {
        if (!std::isfinite(private_cost[s])) {
            throw usage_error("nash: " + player_name(player) + " strategy " + std::to_string(s) +
                              ": private cost " + number(private_cost[s]) + " is not finite");
        }
        cost_.push_back(private_cost[s]);
        bytes_.push_back(0.0);
        label_.push_back(int32_t(s));
    }
    begin_.push_back(begin_.back() + int64_t(private_cost.size()));
    return player;
}

void GameBuilder::set_bytes(int32_t player, const std::vector<double>& bytes) {
    check_player(player, "set_bytes");
    const int64_t n = begin_[player + 1] - begin_[player];
    if (int64_t(bytes.size()) != n) {
        throw usage_error("nash: " + player_name(player) + " has " + std::to_string(n) +
                          " strategies but " + std::to_string(bytes.size()) + " byte counts");
    }
    for (int64_t s = 0; s < n; ++s) {
        if (!std::isfinite(bytes[s]) || bytes[s] < 0) {
            throw usage_error("nash: " + player_name(player) + " strategy " + std::to_string(s) +
                              ": bytes " + number(bytes[s]) + " must be finite and >= 0");
        }
        bytes_[begin_[player] + s] = bytes[s];
    }
}

void GameBuilder::set_labels(int32_t player, const std::vector<int32_t>& labels) {
    check_player(player, "set_labels");
    const int64_t n = begin_[player + 1] - begin_[player];
    if (int64_t(labels.size()) != n) {
        throw usage_error("nash: " + player_name(player) + " has " + std::to_string(n) +
                          " strategies but " + std::to_string(labels.size()) + " labels");
    }
    for (int64_t s = 0; s < n; ++s) {
        if (labels[s] < 0) {
            throw usage_error("nash: " + player_name(player) + " strategy " + std::to_string(s) +
                              ": negative label " + std::to_string(labels[s]));
        }
        label_[begin_[player] + s] = labels[s];
    }
}

int32_t GameBuilder::add_kernel(int32_t num_labels, const std::vector<double>& table) {
    const auto kernel = int32_t(kernel_labels_.size());
    const std::string name = "nash: coupling kernel " + std::to_string(kernel);
    if (num_labels <= 0 || int64_t(table.size()) != int64_t(num_labels) * num_labels) {
        throw usage_error(name + ": " + std::to_string(table.size()) +
                          " values do not form a square table of " + std::to_string(num_labels) +
                          " labels");
    }
    for (int32_t x = 0; x < num_labels; ++x) {
        for (int32_t y = 0; y < num_labels; ++y) {
            const double xy = table[size_t(x) * num_labels + y];
            const double yx = table[size_t(y) * num_labels + x];
            if (!std::isfinite(xy)) {
                throw usage_error(name + ": K(" + std::to_string(x) + ", " + std::to_string(y) +
                                  ") = " + number(xy) + " is not finite");
            }
            if (xy != yx) {
                throw usage_error(
                    name + " is not symmetric: K(" + std::to_string(x) + ", " + std::to_string(y) +
                    ") = " + number(xy) + " but K(" + std::to_string(y) + ", " + std::to_string(x) +
                    ") = " + number(yx) + "; an asymmetric coupling is not a potential game");
            }
        }
    }
    kernel_labels_.push_back(num_labels);
    kernel_begin_.push_back(int64_t(kernel_values_.size()));
    kernel_values_.insert(kernel_values_.end(), table.begin(), table.end());
    return kernel;
}

void GameBuilder::add_neighbour(int32_t player, int32_t neighbour, int32_t kernel, double weight) {
    check_player(player, "add_neighbour");
    check_player(neighbour, "add_neighbour");
    if (player == neighbour) {
        throw usage_error("nash: " + player_name(player) + " cannot be its own neighbour");
    }
    if (kernel < 0 || kernel >= int32_t(kernel_labels_.size())) {
        throw usage_error("nash: neighbour entry " + std::to_string(player) + " -> " +
                          std::to_string(neighbour) + ": no coupling kernel " +
                          std::to_string(kernel));
    }
    if (!std::isfinite(weight)) {
        throw usage_error("nash: neighbour entry " + std::to_string(player) + " -> " +
                          std::to_string(neighbour) + ": weight " + number(weight) +
                          " is not finite");
    }
    entries_.push_back({player, neighbour, kernel, weight});
}

void GameBuilder::add_edge(int32_t a, int32_t b, int32_t kernel, double weight) {
    add_neighbour(a, b, kernel, weight);
    add_neighbour(b, a, kernel, weight);
}

int32_t GameBuilder::add_resource(const std::vector<double>& cost_at_load) {
    const auto resource = int32_t(load_curve_begin_.size()) - 1;
    for (size_t l = 0; l < cost_at_load.size(); ++l) {
        if (!std::isfinite(cost_at_load[l])) {
            throw usage_error("nash: resource " + std::to_string(resource) + ": g(" +
                              std::to_string(l + 1) + ") = " + number(cost_at_load[l]) +
                              " is not finite");
        }
    }
    load_curve_.insert(load_curve_.end(), cost_at_load.begin(), cost_at_load.end());
    load_curve_begin_.push_back(int64_t(load_curve_.size()));
    return resource;
}

void GameBuilder::add_strategy_resources(int32_t player, int32_t strategy,
                                         const std::vector<int32_t>& resources) {
    check_player(player, "add_strategy_resources");
    if (strategy < 0 || strategy >= begin_[player + 1] - begin_[player]) {
        throw usage_error("nash: " + player_name(player) + " has no strategy " +
                          std::to_string(strategy));
    }
    const auto num_resources = int32_t(load_curve_begin_.size()) - 1;
    for (const int32_t r : resources) {
        if (r < 0 || r >= num_resources) {
            throw usage_error("nash: " + player_name(player) + " strategy " +
                              std::to_string(strategy) + ": no resource " + std::to_string(r));
        }
        slot_resources_.push_back({begin_[player] + strategy, r});
    }
}

Game GameBuilder::build() const {
    Game game;
    const int32_t n = num_players();
    game.strategy_begin_ = begin_;
    game.cost_ = cost_;
    game.bytes_ = bytes_;
    game.label_ = label_;
    for (int32_t i = 0; i < n; ++i) {
        game.max_strategies_ = std::max(game.max_strategies_, int32_t(begin_[i + 1] - begin_[i]));
    }
    game.kernel_labels_ = kernel_labels_;
    game.kernel_begin_ = kernel_begin_;
    game.kernel_values_ = kernel_values_;
    game.max_neighbours_ = max_neighbours_;

    // Neighbours: CSR sorted by (player, neighbour); every entry must have a matching mirror.
    std::vector<NeighbourEntry> entries = entries_;
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        return a.player != b.player ? a.player < b.player : a.neighbour < b.neighbour;
    });
    std::vector<int32_t> max_label(size_t(n), 0);
    for (int32_t i = 0; i < n; ++i) {
        for (int64_t t = begin_[i]; t < begin_[i + 1]; ++t)
            max_label[i] = std::max(max_label[i], label_[t]);
    }
    game.neighbour_begin_.assign(size_t(n) + 1, 0);
    for (size_t e = 0; e < entries.size(); ++e) {
        const auto& entry = entries[e];
        auto name = [&entry] {
            return "nash: neighbour entry " + std::to_string(entry.player) + " -> " +
                   std::to_string(entry.neighbour);
        };
        if (e > 0 && entries[e - 1].player == entry.player &&
            entries[e - 1].neighbour == entry.neighbour) {
            throw usage_error(name() + " is given twice");
        }
        const auto mirror = std::lower_bound(
            entries.begin(), entries.end(), entry, [](const auto& a, const auto& b) {
                return a.player != b.neighbour ? a.player < b.neighbour : a.neighbour < b.player;
            });
        if (mirror == entries.end() || mirror->player != entry.neighbour ||
            mirror->neighbour != entry.player) {
            throw usage_error(name() + " has no mirror entry " + std::to_string(entry.neighbour) +
                              " -> " + std::to_string(entry.player) +
                              ": neighbourhoods must be symmetric");
        }
        if (mirror->kernel != entry.kernel || !nearly_equal(mirror->weight, entry.weight)) {
            throw usage_error("nash: coupling of players " + std::to_string(entry.player) +
                              " and " + std::to_string(entry.neighbour) +
                              " is not symmetric: kernel " + std::to_string(entry.kernel) +
                              " weight " + number(entry.weight) + " one way, kernel " +
                              std::to_string(mirror->kernel) + " weight " + number(mirror->weight) +
                              " the other; w_ij(a,b) must equal w_ji(b,a)");
        }
        const int32_t labels = kernel_labels_[entry.kernel];
        if (max_label[entry.player] >= labels) {
            throw usage_error(name() + ": " + player_name(entry.player) + " has label " +
                              std::to_string(max_label[entry.player]) + " but kernel " +
                              std::to_string(entry.kernel) + " has " + std::to_string(labels) +
                              " labels");
        }
        game.neighbour_begin_[entry.player + 1]++;
        game.neighbour_.push_back(entry.neighbour);
        // One stored value for both directions keeps the potential exact.
        game.weight_.push_back(entry.player < entry.neighbour ? entry.weight : mirror->weight);
        game.kernel_of_entry_.push_back(entry.kernel);
    }
    for (int32_t i = 0; i < n; ++i) {
        const int64_t degree = game.neighbour_begin_[i + 1];
        if (degree > max_neighbours_) {
            throw usage_error(
                "nash: " + player_name(i) + " has " + std::to_string(degree) +
                " neighbours, more than the limit k = " + std::to_string(max_neighbours_));
        }
        game.neighbour_begin_[i + 1] += game.neighbour_begin_[i];
    }

    // Resources: CSR by slot; each curve must cover the most occupants the resource can have.
    std::vector<SlotResource> occupied = slot_resources_;
    std::sort(occupied.begin(), occupied.end(), [](const auto& a, const auto& b) {
        return a.slot != b.slot ? a.slot < b.slot : a.resource < b.resource;
    });
    const int64_t num_slots = begin_.back();
    game.resource_begin_.assign(size_t(num_slots) + 1, 0);
    game.uses_resources_.assign(size_t(n), 0);
    game.load_curve_begin_ = load_curve_begin_;
    game.load_curve_ = load_curve_;
    const auto num_resources = int32_t(load_curve_begin_.size()) - 1;
    std::vector<int32_t> possible_load(size_t(num_resources), 0);
    std::vector<int32_t> last_player(size_t(num_resources), -1);
    int32_t player = 0;
    for (size_t k = 0; k < occupied.size(); ++k) {
        const auto& o = occupied[k];
        while (begin_[player + 1] <= o.slot) ++player;
        if (k > 0 && occupied[k - 1].slot == o.slot && occupied[k - 1].resource == o.resource) {
            throw usage_error("nash: " + player_name(player) + " strategy " +
                              std::to_string(o.slot - begin_[player]) + " lists resource " +
                              std::to_string(o.resource) + " twice");
        }
        game.resource_begin_[o.slot + 1]++;
        game.resource_of_.push_back(o.resource);
        game.uses_resources_[player] = 1;
        if (last_player[o.resource] != player) {
            last_player[o.resource] = player;
            possible_load[o.resource]++;
        }
    }
    for (int64_t t = 0; t < num_slots; ++t) game.resource_begin_[t + 1] += game.resource_begin_[t];
    for (int32_t r = 0; r < num_resources; ++r) {
        if (game.max_load(r) < possible_load[r]) {
            throw usage_error("nash: resource " + std::to_string(r) + ": the load curve covers " +
                              std::to_string(game.max_load(r)) + " occupants but " +
                              std::to_string(possible_load[r]) + " players can occupy it");
        }
    }
    return game;
}

}  // namespace dilmodeli::nash
