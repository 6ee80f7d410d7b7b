// `tokenize`: text -> token ids for any GGUF with tokenizer metadata, including vocabulary-only
// files (no tensors), printed the way llama.cpp's llama-tokenize prints them.
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <string>

#include "command.h"
#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::app {

namespace {

struct TokenizeOptions {
    std::string model = kDefaultModelPath;
    std::string prompt;
    bool ids_only = false;
    bool json = false;
    bool no_bos = false;
    bool parse_special = false;
};

// What a reader should see for `id`: its bytes, or for control tokens (whose piece is empty
// when decoding) their text, as llama-tokenize shows them.
std::string display_piece(const tokenizer::Tokenizer& tok, int32_t id) {
    const std::string_view piece = tok.token_to_piece(id);
    if (piece.empty() && tok.vocabulary().type(id) == tokenizer::TokenType::Control) {
        return tok.vocabulary().text(id);
    }
    return std::string(piece);
}

std::string id_list(const std::vector<int32_t>& ids) {
    std::string out = "[";
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i > 0) out += ", ";
        out += std::to_string(ids[i]);
    }
    return out + "]";
}

void tokenize(const TokenizeOptions& o) {
    const auto start = std::chrono::steady_clock::now();
    const auto tok = [&] {
        const auto file = gguf::GgufFile::open(o.model);
        return tokenizer::Tokenizer::from_gguf(*file);
    }();  // the file's metadata copy is freed here: only the tokenizer stays
    const double load_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    spdlog::debug("vocabulary of {} tokens loaded in {:.1f} ms", tok->vocab_size(), load_ms);
    // As llama-tokenize: BOS (and EOS) only when the vocabulary asks for them.
    const std::vector<int32_t> ids = tok->encode(o.prompt, !o.no_bos, o.parse_special);

    if (o.json) {
        nlohmann::json pieces = nlohmann::json::array();
        for (int32_t id : ids) pieces.push_back(display_piece(*tok, id));
        const nlohmann::json j = {{"model", o.model},
                                  {"tokenizer", tok->model_kind()},
                                  {"pre_tokenizer", tok->vocabulary().pre_tokenizer()},
                                  {"vocab_size", tok->vocab_size()},
                                  {"load_ms", load_ms},
                                  {"add_bos", !o.no_bos && tok->add_bos_default()},
                                  {"parse_special", o.parse_special},
                                  {"count", ids.size()},
                                  {"ids", ids},
                                  {"pieces", pieces}};
        print_line(json_text(j));
    } else if (o.ids_only) {
        print_line(id_list(ids));
    } else {
        std::string out;
        for (int32_t id : ids) {
            char number[16];
            std::snprintf(number, sizeof(number), "%6d", id);
            out += std::string(number) + " -> '" + display_piece(*tok, id) + "'\n";
        }
        std::fwrite(out.data(), 1, out.size(), stdout);
        std::fflush(stdout);
    }
}

}  // namespace

void add_tokenize_command(CLI::App& root, Action& action) {
    auto o = std::make_shared<TokenizeOptions>();
    CLI::App* cmd = root.add_subcommand(
        "tokenize", "Print the token ids of a text, as llama.cpp's llama-tokenize does");
    cmd->add_option("-m,--model", o->model,
                    "GGUF file with tokenizer metadata; a vocabulary-only file will do")
        ->capture_default_str();
    cmd->add_option("-p,--prompt", o->prompt, "Text to tokenize, used verbatim (no escapes)")
        ->required();
    cmd->add_flag("--ids", o->ids_only, "Print only the ids, as a list: [1, 2, 3]");
    cmd->add_flag("--json", o->json, "Print one JSON object (ids, pieces, settings)");
    cmd->add_flag("--no-bos", o->no_bos,
                  "Add no BOS/EOS even when the vocabulary asks for them (llama_tokenize add_special = false)");
    cmd->add_flag("--parse-special", o->parse_special,
                  "Turn control tokens written in the text (<|im_start|>, <start_of_turn>) into their ids; "
                  "user-defined tokens always are. Note: llama-tokenize does this by default");
    cmd->footer(
        "Example:\n"
        "  dilmodeli tokenize -m ../shared/models/tokenizers/ggml-vocab-qwen2.gguf "
        "-p '<|im_start|>user Merhaba' --parse-special --ids");
    cmd->callback([o, &action] {
        action = [o] { tokenize(*o); };
    });
}

}  // namespace dilmodeli::app
