#pragma once
// splitmix64: a tiny, fast generator whose stream depends only on its seed, so that each row or
// tensor a producer makes can be made independently (and in parallel) with identical results.
#include <cstdint>

namespace dilmodeli::producers {

inline uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

}  // namespace dilmodeli::producers
