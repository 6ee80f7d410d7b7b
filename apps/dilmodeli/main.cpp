// dilmodeli: flags in, library calls out. Every error becomes one line on stderr and the exit
// code documented in the README (0 ok, 1 usage, 2 bad input file, 3 I/O error).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "command.h"
#include "common/atomic_file.h"
#include "common/error.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitInterrupted = 130;

extern "C" void on_interrupt(int) {
    dilmodeli::remove_pending_temporaries();
    const char msg[] = "dilmodeli: interrupted\n";
    ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)ignored;
    _exit(kExitInterrupted);
}

void setup_logging(const dilmodeli::app::GlobalOptions& options) {
    auto logger = spdlog::stderr_color_mt("dilmodeli");
    logger->set_pattern("%^[%l]%$ %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(options.quiet ? spdlog::level::err
                                    : options.verbose ? spdlog::level::debug : spdlog::level::info);
}

}  // namespace

namespace dilmodeli::app {
void add_residency_flags(CLI::App* cmd, ResidencyFlags& flags) {
    CLI::Option* copy = cmd->add_flag(
        "--no-mmap", flags.no_mmap,
        "Always read the model into memory (huge pages). Default: do so when transparent huge pages are "
        "on and the file takes at most half the available memory, else map it");
    cmd->add_flag("--mmap", flags.mmap,
                  "Always map the model file (starts faster and shares the page cache; generation may be "
                  "slower where the page cache holds the file in 4 KiB pages)")
        ->excludes(copy);
}

std::string json_text(const nlohmann::json& j) {
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

void print_line(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}
}  // namespace dilmodeli::app

int main(int argc, char** argv) {
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);

    CLI::App root{"dilmodeli: compress small and medium language models and run them fast on CPUs"};
    root.require_subcommand(1);
    root.fallthrough();
    dilmodeli::app::GlobalOptions global;
    root.add_flag("-v,--verbose", global.verbose, "Log details to stderr");
    root.add_flag("-q,--quiet", global.quiet, "Log only errors");
    root.set_version_flag("--version", dilmodeli::app::version_text,
                          "Print the version, git revision, build type and SIMD kernels, and exit");
    root.footer("Exit codes: 0 ok, 1 usage error, 2 bad input file, 3 I/O error.");

    dilmodeli::app::Action action;
    dilmodeli::app::add_inspect_command(root, action);
    dilmodeli::app::add_import_command(root, action);
    dilmodeli::app::add_run_command(root, action);
    dilmodeli::app::add_eval_command(root, action);
    dilmodeli::app::add_synth_command(root, action);
    dilmodeli::app::add_quantize_command(root, action);
    dilmodeli::app::add_prune_command(root, action);
    dilmodeli::app::add_bench_command(root, action);
    dilmodeli::app::add_profile_command(root, action);
    dilmodeli::app::add_moefy_command(root, action);
    dilmodeli::app::add_route_bench_command(root, action);
    dilmodeli::app::add_tokenize_command(root, action);
    dilmodeli::app::add_serve_command(root, action);
    dilmodeli::app::add_embed_command(root, action);
    dilmodeli::app::add_chat_command(root, action);
    // bench_command.cpp shows no example of its own yet: add the one every subcommand's help shows
    // (after a footer of its own, if it has one; inert once it has an example).
    if (CLI::App* bench = root.get_subcommand("bench"); bench->get_footer().find("Example") == std::string::npos) {
        const std::string own = bench->get_footer() == root.get_footer() ? "" : bench->get_footer() + "\n";
        bench->footer(own + "Example:\n  dilmodeli bench -m model.gguf -p 512 -n 128 -t 1,2 --json");
    }

    try {
        root.parse(argc, argv);
    } catch (const CLI::RequiredError& e) {
        if (!root.get_subcommands().empty()) return root.exit(e) == 0 ? kExitOk : kExitUsage;
        // No subcommand: the help on stdout, then the complaint on a line of its own.
        std::string help = root.help();
        if (help.empty() || help.back() != '\n') help += '\n';
        std::fwrite(help.data(), 1, help.size(), stdout);
        std::fflush(stdout);
        std::fprintf(stderr, "dilmodeli: error: a subcommand is required (one of the commands above)\n");
        return kExitUsage;
    } catch (const CLI::ParseError& e) {
        int code = root.exit(e);
        return code == 0 ? kExitOk : kExitUsage;
    }
    setup_logging(global);
    try {
        action();
    } catch (const dilmodeli::Error& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "dilmodeli: error: %s\n", e.what());
        return e.exit_code();
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "dilmodeli: error: out of memory\n");
        return static_cast<int>(dilmodeli::ErrorKind::Io);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dilmodeli: error: %s\n", e.what());
        return static_cast<int>(dilmodeli::ErrorKind::Io);
    }
    return kExitOk;
}
