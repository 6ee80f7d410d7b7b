#include "moe/swarm_bound.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "common/error.h"
#include "moe/router.h"

namespace dilmodeli::moe {

namespace {

// Dinic's max-flow on a small graph with integer capacities.
class FlowGraph {
public:
    explicit FlowGraph(int64_t nodes) : head_(size_t(nodes), -1), level_(size_t(nodes)), next_edge_(size_t(nodes)) {}

    // Returns the index of the forward edge (its reverse is index ^ 1).
    int64_t add_edge(int64_t from, int64_t to, int64_t capacity) {
        edges_.push_back({to, capacity, head_[size_t(from)]});
        head_[size_t(from)] = int64_t(edges_.size()) - 1;
        edges_.push_back({from, 0, head_[size_t(to)]});
        head_[size_t(to)] = int64_t(edges_.size()) - 1;
        return int64_t(edges_.size()) - 2;
    }
    // Restores every edge to its capacity before flow (forward edges keep theirs in `original`).
    void reset(const std::vector<int64_t>& original) {
        for (size_t i = 0; i < edges_.size(); ++i) edges_[i].capacity = i % 2 == 0 ? original[i / 2] : 0;
    }
    std::vector<int64_t> capacities() const {
        std::vector<int64_t> c;
        for (size_t i = 0; i < edges_.size(); i += 2) c.push_back(edges_[i].capacity);
        return c;
    }

    int64_t max_flow(int64_t source, int64_t sink) {
        int64_t flow = 0;
        while (build_levels(source, sink)) {
            next_edge_ = head_;
            while (int64_t pushed = push(source, sink, std::numeric_limits<int64_t>::max())) flow += pushed;
        }
        return flow;
    }

private:
    struct Edge {
        int64_t to, capacity, next;
    };

    bool build_levels(int64_t source, int64_t sink) {
        std::fill(level_.begin(), level_.end(), -1);
        std::vector<int64_t> queue = {source};
        level_[size_t(source)] = 0;
        for (size_t at = 0; at < queue.size(); ++at)
            for (int64_t e = head_[size_t(queue[at])]; e >= 0; e = edges_[size_t(e)].next)
                if (edges_[size_t(e)].capacity > 0 && level_[size_t(edges_[size_t(e)].to)] < 0) {
                    level_[size_t(edges_[size_t(e)].to)] = level_[size_t(queue[at])] + 1;
                    queue.push_back(edges_[size_t(e)].to);
                }
        return level_[size_t(sink)] >= 0;
    }

    // Depth is at most 3 edges here (source, token, expert, sink), so recursion is shallow.
    int64_t push(int64_t node, int64_t sink, int64_t limit) {
        if (node == sink) return limit;
        for (int64_t& e = next_edge_[size_t(node)]; e >= 0; e = edges_[size_t(e)].next) {
            Edge& edge = edges_[size_t(e)];
            if (edge.capacity <= 0 || level_[size_t(edge.to)] != level_[size_t(node)] + 1) continue;
            if (int64_t pushed = push(edge.to, sink, std::min(limit, edge.capacity))) {
                edge.capacity -= pushed;
                edges_[size_t(e ^ 1)].capacity += pushed;
                return pushed;
            }
        }
        return 0;
    }

    std::vector<Edge> edges_;
    std::vector<int64_t> head_, level_, next_edge_;
};

}  // namespace

int64_t swarm_min_max_load(const float* probs, int64_t n_tokens, int64_t n_experts, int64_t k, int64_t group) {
    if (k < 1 || group < k || group > n_experts)
        throw usage_error("swarm bound: need 1 <= k <= group <= experts (k " + std::to_string(k) + ", group " +
                          std::to_string(group) + ", experts " + std::to_string(n_experts) + ")");
    if (n_tokens <= 0) return 0;
    // Nodes: source, tokens, experts, sink.
    const int64_t source = 0, sink = 1 + n_tokens + n_experts;
    FlowGraph graph(sink + 1);
    std::vector<int32_t> candidates(static_cast<size_t>(group));
    for (int64_t t = 0; t < n_tokens; ++t) {
        graph.add_edge(source, 1 + t, k);
        top_k_indices(probs + t * n_experts, n_experts, group, candidates.data());
        for (int32_t e : candidates) graph.add_edge(1 + t, 1 + n_tokens + e, 1);
    }
    std::vector<int64_t> expert_edges;
    for (int64_t e = 0; e < n_experts; ++e) expert_edges.push_back(graph.add_edge(1 + n_tokens + e, sink, 0));
    auto original = graph.capacities();
    const int64_t demand = n_tokens * k;
    auto feasible = [&](int64_t cap) {
        for (int64_t edge : expert_edges) original[size_t(edge / 2)] = cap;
        graph.reset(original);
        return graph.max_flow(source, sink) == demand;
    };
    // A token uses an expert at most once, so n_tokens always suffices.
    int64_t lo = (demand + n_experts - 1) / n_experts, hi = n_tokens;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (feasible(mid)) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

}  // namespace dilmodeli::moe
