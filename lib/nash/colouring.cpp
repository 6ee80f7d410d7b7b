#include "nash/colouring.h"

#include <algorithm>

namespace dilmodeli::nash {

Colouring greedy_colouring(const Game& game) {
    const int32_t n = game.num_players();
    Colouring result;
    result.colour.assign(size_t(n), -1);
    // taken[c] == i marks colour c as used by a neighbour of player i; no clearing needed.
    std::vector<int32_t> taken(size_t(game.max_neighbours()) + 2, -1);
    for (int32_t i = 0; i < n; ++i) {
        const int64_t end = game.neighbour_begin(i + 1);
        for (int64_t e = game.neighbour_begin(i); e < end; ++e) {
            const int32_t c = result.colour[game.neighbour(e)];
            if (c >= 0) taken[c] = i;
        }
        int32_t c = 0;
        while (taken[c] == i) ++c;
        result.colour[i] = c;
        result.num_colours = std::max(result.num_colours, c + 1);
    }
    result.class_begin.assign(size_t(result.num_colours) + 1, 0);
    for (const int32_t c : result.colour) result.class_begin[c + 1]++;
    for (int32_t c = 0; c < result.num_colours; ++c) {
        result.class_begin[c + 1] += result.class_begin[c];
    }
    result.members.resize(size_t(n));
    std::vector<int64_t> next(result.class_begin.begin(), result.class_begin.end() - 1);
    for (int32_t i = 0; i < n; ++i) result.members[next[result.colour[i]]++] = i;
    return result;
}

}  // namespace dilmodeli::nash
