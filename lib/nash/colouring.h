#pragma once
// A proper colouring of the neighbour graph: players of one colour are never neighbours, so
// their best replies do not depend on one another and can be computed at the same time.
#include <cstdint>
#include <vector>

#include "nash/game.h"

namespace dilmodeli::nash {

struct Colouring {
    int32_t num_colours = 0;
    std::vector<int32_t> colour;       // (players)
    std::vector<int64_t> class_begin;  // (num_colours + 1) into `members`
    std::vector<int32_t> members;      // players grouped by colour, increasing index within one
};

// Greedy in player order: each player takes the smallest colour none of its lower-indexed
// neighbours has. Deterministic, O(players * k), and at most k + 1 colours.
Colouring greedy_colouring(const Game& game);

}  // namespace dilmodeli::nash
