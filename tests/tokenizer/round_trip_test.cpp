// decode(encode(s)) gives s back, under llama.cpp's detokenization rule: a vocabulary with a
// space prefix (SentencePiece) strips one leading space from the first token's piece only.
// With BOS first that piece is BOS's empty one, so the prefix space stays.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "support/shared_data.h"
#include "tokenizer/tokenizer.h"

using dilmodeli::testing::have_shared;
using dilmodeli::testing::shared_path;
using dilmodeli::tokenizer::Tokenizer;

namespace {

std::unique_ptr<Tokenizer> load(const std::string& rel) {
    const auto file = dilmodeli::gguf::GgufFile::open(shared_path(rel));
    return Tokenizer::from_gguf(*file);
}

const std::vector<std::string>& samples() {
    static const std::vector<std::string> texts = {
        "Merhaba, nasılsın? Çığ düştü.",
        "İstanbul'da ağaçlar yeşil.",
        "ğüşıöç ĞÜŞİÖÇ",
        "emoji 🙂 ok 🦙",
        "Привет, мир",
        "日本語のテキスト",
        "new\nline\ttab",
        " leading space",
        "trailing spaces  ",
        "",
        "x",
    };
    return texts;
}

}  // namespace

TEST_CASE("SentencePiece decode inverts encode, the prefix space kept after BOS", "[tokenizer]") {
    for (const char* rel : {"models/stories260K/stories260K.gguf",
                            "models/tokenizers/ggml-vocab-llama-spm.gguf"}) {
        if (!have_shared(rel)) return;
        const auto tok = load(rel);
        for (const std::string& s : samples()) {
            INFO(rel << ": '" << s << "'");
            // No BOS: the first token carries the prefix space, and decode strips it.
            CHECK(tok->decode(tok->encode(s, false)) == s);
            // BOS first: BOS decodes to nothing and the prefix space survives.
            const std::vector<int32_t> with_bos = tok->encode(s, true);
            REQUIRE(!with_bos.empty());
            CHECK(with_bos.front() == tok->bos_id());
            CHECK(tok->decode(with_bos) == (s.empty() ? std::string() : " " + s));
        }
    }
}

TEST_CASE("SentencePiece pieces: spaces, byte tokens and control tokens", "[tokenizer]") {
    const std::string rel = "models/tokenizers/ggml-vocab-llama-spm.gguf";
    if (!have_shared(rel)) return;
    const auto tok = load(rel);
    CHECK(tok->token_to_piece(15043) == " Hello");
    CHECK(tok->token_to_piece(13) == "\n");     // <0x0A>
    CHECK(tok->token_to_piece(243) == "\xF0");  // <0xF0>, first byte of an emoji
    CHECK(tok->token_to_piece(1).empty());      // <s>
    CHECK(tok->token_to_piece(2).empty());      // </s>
    CHECK(tok->token_to_piece(0).empty());      // <unk>
    CHECK_THROWS_AS(tok->token_to_piece(32000), dilmodeli::Error);
    CHECK_THROWS_AS(tok->token_to_piece(-1), dilmodeli::Error);
    // Only the very first token loses its space.
    CHECK(tok->decode({15043, 15043}) == "Hello Hello");
}

TEST_CASE("GPT-2 decode inverts encode", "[tokenizer]") {
    const std::string rel = "models/tokenizers/ggml-vocab-gpt-2.gguf";
    if (!have_shared(rel)) return;
    const auto tok = load(rel);
    CHECK(tok->model_kind() == "gpt2");
    CHECK_FALSE(tok->add_bos_default());
    CHECK(tok->bos_id() == 50256);
    CHECK(tok->eos_id() == 50256);
    for (const std::string& s : samples()) {
        INFO("'" << s << "'");
        CHECK(tok->decode(tok->encode(s, false)) == s);
        // GPT-2 asks for no BOS, so add_bos changes nothing.
        CHECK(tok->encode(s, true) == tok->encode(s, false));
    }
    CHECK(tok->token_to_piece(220) == " ");
    CHECK(tok->token_to_piece(198) == "\n");
    CHECK(tok->token_to_piece(50256).empty());  // <|endoftext|> is a control token
}

TEST_CASE("GPT-2 decode cleans up tokenization spaces like llama.cpp", "[tokenizer]") {
    const std::string rel = "models/tokenizers/ggml-vocab-gpt-2.gguf";
    if (!have_shared(rel)) return;
    const auto tok = load(rel);
    CHECK(tok->decode(tok->encode("Hello , world !", false)) == "Hello, world!");
    CHECK(tok->decode(tok->encode("I 'm sure you 've", false)) == "I'm sure you've");
    CHECK(tok->decode(tok->encode("it 'll do", false)) == "it 'll do");
}

TEST_CASE("parse_special turns control-token text into its id", "[tokenizer]") {
    const std::string rel = "models/stories260K/stories260K.gguf";
    if (!have_shared(rel)) return;
    const auto tok = load(rel);
    // Without parse_special "</s>" is ordinary text.
    const std::vector<int32_t> spelled = tok->encode("</s>", false);
    CHECK(spelled.size() > 1);
    CHECK(std::find(spelled.begin(), spelled.end(), 2) == spelled.end());
    // With it, the token is cut out, and text after it gets the prefix space again.
    std::vector<int32_t> expected = {1, 2};
    for (int32_t id : tok->encode("a", false)) expected.push_back(id);
    CHECK(tok->encode("</s>a", true, true) == expected);
    CHECK(tok->is_end_of_generation(2));
    CHECK_FALSE(tok->is_end_of_generation(1));
}
