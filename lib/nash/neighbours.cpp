#include "nash/neighbours.h"

#include <algorithm>
#include <numeric>
#include <string>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "common/error.h"

namespace dilmodeli::nash {
namespace {

constexpr int32_t kLeafSize = 16;

struct Candidate {
    double distance;
    int32_t index;
    bool operator<(const Candidate& other) const {
        return distance != other.distance ? distance < other.distance : index < other.index;
    }
};

class KdTree {
public:
    KdTree(const float* features, int32_t num_points, int32_t dim)
        : features_(features), dim_(dim), order_(size_t(num_points)) {
        std::iota(order_.begin(), order_.end(), 0);
        if (num_points > 0) build(0, num_points);
    }

    // The k best (distance, index) of `query` into `best`, sorted, `query` itself excluded.
    void search(int32_t query, int32_t k, std::vector<Candidate>& best) const {
        best.clear();
        if (k > 0 && !nodes_.empty()) visit(0, query, k, best);
        std::sort_heap(best.begin(), best.end());
    }

private:
    struct Node {
        int32_t begin, end;   // range of order_
        int32_t split_dim;    // -1: leaf
        float split_value;    // left holds coordinates <= it, right >= it
        int32_t left, right;  // child nodes
    };

    const float* point(int32_t p) const { return features_ + int64_t(p) * dim_; }

    double distance(int32_t a, int32_t b) const {
        const float* x = point(a);
        const float* y = point(b);
        double sum = 0;
        for (int32_t d = 0; d < dim_; ++d) {
            const double diff = double(x[d]) - double(y[d]);
            sum += diff * diff;
        }
        return sum;
    }

