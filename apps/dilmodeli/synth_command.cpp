#include <cstdio>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "command.h"
#include "model/synthetic_model.h"

namespace dilmodeli::app {

void add_synth_command(CLI::App& root, Action& action) {
    struct Options {
        model::SynthOptions synth;
        std::string shape = "110M";
        std::string type = "F32";
        bool json = false;
    };
    auto o = std::make_shared<Options>();
    CLI::App* cmd = root.add_subcommand("synth", "Write a random-weight llama model of a realistic shape (for benchmarks)");
    cmd->add_option("output", o->synth.output_path, "GGUF file to write")->required();
    cmd->add_option("--shape", o->shape, "110M, 1B or DIMxLAYERS")->capture_default_str();
    cmd->add_option("--type", o->type, "Weight type: F32, F16, Q8_0, Q4_0, Q4_K, ...")->capture_default_str();
    cmd->add_option("--vocab", o->synth.vocab_path, "GGUF with the tokenizer to embed (e.g. ggml-vocab-llama-spm.gguf)")
        ->required();
    cmd->add_option("--seed", o->synth.seed, "Random seed")->capture_default_str();
    cmd->add_flag("--uniform-output", o->synth.uniform_output,
                  "Give output.weight --type too (default: Q6_K for 2- to 5-bit types, as llama.cpp)");
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->callback([o, &action] {
        action = [o] {
            o->synth.shape = model::parse_shape(o->shape);
            o->synth.type = quant::type_by_name(o->type).id;
            check_output_path(o->synth.output_path);
            const bool terminal = ::isatty(STDERR_FILENO) && spdlog::get_level() <= spdlog::level::info;
            o->synth.progress = [terminal](size_t done, size_t total) {
                if (!terminal) return;
                std::fprintf(stderr, "\rsynth: %zu/%zu tensors%s", done, total, done == total ? "\n" : "");
                std::fflush(stderr);
            };
            auto r = model::write_synthetic_model(o->synth);
            nlohmann::json j = {{"output", o->synth.output_path}, {"bytes", r.bytes}, {"parameters", r.parameters},
                                {"vocab", r.vocab}, {"type", o->type}, {"shape", o->shape}};
            print_line(o->json ? json_text(j)
                               : "wrote " + o->synth.output_path + ": " + std::to_string(r.parameters) +
                                     " parameters, " + std::to_string(r.bytes) + " bytes");
        };
    });
}

}  // namespace dilmodeli::app
