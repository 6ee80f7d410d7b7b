// Ids that llama.cpp's llama-tokenize printed (tests/tokenizer/golden/README.md) for the
// stories260K tokenizer test strings, Turkish ones among them, through six real vocabularies,
// and for chat markup whose special tokens must come out as single ids.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "support/shared_data.h"
#include "tokenizer/tokenizer.h"

using dilmodeli::testing::have_shared;
using dilmodeli::testing::shared_path;
using dilmodeli::tokenizer::Tokenizer;

namespace {

// Returns how many lines were checked and how many of them had parse_special on.
std::pair<size_t, size_t> check_golden(const std::string& vocab) {
    const std::string golden =
        std::string(DILMODELI_SOURCE_DIR) + "/tests/tokenizer/golden/llama_tokenize_" + vocab + ".jsonl";
    std::ifstream in(golden);
    REQUIRE(in.good());
    const auto file = dilmodeli::gguf::GgufFile::open(
        shared_path("models/tokenizers/ggml-vocab-" + vocab + ".gguf"));
    const auto tok = Tokenizer::from_gguf(*file);

    size_t lines = 0, special = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        const nlohmann::json j = nlohmann::json::parse(line);
        const std::string text = j["text"];
        const bool parse_special = j["parse_special"];
        INFO(vocab << ": '" << text << "' parse_special=" << parse_special);
        // llama-tokenize's add_special: what the vocabulary asks for.
        CHECK(tok->encode(text, tok->add_bos_default(), parse_special) ==
              j["ids"].get<std::vector<int32_t>>());
        ++lines;
        special += parse_special ? 1 : 0;
    }
    return {lines, special};
}

}  // namespace

TEST_CASE("ids equal llama-tokenize's for Turkish and chat text in every vocabulary",
          "[tokenizer]") {
    for (const char* vocab : {"llama-bpe", "qwen2", "phi-3", "gemma-4", "gpt-2", "llama-spm"}) {
        if (!have_shared(std::string("models/tokenizers/ggml-vocab-") + vocab + ".gguf")) continue;
        const auto [lines, special] = check_golden(vocab);
        CHECK(lines >= 21);
        CHECK(special >= 1);
    }
}
