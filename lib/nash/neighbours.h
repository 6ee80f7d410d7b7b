#pragma once
// Neighbourhoods by similarity: the k nearest players in a feature space, made symmetric (the
// game needs j in N(i) exactly when i in N(j)) without exceeding k. Neighbourhoods by position
// (adjacent blocks, the same role in the next layer) need no search: add them to the GameBuilder
// directly.
#include <cstdint>
#include <vector>

namespace dilmodeli::nash {

// Neighbour lists in CSR form; distances are squared Euclidean, in double.
struct NeighbourLists {
    std::vector<int64_t> begin{0};  // (points + 1)
    std::vector<int32_t> index;     // neighbours of each point
    std::vector<double> distance;   // matching squared distances

    int32_t num_points() const { return int32_t(begin.size()) - 1; }
    int32_t degree(int32_t point) const { return int32_t(begin[point + 1] - begin[point]); }
};

// Exact k nearest neighbours of every point (not itself), nearest first, ties to the lower
// index; min(k, points - 1) each. Not symmetric. `features` is row-major (points, dim).
// A k-d tree, queried in parallel (TBB): fast for low dimensions (up to ~10-20), and no worse
// than the O(points^2 * dim) brute force above that.
NeighbourLists k_nearest(const float* features, int32_t num_points, int32_t dim, int32_t k);

// Symmetrised and capped at k: candidate edges are the union of the directed lists; taken
// shortest first (ties by the lower index pair), an edge is kept while both ends have fewer than
// k. So every mutual k-nearest pair is kept (each end has fewer than k shorter candidates), a
// one-sided pair is kept when room is left, and no point exceeds k. A point may end with fewer
// than k (rarely none, next to crowded points). Lists come out sorted by neighbour index.
NeighbourLists symmetric_capped(const NeighbourLists& directed, int32_t k);

// k_nearest followed by symmetric_capped: what GameBuilder::add_edge expects.
NeighbourLists nearest_neighbours(const float* features, int32_t num_points, int32_t dim,
                                  int32_t k);

}  // namespace dilmodeli::nash
