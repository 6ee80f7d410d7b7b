#pragma once
// A strategy profile: one chosen strategy per player (profile[i] in 0 .. |S_i|-1), and the
// quantities that follow from it alone.
#include <cstdint>
#include <vector>

#include "nash/game.h"

namespace dilmodeli::nash {

using Profile = std::vector<int32_t>;

// Error(Usage) unless the profile has one valid strategy per player.
void check_profile(const Game& game, const Profile& profile);

// Each player's cheapest strategy by c_i(s) + price * bytes_i(s) alone (lowest index on ties):
// the deterministic starting point of the dynamics.
Profile cheapest_private_profile(const Game& game, double price = 0.0);

// Uniformly random strategies from a seeded generator (same seed, same profile).
Profile random_profile(const Game& game, uint64_t seed);

// Occupants of every resource (num_resources).
std::vector<int32_t> resource_loads(const Game& game, const Profile& profile);

// sum_i bytes_i(profile[i]).
double total_bytes(const Game& game, const Profile& profile);

// sum_i min_s bytes_i(s): the least any profile can use.
double minimum_bytes(const Game& game);

}  // namespace dilmodeli::nash
