#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "command.h"
#include "common/error.h"
#include "moe/moefy.h"

namespace dilmodeli::app {

void add_moefy_command(CLI::App& root, Action& action) {
    struct Options {
        std::string input, output;
        moe::MoefyOptions moefy;
        std::string cluster = "gate_rows", router;
        bool json = false;
    };
    auto o = std::make_shared<Options>();
    CLI::App* cmd = root.add_subcommand(
        "moefy", "Split a dense llama's FFNs into experts (MoEfication); writes a llama MoE GGUF llama.cpp loads");
    cmd->add_option("input", o->input, "Dense llama GGUF")->required();
    cmd->add_option("output", o->output, "MoE GGUF to write")->required();
    cmd->add_option("--experts", o->moefy.experts, "Experts per layer (padded with zero channels when they do not "
                                                   "divide the FFN width)")->capture_default_str();
    cmd->add_option("--top-k", o->moefy.top_k, "Experts used per token (llama.expert_used_count)")->capture_default_str();
    cmd->add_option("--calib", o->moefy.calibration_text,
                    "Calibration text: fit the router by least squares to the experts' true contributions");
    cmd->add_option("--cluster", o->cluster,
                    "Group channels by their gate weight rows (gate_rows) or by co-activation on the calibration "
                    "text (activations)")
        ->capture_default_str();
    cmd->add_option("--router-fit", o->router,
                    "Router rows: lsq (least squares on calibration text; default with --calib) or centroid (mean "
                    "gate row of the expert's channels; default without)");
    cmd->add_option("--calib-tokens", o->moefy.calibration_tokens, "Calibration tokens per layer")->capture_default_str();
    cmd->add_option("--router-scale", o->moefy.router_scale,
                    "Multiply the router's logits by this factor")->capture_default_str();
    cmd->add_option("--seed", o->moefy.seed, "k-means seed")->capture_default_str();
    cmd->add_option("-t,--threads", o->moefy.threads, "Threads for calibration (default: physical cores)");
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->footer("Example:\n  dilmodeli moefy model-F32.gguf moe.gguf --experts 8 --top-k 2 --calib train.txt");
    cmd->callback([o, &action] {
        action = [o] {
            o->moefy.cluster = moe::parse_cluster(o->cluster);
            o->moefy.router = o->router.empty()
                                  ? (o->moefy.calibration_text.empty() ? moe::RouterKind::Centroid
                                                                       : moe::RouterKind::LeastSquares)
                                  : moe::parse_router_kind(o->router);
            check_output_path(o->output, o->input);
            const moe::MoefyReport r = moe::moefy(o->input, o->output, o->moefy);
            nlohmann::json layers = nlohmann::json::array();
            for (const auto& lr : r.routers)
                layers.push_back({{"error", lr.error},
                                  {"centroid_error", lr.centroid_error},
                                  {"oracle_error", lr.oracle_error},
                                  {"sharpness", lr.sharpness}});
            if (o->json) {
                print_line(json_text(nlohmann::json{{"output", o->output},
                                          {"layers", r.layers},
                                          {"experts", r.experts},
                                          {"top_k", r.top_k},
                                          {"dense_ff", r.dense_ff},
                                          {"expert_ff", r.expert_ff},
                                          {"padding_channels", r.padding_channels},
                                          {"clustering", moe::cluster_name(r.cluster)},
                                          {"router", moe::router_kind_name(r.router)},
                                          {"router_fit", layers},
                                          {"bytes", r.bytes_written}}
                               ));
                return;
            }
            char line[512];
            std::snprintf(line, sizeof line,
                          "%s: %lld layers, FFN %lld -> %lld experts x %lld channels (%lld padding), top-%lld, "
                          "clustered by %s, %s router, %llu bytes",
                          o->output.c_str(), static_cast<long long>(r.layers), static_cast<long long>(r.dense_ff),
                          static_cast<long long>(r.experts), static_cast<long long>(r.expert_ff),
                          static_cast<long long>(r.padding_channels), static_cast<long long>(r.top_k),
                          moe::cluster_name(r.cluster), moe::router_kind_name(r.router),
                          static_cast<unsigned long long>(r.bytes_written));
            print_line(line);
            for (size_t l = 0; l < r.routers.size(); ++l) {
                const auto& lr = r.routers[l];
                std::snprintf(line, sizeof line,
                              "  layer %zu: top-%lld output error %.4f (centroid router %.4f, best possible choice "
                              "%.4f), sharpness %.2f",
                              l, static_cast<long long>(r.top_k), lr.error, lr.centroid_error, lr.oracle_error,
                              lr.sharpness);
                print_line(line);
            }
        };
    });
}

}  // namespace dilmodeli::app
