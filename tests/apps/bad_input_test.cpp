// Bad input to every subcommand: each kind of broken model file, a model of another
// architecture, and every output that cannot be written. Each must give one line on stderr, the
// documented exit code (1 usage, 2 bad input file, 3 I/O), and leave no output file behind.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "support/run_cli.h"
#include "support/shared_data.h"

using namespace dilmodeli;
using namespace dilmodeli::testing;

namespace {

const char* kModel = "models/stories260K/stories260K.gguf";
const char* kVocab = "models/tokenizers/ggml-vocab-llama-spm.gguf";
const char* kText = "data/tinystories/heldout.txt";

// Every subcommand that reads a model, with MODEL where the model goes and OUT for its output.
std::vector<std::string> model_commands(const std::string& out) {
    const std::string text = quoted(shared_path(kText));
    return {
        "inspect MODEL",
        "run -m MODEL -p hi -n 2",
        "eval -m MODEL -f " + text + " --ctx 64 --chunks 1",
        "bench -m MODEL -r 1 -p 8 -n 4",
        "profile -m MODEL -n 4",
        "route-bench -m MODEL -f " + text,
        "quantize MODEL " + out + " --type Q8_0",
        "prune MODEL " + out + " --sparsity 0.3 --method magnitude --structured ffn",
        "moefy MODEL " + out + " --experts 4",
        "synth " + out + " --shape 64x2 --vocab MODEL",
    };
}

std::string with_model(std::string command, const std::string& model) {
    const size_t at = command.find("MODEL");
    return command.replace(at, 5, quoted(model));
}

// A copy of stories260K that says it is a gpt2 model.
void write_other_architecture(const std::string& path) {
    auto in = gguf::GgufFile::open(shared_path(kModel));
    std::vector<gguf::KeyValue> metadata = in->metadata();
    for (gguf::KeyValue& kv : metadata)
        if (kv.key == "general.architecture") kv.value = gguf::Value::string("gpt2");
    gguf::write_gguf(path, metadata, gguf::tensors_as_stored(*in));
}

// One error line, the last thing on stderr. Progress lines ("[info] ...") of the work done
// before a failure that only the write can reveal (/dev/full) may precede it.
void check_one_line(const CliResult& r, int exit_code, const std::string& message) {
    CHECK(r.exit_code == exit_code);
    std::istringstream lines(r.err);
    std::vector<std::string> errors;
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("[info]", 0) != 0) errors.push_back(line);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].rfind("dilmodeli: error: ", 0) == 0);
    CHECK_THAT(errors[0], Catch::Contains(message));
    CHECK(r.err.substr(r.err.size() - errors[0].size() - 1) == errors[0] + "\n");
}

}  // namespace

TEST_CASE("every subcommand refuses broken model files with one line and exit code 2", "[cli][bad-input]") {
    if (!have_shared(kModel) || !have_shared(kVocab)) return;
    const std::string dir = temp_dir("bad-input-models");
    const std::string out_dir = temp_dir("bad-input-models-out");
    std::ofstream(dir + "/empty.gguf").close();
    std::ofstream(dir + "/text.gguf") << "this is not a model";
    std::ofstream(dir + "/truncated.gguf", std::ios::binary) << read_text_file(shared_path(kModel)).substr(0, 100000);
    write_other_architecture(dir + "/gpt2.gguf");

    struct BrokenFile {
        std::string path;
        std::string message;
    };
    const std::vector<BrokenFile> broken = {
        {dir + "/missing.gguf", "no such file"},
        {dir, "is a directory"},
        {dir + "/empty.gguf", "file is empty"},
        {dir + "/text.gguf", "not a GGUF file"},
        {dir + "/truncated.gguf", "file truncated?"},
    };
    for (const std::string& command : model_commands(quoted(out_dir + "/out.gguf"))) {
        for (const BrokenFile& b : broken) {
            const std::string args = with_model(command, b.path);
            INFO(args);
            CliResult r = run_cli(args);
            INFO("stderr: " << r.err);
            check_one_line(r, 2, b.message);
            CHECK_THAT(r.err, Catch::Contains(b.path));
        }
        // A model file of an architecture we do not run, and a vocabulary without weights:
        // refused by everything that needs a llama model (inspect, quantize and synth's
        // --vocab take any GGUF).
        if (command.rfind("inspect", 0) == 0 || command.rfind("quantize", 0) == 0 || command.rfind("synth", 0) == 0)
            continue;
        {
            const std::string args = with_model(command, dir + "/gpt2.gguf");
            INFO(args);
            CliResult r = run_cli(args);
            INFO("stderr: " << r.err);
            check_one_line(r, 2, "unsupported architecture 'gpt2'");
        }
        {
            const std::string args = with_model(command, shared_path(kVocab));
            INFO(args);
            CliResult r = run_cli(args);
            INFO("stderr: " << r.err);
            check_one_line(r, 2, "vocabulary-only");
        }
    }
    CHECK(directory_entries(out_dir) == std::vector<std::string>{".", ".."});
}

TEST_CASE("every subcommand that writes refuses outputs it cannot write, leaving nothing behind",
          "[cli][bad-input]") {
    if (!have_shared(kModel) || !have_shared(kVocab)) return;
    const std::string dir = temp_dir("bad-input-outputs");
    const std::string model = shared_path(kModel);
    const std::string copy = dir + "/model.gguf";
    std::ofstream(copy, std::ios::binary) << read_text_file(model);
    const std::string original = read_text_file(copy);
    const std::string text = quoted(shared_path(kText));
    // Each writer with OUT for its output and its input as `copy`.
    const std::vector<std::string> writers = {
        "quantize " + quoted(copy) + " OUT --type Q8_0",
        "prune " + quoted(copy) + " OUT --sparsity 0.3 --method magnitude",
        "prune " + quoted(copy) + " OUT --sparsity 0.3 --method magnitude --structured ffn",
        "moefy " + quoted(copy) + " OUT --experts 4",
        "quantize " + quoted(copy) + " OUT --budget-bpw 12",
    };
    struct Output {
        std::string path;
        int exit_code;
        std::string message;
    };
    const std::vector<Output> outputs = {
        {copy, 1, "overwrite the input"},
        {dir + "/no-such-directory/out.gguf", 3, "no-such-directory"},
        {"/dev/full", 3, "/dev/full"},
        {dir, 3, dir},
    };
    for (const std::string& writer : writers) {
        for (const Output& o : outputs) {
            std::string args = writer;
            args.replace(args.find("OUT"), 3, quoted(o.path));
            INFO(args);
            CliResult r = run_cli(args);
            INFO("stderr: " << r.err);
            check_one_line(r, o.exit_code, o.message);
        }
    }
    // synth writes from nothing: only the output can be bad.
    for (const Output& o : std::vector<Output>(outputs.begin() + 1, outputs.end())) {
        const std::string args = "synth " + quoted(o.path) + " --shape 64x2 --vocab " + quoted(shared_path(kVocab));
        INFO(args);
        CliResult r = run_cli(args);
        INFO("stderr: " << r.err);
        check_one_line(r, o.exit_code, o.message);
    }
    CHECK(read_text_file(copy) == original);
    CHECK(directory_entries(dir) == std::vector<std::string>{".", "..", "model.gguf"});
}
