// `prune`: zeros inside matrices, or whole FFN channels removed. The work is compress::run_prune.
#include <nlohmann/json.hpp>

#include "command.h"
#include "compress/pipeline.h"
#include "compress/report.h"

namespace dilmodeli::app {

void add_prune_command(CLI::App& root, Action& action) {
    auto o = std::make_shared<compress::PruneRequest>();
    auto json = std::make_shared<bool>(false);
    CLI::App* cmd = root.add_subcommand("prune", "Remove weights or whole FFN channels from a GGUF model");
    cmd->add_option("input", o->input, "GGUF model to read (F32, F16 or BF16 weights)")->required();
    cmd->add_option("output", o->output, "GGUF file to write (never the input)")->required();
    cmd->add_option("--sparsity", o->sparsity, "Fraction of the prunable weights (or FFN channels) to remove, in [0, 1)")
        ->capture_default_str();
    cmd->add_option("--method", o->method, "magnitude, wanda or nash")->capture_default_str();
    cmd->add_option("--calib", o->calib, "Calibration text (required by wanda and nash)");
    cmd->add_option("--calib-chunks", o->calib_chunks, "Calibration chunks (0: the whole text)")->capture_default_str();
    cmd->add_option("--calib-ctx", o->calib_ctx, "Tokens per calibration chunk (default: min(256, trained context))");
    cmd->add_option("--structured", o->structure,
                    "ffn: remove whole FFN channels so that the tensors shrink (default: unstructured zeros)");
    cmd->add_option("--ffn-widths", o->widths,
                    "uniform (one width for all layers: llama.cpp can load it) or per-layer (dilmodeli only)")
        ->capture_default_str();
    cmd->add_option("--ffn-multiple", o->width_multiple,
                    "Round FFN widths to a multiple of this (default: 32 when the widths are; 256 keeps K-quants)");
    cmd->add_option("--neighbours", o->neighbours, "Nash: neighbours per block (the flock's k)")->capture_default_str();
    cmd->add_option("--cohesion", o->cohesion, "Nash: cost of disagreeing with a neighbour, in saliencies")
        ->capture_default_str();
    cmd->add_option("-t,--threads", o->threads, "Threads (default: all)");
    cmd->add_flag("--json", *json, "Print the report as one JSON object");
    cmd->footer("Example:\n"
                "  dilmodeli prune model-F32.gguf pruned.gguf --sparsity 0.3 --method nash --structured ffn --calib train.txt");
    cmd->callback([o, json, &action] {
        action = [o, json] {
            const compress::PruneReport report = compress::run_prune(*o);
            print_line(*json ? json_text(compress::prune_json(report, o->method, o->structure))
                             : compress::prune_text(report));
        };
    });
}

}  // namespace dilmodeli::app
