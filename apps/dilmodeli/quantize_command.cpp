// `quantize`: one type for every matrix (--type), or a mixture chosen by the Nash-swarm engine
// under a size budget (--budget-bpw, --target-size), or a preset that prunes and then
// quantizes (--preset, --preset-file). The work is compress::run_quantize.
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "command.h"
#include "compress/pipeline.h"
#include "compress/report.h"

namespace dilmodeli::app {
namespace {

// Progress on stderr: a bar when stderr is a terminal, nothing otherwise.
std::function<void(size_t, size_t)> progress_bar(const std::string& what) {
    const bool terminal = ::isatty(STDERR_FILENO) && spdlog::get_level() <= spdlog::level::info;
    return [terminal, what](size_t done, size_t total) {
        if (!terminal || total == 0) return;
        const int width = 30, filled = int(width * done / total);
        std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu %s", filled, "##############################", width - filled, "",
                     done, total, what.c_str());
        if (done == total) std::fputc('\n', stderr);
        std::fflush(stderr);
    };
}

}  // namespace

void add_quantize_command(CLI::App& root, Action& action) {
    auto o = std::make_shared<compress::QuantizeRequest>();
    auto json = std::make_shared<bool>(false);
    CLI::App* cmd = root.add_subcommand(
        "quantize", "Re-encode a GGUF model's weight matrices: one type, or a mixture chosen under a size budget");
    cmd->add_option("input", o->input, "GGUF model to read")->required();
    cmd->add_option("output", o->output, "GGUF file to write (never the input)")->required();
    auto* type = cmd->add_option(
        "--type", o->type,
        "One type for every matrix: Q8_0, Q5_1, Q5_0, Q4_1, Q4_0, IQ4_NL, Q6_K, Q5_K, Q4_K, Q3_K, Q2_K, TQ2_0, "
        "TQ1_0, F16, BF16, F32");
    auto* bpw = cmd->add_option("--budget-bpw", o->budget_bpw,
                                "Mixed precision: file bytes x 8 / all parameters (norms included) at most this");
    auto* size = cmd->add_option("--target-size", o->target_size,
                                 "Mixed precision: the whole output file at most this many bytes (K, M, G: x1024)");
    auto* preset = cmd->add_option("--preset", o->preset,
                                   "low, balanced or high: prune, then mixed precision (configs/presets/NAME.json)");
    auto* preset_file = cmd->add_option("--preset-file", o->preset_file, "A preset JSON file");
    type->excludes(bpw)->excludes(size)->excludes(preset)->excludes(preset_file);
    bpw->excludes(size)->excludes(preset)->excludes(preset_file);
    size->excludes(preset)->excludes(preset_file);
    preset->excludes(preset_file);
    cmd->add_option("--calib", o->calib, "Calibration text: importance-weighted rounding and errors");
    cmd->add_option("--calib-chunks", o->calib_chunks, "Calibration chunks (0: the whole text)")->capture_default_str();
    cmd->add_option("--calib-ctx", o->calib_ctx, "Tokens per calibration chunk (default: min(256, trained context))");
    cmd->add_option("--importance", o->importance,
                    "Mixed precision: how output error turns into cost: relative (relative output error per weight; the "
                    "default with --calib), loss (measured KL per matrix; slower) or output (raw; the default "
                    "without --calib)");
    cmd->add_option("--sensitivity-chunks", o->sensitivity_chunks,
                    "--importance loss: calibration chunks per matrix and probe for measuring its effect on the loss")
        ->capture_default_str();
    cmd->add_option("--sensitivity-probes", o->probes,
                    "--importance loss: types at which each matrix's effect on the loss is measured")
        ->capture_default_str();
    cmd->add_option("--cohesion", o->cohesion,
                    "Mixed precision: cost per bit of difference between neighbouring matrices, in units of an "
                    "average matrix's cost at Q3_K")
        ->capture_default_str();
    cmd->add_option("--types", o->types, "Mixed precision: allowed types (default TQ1_0,Q2_K,Q3_K,Q4_0,Q4_K,Q5_K,Q6_K,Q8_0,F16)");
    cmd->add_flag("--uniform-output", o->uniform_output,
                  "--type: give output.weight the same type (llama.cpp gives it Q6_K for 2- to 5-bit types)");
    cmd->add_option("-t,--threads", o->threads, "Threads (default: all)");
    cmd->add_flag("--json", *json, "Print the report as one JSON object");
    cmd->footer("Presets: ./configs/presets/NAME.json, else PREFIX/share/dilmodeli/presets/NAME.json (beside the\n"
                "installed binary's bin/), else the built-in ones.\n"
                "Examples:\n  dilmodeli quantize model-F32.gguf model-Q4_K.gguf --type Q4_K\n"
                "  dilmodeli quantize model-F32.gguf small.gguf --budget-bpw 4.5 --calib train.txt\n"
                "  dilmodeli quantize model-F32.gguf small.gguf --preset balanced --calib train.txt");
    cmd->callback([o, json, &action] {
        action = [o, json] {
            o->progress = progress_bar;
            const compress::QuantizeResult result = compress::run_quantize(*o);
            print_line(*json ? json_text(compress::quantize_json(result)) : compress::quantize_text(result));
        };
    });
}

}  // namespace dilmodeli::app
