#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/atomic_file.h"
#include "command.h"
#include "common/error.h"
#include "producers/llama2c_import.h"

namespace dilmodeli::app {

void add_import_command(CLI::App& root, Action& action) {
    struct Options {
        std::string format;
        producers::Llama2cImportOptions llama2c;
        bool json = false;
    };
    auto options = std::make_shared<Options>();
    CLI::App* cmd = root.add_subcommand("import", "Convert a model from another format into GGUF");
    cmd->add_option("format", options->format, "Source format (llama2c)")
        ->required()
        ->check(CLI::IsMember({"llama2c"}));
    cmd->add_option("model", options->llama2c.checkpoint_path, "llama2.c checkpoint (.bin)")->required();
    cmd->add_option("--tokenizer", options->llama2c.tokenizer_path, "llama2.c tokenizer.bin")->required();
    cmd->add_option("-o,--output", options->llama2c.output_path, "GGUF file to write")->required();
    cmd->add_option("--name", options->llama2c.model_name, "general.name (default: the checkpoint's file name)");
    cmd->add_flag("--json", options->json, "Print one JSON object");
    cmd->footer("Example:\n  dilmodeli import llama2c stories260K.bin --tokenizer tok512.bin -o stories260K.gguf");
    cmd->callback([options, &action] {
        action = [options] {
            check_output_path(options->llama2c.output_path, options->llama2c.checkpoint_path);
            auto r = producers::import_llama2c(options->llama2c);
            nlohmann::json j = {{"output", options->llama2c.output_path}, {"bytes", r.bytes_written},
                                {"tensors", r.tensor_count}, {"dim", r.dim}, {"hidden_dim", r.hidden_dim},
                                {"layers", r.n_layers}, {"heads", r.n_heads}, {"kv_heads", r.n_kv_heads},
                                {"vocab", r.vocab_size}, {"context", r.seq_len},
                                {"shared_classifier", r.shared_classifier},
                                {"checkpoint_version", r.checkpoint_version}};
            if (options->json) {
                print_line(json_text(j));
            } else {
                print_line("wrote " + options->llama2c.output_path + ": " + std::to_string(r.tensor_count) +
                           " tensors, " + std::to_string(r.bytes_written) + " bytes (dim " +
                           std::to_string(r.dim) + ", " + std::to_string(r.n_layers) + " layers, vocab " +
                           std::to_string(r.vocab_size) + ")");
            }
        };
    });
}

}  // namespace dilmodeli::app
