#pragma once
// Rosenthal's potential of the game:
//   Phi = sum_i [c_i(s_i) + price * bytes_i(s_i)] + sum_{i<j neighbours} w_ij(s_i, s_j)
//       + sum_r sum_{l=1..load_r} g_r(l).
// A unilateral move changes Phi by exactly the mover's change in cost, so every improving move
// lowers Phi and best-response dynamics cannot cycle. Tracking it is the cheapest check that
// the dynamics behave.
#include "nash/game.h"
#include "nash/strategy_profile.h"

namespace dilmodeli::nash {

// Summed serially in player order, so the value is bit-for-bit reproducible. O(players * k).
double potential(const Game& game, const Profile& profile, double price = 0.0);

}  // namespace dilmodeli::nash
