// Ids that llama.cpp's llama-tokenize gives for stories260K's 512-token SentencePiece
// vocabulary (golden/stories260K/tokenize.jsonl): Turkish, emoji, empty and blank strings,
// all with BOS.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "support/shared_data.h"
#include "tokenizer/tokenizer.h"

using dilmodeli::testing::have_shared;
using dilmodeli::testing::read_text_file;
using dilmodeli::testing::shared_path;
using dilmodeli::tokenizer::Tokenizer;

TEST_CASE("stories260K tokenization equals llama-tokenize's golden ids", "[tokenizer]") {
    const std::string model = "models/stories260K/stories260K.gguf";
    const std::string golden = "golden/stories260K/tokenize.jsonl";
    if (!have_shared(model) || !have_shared(golden)) return;

    const auto file = dilmodeli::gguf::GgufFile::open(shared_path(model));
    const auto tok = Tokenizer::from_gguf(*file);
    CHECK(tok->model_kind() == "llama");
    CHECK(tok->vocab_size() == 512);
    CHECK(tok->bos_id() == 1);
    CHECK(tok->eos_id() == 2);
    CHECK(tok->add_bos_default());

    std::istringstream lines(read_text_file(shared_path(golden)));
    size_t cases = 0;
    for (std::string line; std::getline(lines, line);) {
        if (line.empty()) continue;
        const auto record = nlohmann::json::parse(line);
        const std::string text = record.at("text").get<std::string>();
        const auto expected = record.at("ids_with_bos").get<std::vector<int32_t>>();
        INFO("text: '" << text << "'");
        CHECK(tok->encode(text, true) == expected);
        ++cases;
    }
    CHECK(cases == 20);
}