    int32_t build(int32_t begin, int32_t end) {
        const auto id = int32_t(nodes_.size());
        nodes_.push_back({begin, end, -1, 0.0f, -1, -1});
        if (end - begin <= kLeafSize) return id;
        // Split the widest dimension at its median: balanced, and cells stay roughly square.
        int32_t widest = 0;
        float widest_spread = -1;
        for (int32_t d = 0; d < dim_; ++d) {
            float lo = point(order_[begin])[d], hi = lo;
            for (int32_t k = begin + 1; k < end; ++k) {
                const float v = point(order_[k])[d];
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
            if (hi - lo > widest_spread) {
                widest_spread = hi - lo;
                widest = d;
            }
        }
        if (!(widest_spread > 0)) return id;  // all points equal: keep as one leaf
        const int32_t middle = begin + (end - begin) / 2;
        std::nth_element(order_.begin() + begin, order_.begin() + middle, order_.begin() + end,
                         [&](int32_t a, int32_t b) { return point(a)[widest] < point(b)[widest]; });
        const float split = point(order_[middle])[widest];
        const int32_t left = build(begin, middle);
        const int32_t right = build(middle, end);
        nodes_[id].split_dim = widest;
        nodes_[id].split_value = split;
        nodes_[id].left = left;
        nodes_[id].right = right;
        return id;
    }

    // `best` is a max-heap of at most k candidates, its front the worst kept.
    void visit(int32_t node_id, int32_t query, int32_t k, std::vector<Candidate>& best) const {
        const Node& node = nodes_[node_id];
        if (node.split_dim < 0) {
            for (int32_t slot = node.begin; slot < node.end; ++slot) {
                const int32_t p = order_[slot];
                if (p == query) continue;
                const Candidate c{distance(query, p), p};
                if (int32_t(best.size()) < k) {
                    best.push_back(c);
                    std::push_heap(best.begin(), best.end());
                } else if (c < best.front()) {
                    std::pop_heap(best.begin(), best.end());
                    best.back() = c;
                    std::push_heap(best.begin(), best.end());
                }
            }
            return;
        }
        const double diff = double(point(query)[node.split_dim]) - double(node.split_value);
        const int32_t near = diff < 0 ? node.left : node.right;
        const int32_t far = diff < 0 ? node.right : node.left;
        visit(near, query, k, best);
        // Equal distance must still be searched: a point there may win on a lower index.
        if (int32_t(best.size()) < k || diff * diff <= best.front().distance) {
            visit(far, query, k, best);
        }
    }

    const float* features_;
    int32_t dim_;
    std::vector<int32_t> order_;
    std::vector<Node> nodes_;
};

}  // namespace

NeighbourLists k_nearest(const float* features, int32_t num_points, int32_t dim, int32_t k) {
    if (num_points < 0 || dim < 1 || k < 0) {
        throw usage_error("nash: k_nearest needs points >= 0, dim >= 1 and k >= 0; got " +
                          std::to_string(num_points) + ", " + std::to_string(dim) + ", " +
                          std::to_string(k));
    }
    const int32_t per_point = std::max(0, std::min(k, num_points - 1));
    NeighbourLists lists;
    lists.begin.resize(size_t(num_points) + 1);
    for (int32_t p = 0; p <= num_points; ++p) lists.begin[p] = int64_t(p) * per_point;
    lists.index.resize(size_t(num_points) * per_point);
    lists.distance.resize(lists.index.size());
    const KdTree tree(features, num_points, dim);
    tbb::parallel_for(tbb::blocked_range<int32_t>(0, num_points, 256),
                      [&](const tbb::blocked_range<int32_t>& range) {
                          std::vector<Candidate> best;
                          for (int32_t p = range.begin(); p < range.end(); ++p) {
                              tree.search(p, per_point, best);
                              for (int32_t n = 0; n < per_point; ++n) {
                                  lists.index[lists.begin[p] + n] = best[n].index;
                                  lists.distance[lists.begin[p] + n] = best[n].distance;
                              }
                          }
                      });
    return lists;
}

NeighbourLists symmetric_capped(const NeighbourLists& directed, int32_t k) {
    if (k < 0) throw usage_error("nash: symmetric_capped needs k >= 0, got " + std::to_string(k));
    struct Edge {
        double distance;
        int32_t a, b;  // a < b
    };
    const int32_t n = directed.num_points();
    std::vector<Edge> edges;
    edges.reserve(directed.index.size());
    for (int32_t p = 0; p < n; ++p) {
        for (int64_t e = directed.begin[p]; e < directed.begin[p + 1]; ++e) {
            const int32_t q = directed.index[e];
            if (q == p) continue;
            edges.push_back({directed.distance[e], std::min(p, q), std::max(p, q)});
        }
    }
    std::sort(edges.begin(), edges.end(), [](const Edge& x, const Edge& y) {
        if (x.distance != y.distance) return x.distance < y.distance;
        return x.a != y.a ? x.a < y.a : x.b < y.b;
    });

    std::vector<int32_t> degree(size_t(n), 0);
    std::vector<Edge> kept;
    for (size_t e = 0; e < edges.size(); ++e) {
        const Edge& edge = edges[e];
        // A mutual pair appears twice, adjacently (same distance, same pair).
        if (e > 0 && edges[e - 1].a == edge.a && edges[e - 1].b == edge.b &&
            edges[e - 1].distance == edge.distance) {
            continue;
        }
        if (degree[edge.a] < k && degree[edge.b] < k) {
            degree[edge.a]++;
            degree[edge.b]++;
            kept.push_back(edge);
        }
    }

    NeighbourLists lists;
    lists.begin.assign(size_t(n) + 1, 0);
    for (int32_t p = 0; p < n; ++p) lists.begin[p + 1] = lists.begin[p] + degree[p];
    lists.index.resize(size_t(lists.begin[n]));
    lists.distance.resize(lists.index.size());
    std::vector<int64_t> next(lists.begin.begin(), lists.begin.end() - 1);
    for (const Edge& edge : kept) {
        lists.index[next[edge.a]] = edge.b;
        lists.distance[next[edge.a]++] = edge.distance;
        lists.index[next[edge.b]] = edge.a;
        lists.distance[next[edge.b]++] = edge.distance;
    }
    for (int32_t p = 0; p < n; ++p) {
        std::vector<std::pair<int32_t, double>> row;
        for (int64_t e = lists.begin[p]; e < lists.begin[p + 1]; ++e) {
            row.emplace_back(lists.index[e], lists.distance[e]);
        }
        std::sort(row.begin(), row.end());
        for (size_t r = 0; r < row.size(); ++r) {
            lists.index[lists.begin[p] + int64_t(r)] = row[r].first;
            lists.distance[lists.begin[p] + int64_t(r)] = row[r].second;
        }
    }
    return lists;
}

NeighbourLists nearest_neighbours(const float* features, int32_t num_points, int32_t dim,
                                  int32_t k) {
    return symmetric_capped(k_nearest(features, num_points, dim, k), k);
}

}  // namespace dilmodeli::nash
