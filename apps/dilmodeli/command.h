#pragma once
// Each subcommand registers its flags on the CLI and the action to run once they are parsed.
#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "common/mapped_file.h"

namespace dilmodeli::app {

using Action = std::function<void()>;

// Global flags shared by every subcommand.
struct GlobalOptions {
    bool verbose = false;
    bool quiet = false;
};

void add_inspect_command(CLI::App& root, Action& action);
void add_import_command(CLI::App& root, Action& action);
void add_run_command(CLI::App& root, Action& action);
void add_eval_command(CLI::App& root, Action& action);
void add_synth_command(CLI::App& root, Action& action);
void add_bench_command(CLI::App& root, Action& action);
void add_quantize_command(CLI::App& root, Action& action);
void add_prune_command(CLI::App& root, Action& action);
void add_profile_command(CLI::App& root, Action& action);
void add_moefy_command(CLI::App& root, Action& action);
void add_route_bench_command(CLI::App& root, Action& action);
void add_tokenize_command(CLI::App& root, Action& action);
void add_serve_command(CLI::App& root, Action& action);
void add_embed_command(CLI::App& root, Action& action);
void add_chat_command(CLI::App& root, Action& action);

// What `dilmodeli --version` prints: "dilmodeli VERSION" on the first line, then the git revision,
// build type and the SIMD kernels compiled in, detected on this CPU and in use (version.cpp).
std::string version_text();

// The model file used when -m is not given.
constexpr const char* kDefaultModelPath = "models/default.gguf";

// --mmap / --no-mmap for commands that run a model; with neither, Residency::Auto.
struct ResidencyFlags {
    bool mmap = false;
    bool no_mmap = false;
    Residency residency() const {
        return no_mmap ? Residency::Copied : mmap ? Residency::Mapped : Residency::Auto;
    }
};
void add_residency_flags(CLI::App* cmd, ResidencyFlags& flags);

// Prints a JSON document or human text to stdout, newline-terminated.
void print_line(const std::string& text);
// A JSON document as indented text. Strings that are not UTF-8 (generated text cut inside a
// character, byte tokens, metadata of a foreign file) get U+FFFD for each bad byte: nlohmann's
// default is to throw, which would lose the whole result.
std::string json_text(const nlohmann::json& j);

}  // namespace dilmodeli::app
