// `embed`: one vector per text (or per token with --pooling none), as llama.cpp's
// llama-embedding computes them (lib/runtime/embedding.h).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <string>
#include <vector>

#include "command.h"
#include "common/error.h"
#include "common/mapped_file.h"
#include "model/model.h"
#include "runtime/embedding.h"
#include "runtime/model_loader.h"
#include "tokenizer/tokenizer.h"

namespace dilmodeli::app {

namespace {

struct EmbedOptions {
    std::string model = kDefaultModelPath;
    std::string prompt;
    bool prompt_given = false;  // -p "" is an empty text, not a missing one
    std::string text_file;
    std::string pooling;  // empty: the model's
    bool normalize = false;
    bool json = false;
    int64_t ctx = 0;
    int threads = 0;
    ResidencyFlags residency;
};

// Shortest decimal that reads back as the same float: JSON numbers are doubles, and a float
// widened to double prints 17 digits.
double float_for_json(float v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", double(v));
    return std::strtod(text, nullptr);
}

// The JSON document with each vector on one line (nlohmann's indented dump puts every number
// on its own).
std::string embeddings_json(const nlohmann::ordered_json& head, const std::vector<runtime::Embedding>& embeddings) {
    std::string out = "{\n";
    for (const auto& [key, value] : head.items())
        out += "  " + nlohmann::json(key).dump() + ": " +
               value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + ",\n";
    out += "  \"embeddings\": [";
    bool first = true;
    for (const runtime::Embedding& e : embeddings)
        for (int64_t r = 0; r < e.rows(); ++r) {
            nlohmann::json row = nlohmann::json::array();
            for (int64_t i = 0; i < e.n_embd; ++i)
                row.push_back(float_for_json(e.values[size_t(r * e.n_embd + i)]));
            out += (first ? "\n    " : ",\n    ") + row.dump();
            first = false;
        }
    return out + "\n  ]\n}";
}

void embed(const EmbedOptions& o) {
    if (o.prompt_given == !o.text_file.empty())
        throw usage_error(o.prompt_given ? "-p and -f exclude each other" : "give a text: -p TEXT or -f FILE");
    if (o.prompt_given && o.prompt.empty()) throw usage_error("empty text (-p ''): nothing to embed");
    if (o.threads < 0) throw usage_error("--threads must be positive");
    if (o.ctx < 0) throw usage_error("--ctx must not be negative");
    std::vector<std::string> texts;
    if (!o.text_file.empty()) {
        MappedFile file(o.text_file);
        texts = runtime::texts_from_lines(
            std::string_view(reinterpret_cast<const char*>(file.data()), file.size()), o.text_file);
    } else {
        texts.push_back(o.prompt);
    }
    // Checked before the model loads, so that a typo costs nothing.
    const bool pooling_flag = !o.pooling.empty();
    runtime::Pooling pooling = pooling_flag ? runtime::parse_pooling(o.pooling) : runtime::Pooling::None;

    auto model = runtime::load_model_to_run(o.model, o.residency.residency());
    if (!pooling_flag) pooling = runtime::model_pooling(*model);
    auto tokenizer = tokenizer::Tokenizer::from_gguf(model->file());
    model::SessionOptions session_options;
    session_options.context = o.ctx;
    session_options.threads = o.threads;
    session_options.output = model::DecodeOutput::Hidden;
    model::Session session(*model, session_options);
    spdlog::debug("{} texts, pooling {}{}", texts.size(), runtime::pooling_name(pooling),
                  pooling_flag ? "" : " (the model's)");

    std::vector<runtime::Embedding> embeddings;
    embeddings.reserve(texts.size());
    for (size_t k = 0; k < texts.size(); ++k) {
        try {
            embeddings.push_back(runtime::embed(session, *tokenizer, texts[k], pooling, o.normalize));
        } catch (const Error& e) {
            if (o.text_file.empty()) throw;
            throw Error(e.kind(), o.text_file + " line " + std::to_string(k + 1) + ": " + e.what());
        }
    }

    if (o.json) {
        nlohmann::ordered_json tokens = nlohmann::ordered_json::array();
        for (const runtime::Embedding& e : embeddings) tokens.push_back(e.tokens);
        const nlohmann::ordered_json head = {{"model", o.model},
                                             {"pooling", runtime::pooling_name(pooling)},
                                             {"n_embd", model->config().n_embd},
                                             {"normalize", o.normalize},
                                             {"tokens", tokens}};
        print_line(embeddings_json(head, embeddings));
        return;
    }
    // As llama-embedding's raw format: one vector a line, numbers separated by spaces.
    std::string out;
    char number[32];
    for (const runtime::Embedding& e : embeddings)
        for (int64_t r = 0; r < e.rows(); ++r) {
            for (int64_t i = 0; i < e.n_embd; ++i) {
                std::snprintf(number, sizeof number, i + 1 < e.n_embd ? "%.7f " : "%.7f\n",
                              double(e.values[size_t(r * e.n_embd + i)]));
                out += number;
            }
        }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
}

}  // namespace

void add_embed_command(CLI::App& root, Action& action) {
    auto o = std::make_shared<EmbedOptions>();
    CLI::App* cmd = root.add_subcommand(
        "embed", "Embedding vectors of texts, as llama.cpp's llama-embedding computes them");
    cmd->add_option("-m,--model", o->model, "GGUF model file")->capture_default_str();
    cmd->add_option("-p,--prompt", o->prompt, "One text, verbatim (newlines included)");
    cmd->add_option("-f,--file", o->text_file, "A file of texts, one a line (no empty lines)");
    cmd->add_option("--pooling", o->pooling,
                    "none (a vector per token), mean, cls (first token) or last. "
                    "Default: the model's <arch>.pooling_type, else none");
    cmd->add_flag("--normalize", o->normalize,
                  "Divide each vector by its Euclidean norm (llama-embedding's default --embd-normalize 2)");
    cmd->add_option("-c,--ctx", o->ctx, "Longest text in tokens (default: the trained context, at most 4096)");
    cmd->add_option("-t,--threads", o->threads, "Threads (default: physical cores)");
    add_residency_flags(cmd, o->residency);
    cmd->add_flag("--json", o->json,
                  "Print one JSON object: model, pooling, n_embd, normalize, tokens (per text), embeddings");
    cmd->footer(
        "Output: one vector a line, in the texts' order (with --pooling none, one per token).\n"
        "Example:\n"
        "  dilmodeli embed -m ../shared/models/tinystories-5M/tinystories-5M-F32.gguf "
        "-p 'Once upon a time' --pooling mean --normalize");
    cmd->callback([o, cmd, &action] {
        o->prompt_given = cmd->count("--prompt") > 0;
        action = [o] { embed(*o); };
    });
}

}  // namespace dilmodeli::app
