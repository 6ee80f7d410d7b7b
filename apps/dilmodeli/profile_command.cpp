#include <memory>
#include <nlohmann/json.hpp>

#include "command.h"
#include "common/atomic_file.h"
#include "profile/html_report.h"
#include "profile/profiler.h"
#include "profile/text_report.h"
#include "profile/units.h"

namespace dilmodeli::app {

void add_profile_command(CLI::App& root, Action& action) {
    struct Options {
        profile::ProfileOptions profile;
        bool json = false;
        bool no_scaling = false;
        std::string html;
        std::string ladder_min = "16K";
        std::string ladder_max = "1G";
        std::string stream_size = "128M";
        ResidencyFlags residency;
    };
    auto o = std::make_shared<Options>();
    o->profile.model_path = kDefaultModelPath;
    CLI::App* cmd = root.add_subcommand(
        "profile", "Time a prompt and a generation op by op and set them against this machine's caches and bandwidth");
    cmd->add_option("-m,--model", o->profile.model_path, "GGUF model file")->capture_default_str();
    cmd->add_option("-p,--prompt", o->profile.prompt, "Prompt text (default: a built-in paragraph, about 140 Llama tokens)");
    cmd->add_option("--n-prompt", o->profile.n_prompt, "Force the prompt to this many tokens (repeating or cutting it)");
    cmd->add_option("-n,--n-gen", o->profile.n_gen, "Tokens to generate one at a time")->capture_default_str();
    cmd->add_option("-t,--threads", o->profile.threads, "Threads (default: physical cores)");
    cmd->add_option("-b,--batch", o->profile.batch, "Prompt tokens per forward step")->capture_default_str();
    cmd->add_option("--kv-type", o->profile.kv_type, "KV cache element type: f32 or f16")->capture_default_str();
    cmd->add_option("--seed", o->profile.seed, "Sampler seed")->capture_default_str();
    cmd->add_option("--ladder-min", o->ladder_min, "Smallest working set of the bandwidth ladder")->capture_default_str();
    cmd->add_option("--ladder-max", o->ladder_max, "Largest working set of the bandwidth ladder (caps probe time)")
        ->capture_default_str();
    cmd->add_option("--ladder-points", o->profile.bandwidth.points_per_octave, "Ladder points per doubling of size")
        ->capture_default_str();
    cmd->add_option("--stream-size", o->stream_size, "Size of each of the triad's three arrays")->capture_default_str();
    add_residency_flags(cmd, o->residency);
    cmd->add_flag("--no-thread-scaling", o->no_scaling, "Skip the untimed 1-thread comparison run");
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->add_option("--html", o->html, "Also write a self-contained HTML report to this file");
    cmd->footer("JSON keys are documented in lib/profile/profile_report.h.\n"
                "Example:\n  dilmodeli profile -m model.gguf -n 32 --html profile.html");
    cmd->callback([o, &action] {
        action = [o] {
            profile::ProfileOptions& p = o->profile;
            p.bandwidth.ladder_min_bytes = profile::parse_byte_size(o->ladder_min, "--ladder-min");
            p.bandwidth.ladder_max_bytes = profile::parse_byte_size(o->ladder_max, "--ladder-max");
            p.bandwidth.stream_array_bytes = profile::parse_byte_size(o->stream_size, "--stream-size");
            p.thread_scaling = !o->no_scaling;
            p.residency = o->residency.residency();
            p.validate();
            // Opened first, so an unwritable path fails before the profile runs.
            std::unique_ptr<AtomicFileWriter> html;
            if (!o->html.empty()) html = std::make_unique<AtomicFileWriter>(o->html, p.model_path);
            const profile::ProfileReport report = profile::run_profile(p);
            if (html) {
                const std::string page = profile::render_html(report);
                html->write(page.data(), page.size());
                html->commit();
            }
            if (o->json) {
                print_line(json_text(profile::to_json(report)));
            } else {
                std::string text = profile::format_text(report);
                if (!text.empty() && text.back() == '\n') text.pop_back();
                print_line(text);
            }
        };
    });
}

}  // namespace dilmodeli::app
