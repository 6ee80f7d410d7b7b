#include "command.h"
#include "gguf/file_summary.h"
#include "gguf/gguf_file.h"

namespace dilmodeli::app {

void add_inspect_command(CLI::App& root, Action& action) {
    struct Options {
        std::string file;
        bool json = false;
        bool tensors = false;
    };
    auto options = std::make_shared<Options>();
    CLI::App* cmd = root.add_subcommand("inspect", "Show a GGUF file's architecture, hyper-parameters, tokenizer and tensors");
    cmd->add_option("file", options->file, "GGUF model file")->required();
    cmd->add_flag("--json", options->json, "Print one JSON object");
    cmd->add_flag("--tensors", options->tensors, "List every tensor");
    cmd->footer("Example:\n  dilmodeli inspect model.gguf --tensors");
    cmd->callback([options, &action] {
        action = [options] {
            auto file = gguf::GgufFile::open(options->file);
            auto summary = gguf::summarize(*file, options->tensors);
            print_line(options->json ? json_text(summary) : gguf::format_summary(summary));
        };
    });
}

}  // namespace dilmodeli::app
