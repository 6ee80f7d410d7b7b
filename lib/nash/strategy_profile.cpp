#include "nash/strategy_profile.h"

#include <algorithm>
#include <random>
#include <string>

#include "common/error.h"

namespace dilmodeli::nash {

void check_profile(const Game& game, const Profile& profile) {
    if (int64_t(profile.size()) != game.num_players()) {
        throw usage_error("nash: the profile has " + std::to_string(profile.size()) +
                          " strategies for " + std::to_string(game.num_players()) + " players");
    }
    for (int32_t i = 0; i < game.num_players(); ++i) {
        if (profile[i] < 0 || profile[i] >= game.num_strategies(i)) {
            throw usage_error("nash: the profile gives player " + std::to_string(i) + " strategy " +
                              std::to_string(profile[i]) + " of " +
                              std::to_string(game.num_strategies(i)));
        }
    }
}

Profile cheapest_private_profile(const Game& game, double price) {
    Profile profile(size_t(game.num_players()), 0);
    for (int32_t i = 0; i < game.num_players(); ++i) {
        double best = 0;
        for (int32_t s = 0; s < game.num_strategies(i); ++s) {
            const double cost = game.private_cost(i, s) + price * game.bytes(i, s);
            if (s == 0 || cost < best) {
                best = cost;
                profile[i] = s;
            }
        }
    }
    return profile;
}

Profile random_profile(const Game& game, uint64_t seed) {
    // A plain modulo rather than std::uniform_int_distribution, whose output differs between
    // standard libraries; the tiny bias does not matter for a starting point.
    std::mt19937_64 rng(seed);
    Profile profile(size_t(game.num_players()), 0);
    for (int32_t i = 0; i < game.num_players(); ++i) {
        profile[i] = int32_t(rng() % uint64_t(game.num_strategies(i)));
    }
    return profile;
}

std::vector<int32_t> resource_loads(const Game& game, const Profile& profile) {
    std::vector<int32_t> loads(size_t(game.num_resources()), 0);
    if (!game.has_resources()) return loads;
    for (int32_t i = 0; i < game.num_players(); ++i) {
        const int64_t t = game.slot(i, profile[i]);
        for (int64_t k = game.resource_begin(t); k < game.resource_begin(t + 1); ++k) {
            loads[game.resource(k)]++;
        }
    }
    return loads;
}

double total_bytes(const Game& game, const Profile& profile) {
    double sum = 0;
    for (int32_t i = 0; i < game.num_players(); ++i) sum += game.bytes(i, profile[i]);
    return sum;
}

double minimum_bytes(const Game& game) {
    double sum = 0;
    for (int32_t i = 0; i < game.num_players(); ++i) {
        const double* b = game.bytes_data() + game.strategy_begin(i);
        sum += *std::min_element(b, b + game.num_strategies(i));
    }
    return sum;
}

}  // namespace dilmodeli::nash
