#include <cstdio>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "command.h"
#include "common/error.h"
#include "producers/family_transplant.h"
#include "producers/synthetic_model.h"

namespace dilmodeli::app {

void add_synth_command(CLI::App& root, Action& action) {
    struct Options {
        producers::SynthOptions synth;
        std::string shape = "110M";
        std::string type = "F32";
        std::string arch;
        std::string from;
        bool json = false;
    };
    auto o = std::make_shared<Options>();
    CLI::App* cmd = root.add_subcommand(
        "synth", "Write a random-weight llama model of a realistic shape (for benchmarks), or carry a llama model "
                 "into another family (--from, for tests against llama.cpp)");
    cmd->footer("Examples:\n  dilmodeli synth /tmp/110M.gguf --shape 110M --type Q4_0 --vocab ggml-vocab-llama-spm.gguf\n"
                "  dilmodeli synth /tmp/qwen3.gguf --shape qwen3-0.6b --type Q4_K --vocab ggml-vocab-qwen2.gguf\n"
                "  dilmodeli synth /tmp/qwen3.gguf --arch qwen3 --from tinystories-5M-F32.gguf");
    cmd->add_option("output", o->synth.output_path, "GGUF file to write")->required();
    cmd->add_option("--shape", o->shape, producers::shape_names() + " or DIMxLAYERS; named shapes of other "
                                                                  "families need their --arch")
        ->capture_default_str();
    cmd->add_option("--type", o->type, "Weight type: F32, F16, Q8_0, Q4_0, Q4_K, ...")->capture_default_str();
    cmd->add_option("--vocab", o->synth.vocab_path,
                    "GGUF with the tokenizer to embed (e.g. ggml-vocab-llama-spm.gguf); required without --from");
    cmd->add_option("--arch", o->arch,
                    "Family of the model: " + model::supported_architecture_names() + " (default: the shape's)");
    cmd->add_option("--from", o->from,
                    "An F32 llama model whose weights the --arch model carries (its rows permuted for NeoX rope, "
                    "fused where the family fuses, added norms and biases near neutral)");
    cmd->add_option("--seed", o->synth.seed, "Random seed")->capture_default_str();
    cmd->add_flag("--uniform-output", o->synth.uniform_output,
                  "Give output.weight --type too (default: Q6_K for 2- to 5-bit types, as llama.cpp)");
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->callback([o, &action] {
        action = [o] {
            if (o->arch.empty()) o->arch = model::architecture(producers::parse_shape(o->shape).family).name;
            const model::Architecture* arch = model::find_architecture(o->arch);
            if (!arch) throw usage_error("--arch '" + o->arch + "' is not one of " + model::supported_architecture_names());
            if (!o->from.empty()) {
                check_output_path(o->synth.output_path);
                producers::TransplantOptions t{o->from, o->synth.output_path, arch->family, o->synth.seed};
                const uint64_t bytes = producers::transplant_llama_model(t);
                nlohmann::json j = {{"output", t.output_path}, {"bytes", bytes}, {"arch", o->arch}, {"from", o->from}};
                print_line(o->json ? json_text(j)
                                   : "wrote " + t.output_path + ": " + o->arch + " carrying " + o->from + ", " +
                                         std::to_string(bytes) + " bytes");
                return;
            }
            if (o->synth.vocab_path.empty()) throw usage_error("--vocab is required without --from");
            o->synth.shape = producers::parse_shape(o->shape, arch->family);
            if (o->synth.shape.family != arch->family)
                throw usage_error("--shape " + o->shape + " is a " + model::architecture(o->synth.shape.family).name +
                                  " shape, not " + o->arch);
            o->synth.type = quant::type_by_name(o->type).id;
            check_output_path(o->synth.output_path);
            const bool terminal = ::isatty(STDERR_FILENO) && spdlog::get_level() <= spdlog::level::info;
            o->synth.progress = [terminal](size_t done, size_t total) {
                if (!terminal) return;
                std::fprintf(stderr, "\rsynth: %zu/%zu tensors%s", done, total, done == total ? "\n" : "");
                std::fflush(stderr);
            };
            auto r = producers::write_synthetic_model(o->synth);
            nlohmann::json j = {{"output", o->synth.output_path}, {"bytes", r.bytes}, {"parameters", r.parameters},
                                {"vocab", r.vocab}, {"type", o->type}, {"shape", o->shape}};
            print_line(o->json ? json_text(j)
                               : "wrote " + o->synth.output_path + ": " + std::to_string(r.parameters) +
                                     " parameters, " + std::to_string(r.bytes) + " bytes");
        };
    });
}

}  // namespace dilmodeli::app
