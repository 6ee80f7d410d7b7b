#include "nash/potential.h"

namespace dilmodeli::nash {

double potential(const Game& game, const Profile& profile, double price) {
    check_profile(game, profile);
    double phi = 0;
    for (int32_t i = 0; i < game.num_players(); ++i) {
        const int32_t s = profile[i];
        phi += game.private_cost(i, s) + price * game.bytes(i, s);
        const int64_t end = game.neighbour_begin(i + 1);
        for (int64_t e = game.neighbour_begin(i); e < end; ++e) {
            const int32_t j = game.neighbour(e);
            if (j > i) phi += game.coupling(i, e, s, profile[j]);  // each edge once
        }
    }
    const std::vector<int32_t> loads = resource_loads(game, profile);
    for (int32_t r = 0; r < game.num_resources(); ++r) {
        for (int32_t l = 1; l <= loads[r]; ++l) phi += game.load_cost(r, l);
    }
    return phi;
}

}  // namespace dilmodeli::nash
