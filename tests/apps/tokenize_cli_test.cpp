// `dilmodeli tokenize` as a user drives it: on vocabulary-only GGUFs (no tensors), the three
// output forms, BOS handling, special tokens, and one clear line with exit code 2 for a bad file.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/run_cli.h"
#include "support/shared_data.h"

using namespace dilmodeli::testing;
using nlohmann::json;

namespace {
const char* kQwen2 = "models/tokenizers/ggml-vocab-qwen2.gguf";
const char* kLlama3 = "models/tokenizers/ggml-vocab-llama-bpe.gguf";
}  // namespace

TEST_CASE("tokenize prints ids, pieces and JSON for a vocabulary-only file", "[cli][tokenizer]") {
    if (!have_shared(kLlama3)) return;
    const std::string base = "tokenize -m " + quoted(shared_path(kLlama3)) + " -p 'Hello world'";

    // Llama 3 asks for BOS (128000); --no-bos leaves it out.
    CliResult ids = run_cli(base + " --ids");
    REQUIRE(ids.exit_code == 0);
    CHECK(ids.out == "[128000, 9906, 1917]\n");
    CHECK(run_cli(base + " --ids --no-bos").out == "[9906, 1917]\n");

    CliResult pieces = run_cli(base);
    REQUIRE(pieces.exit_code == 0);
    CHECK(pieces.out == "128000 -> '<|begin_of_text|>'\n  9906 -> 'Hello'\n  1917 -> ' world'\n");

    CliResult j = run_cli(base + " --json");
    REQUIRE(j.exit_code == 0);
    const json parsed = json::parse(j.out);
    CHECK(parsed["ids"] == json::array({128000, 9906, 1917}));
    CHECK(parsed["pieces"] == json::array({"<|begin_of_text|>", "Hello", " world"}));
    CHECK(parsed["pre_tokenizer"] == "llama-bpe");
    CHECK(parsed["vocab_size"] == 128256);
    CHECK(parsed["count"] == 3);
}

TEST_CASE("tokenize matches control tokens only with --parse-special", "[cli][tokenizer]") {
    if (!have_shared(kQwen2)) return;
    const std::string base = "tokenize -m " + quoted(shared_path(kQwen2)) + " -p '<|im_start|>user' --ids";
    CHECK(run_cli(base + " --parse-special").out == "[151644, 872]\n");
    CHECK(run_cli(base).out == "[27, 91, 318, 4906, 91, 29, 872]\n");
}

TEST_CASE("tokenize explains a bad file in one line with exit code 2", "[cli][tokenizer]") {
    const std::string dir = temp_dir("tokenize-cli");
    {
        std::ofstream(dir + "/not.gguf") << "this is not a GGUF file";
    }
    CliResult r = run_cli("tokenize -m " + quoted(dir + "/not.gguf") + " -p hi");
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(count_lines(r.err) == 1);
    CHECK_THAT(r.err, Catch::StartsWith("dilmodeli: error: ") && Catch::Contains("not.gguf"));

    CliResult no_vocab = run_cli("tokenize -p hi -m " + quoted(dir + "/missing.gguf"));
    CHECK(no_vocab.exit_code != 0);
    CHECK(count_lines(no_vocab.err) == 1);

    CliResult help = run_cli("tokenize --help");
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out, Catch::Contains("Example:") && Catch::Contains("--parse-special"));
}
