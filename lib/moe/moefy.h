#pragma once
// MoEfication: a dense llama's FFN split into E experts of n_ff/E channels each, written as a
// standard llama MoE GGUF (llama.expert_count / expert_used_count, 3-D expert tensors) that
// llama.cpp loads.
//
// Per layer: the FFN channels (a row of gate and up, the matching column of down) are put into
// E equal clusters by balanced k-means, on the unit-length gate rows or, with calibration text,
// on each channel's activation silu(g.x)*(u.x) over the calibration tokens (channels that fire
// together go together). When E does not divide n_ff, experts are padded with zero channels
// (silu(0) * 0 = 0: the padding changes nothing). The router row of expert e is, with
// calibration text, the least-squares fit of lib/moe/router_fit.h, else the mean of its
// channels' gate rows; either times router_scale.
//
// Expert outputs are scaled by k (baked into ffn_down_exps): llama.cpp combines the k chosen
// experts with weights that sum to 1, so a chosen expert gets about 1/k where the dense sum
// gave it 1. Under dilmodeli's `uniform` combine (weights exactly 1/k) and top-k = E the MoE
// layer computes exactly the dense layer's sum; tests check the logits against the dense model.
#include <cstdint>
#include <string>
#include <vector>

namespace dilmodeli::moe {

enum class ClusterBy { GateRows, Activations };
enum class RouterKind { Centroid, LeastSquares };

struct MoefyOptions {
    int64_t experts = 8;
    int64_t top_k = 2;
    std::string calibration_text;   // a text file; needed by Activations and LeastSquares
    int64_t calibration_tokens = 2048;
    ClusterBy cluster = ClusterBy::GateRows;
    RouterKind router = RouterKind::Centroid;
    double router_scale = 1.0;
    int32_t iterations = 20;        // k-means rounds
    uint64_t seed = 1;
    int threads = 0;
};

// How well a layer's router picks experts, on the calibration tokens: relative squared error of
// the top-k MoE output (llama.cpp gating) against the dense FFN output.
struct LayerRouterReport {
    double error = 0;           // the router written
    double centroid_error = 0;  // the centroid router, for comparison
    double oracle_error = 0;    // picking the k experts of largest true contribution
    double sharpness = 1;       // least-squares router: factor chosen for its logits
};

struct MoefyReport {
    int64_t layers = 0;
    int64_t experts = 0;
    int64_t top_k = 0;
    int64_t dense_ff = 0;        // of layer 0
    int64_t expert_ff = 0;       // channels per expert (padded), layer 0
    int64_t padding_channels = 0;  // zero channels added, all layers
    bool calibrated = false;
    ClusterBy cluster = ClusterBy::GateRows;
    RouterKind router = RouterKind::Centroid;
    std::vector<LayerRouterReport> routers;  // per layer, when calibrated
    uint64_t bytes_written = 0;
};

// Error(Usage) for bad options or a file that is already MoE; Error(BadInput) for a file that
// is not a dense llama.
MoefyReport moefy(const std::string& input_path, const std::string& output_path, const MoefyOptions& options);

// Names used by flags, metadata and reports: "gate_rows"/"activations", "centroid"/"lsq".
const char* cluster_name(ClusterBy c);
const char* router_kind_name(RouterKind r);
ClusterBy parse_cluster(const std::string& name);      // Error(Usage) naming the value
RouterKind parse_router_kind(const std::string& name);  // Error(Usage) naming the value

// Balanced k-means on n unit-length points of `dim` floats (row-major): returns
// clusters * cluster_size slots, slot s in cluster s / cluster_size, holding a point index or
// -1 (padding; needs clusters * cluster_size >= n). Deterministic for a seed.
std::vector<int32_t> balanced_kmeans(const std::vector<float>& points, int64_t n, int64_t dim, int64_t clusters,
                                     int64_t cluster_size, int32_t iterations, uint64_t seed);

}  // namespace dilmodeli::moe
