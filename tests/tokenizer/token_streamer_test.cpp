// TokenStreamer: ids go in one at a time; what comes out is always whole UTF-8 characters,
// and all of it together is the decoded text.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "support/shared_data.h"
#include "tokenizer/token_streamer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

using dilmodeli::testing::have_shared;
using dilmodeli::testing::shared_path;
using dilmodeli::tokenizer::is_valid_utf8;
using dilmodeli::tokenizer::Tokenizer;
using dilmodeli::tokenizer::TokenStreamer;

namespace {

// Streams `ids`; checks every step; returns how many pushes had to hold bytes back.
size_t stream_and_check(const Tokenizer& tok, const std::vector<int32_t>& ids) {
    TokenStreamer streamer(tok);
    std::string streamed;
    size_t held_back = 0;
    for (int32_t id : ids) {
        const std::string chunk = streamer.push(id);
        CHECK(is_valid_utf8(chunk));
        streamed += chunk;
        CHECK(is_valid_utf8(streamed));
        if (streamer.pending_bytes() > 0) ++held_back;
    }
    streamed += streamer.flush();
    CHECK(streamer.pending_bytes() == 0);
    CHECK(streamed == tok.decode(ids));
    return held_back;
}

}  // namespace

TEST_CASE("TokenStreamer reassembles characters split over byte-fallback tokens",
          "[tokenizer]") {
    const std::string rel = "models/stories260K/stories260K.gguf";
    if (!have_shared(rel)) return;
    const auto file = dilmodeli::gguf::GgufFile::open(shared_path(rel));
    const auto tok = Tokenizer::from_gguf(*file);

    // tok512 has almost no non-ASCII tokens: these characters become <0xNN> byte tokens,
    // two per Turkish letter and four for the emoji.
    const std::string text = "Çığ düştü 🙂 ĞÜŞİÖÇ";
    const std::vector<int32_t> ids = tok->encode(text, true);
    const size_t held = stream_and_check(*tok, ids);
    CHECK(held > 0);
    // With BOS first nothing is stripped: the stream is the prefix space plus the text.
    TokenStreamer again(*tok);
    std::string all;
    for (int32_t id : ids) all += again.push(id);
    all += again.flush();
    CHECK(all == " " + text);
}

TEST_CASE("TokenStreamer holds back and flushes an unfinished character", "[tokenizer]") {
    const std::string rel = "models/stories260K/stories260K.gguf";
    if (!have_shared(rel)) return;
    const auto file = dilmodeli::gguf::GgufFile::open(shared_path(rel));
    const auto tok = Tokenizer::from_gguf(*file);
    const int32_t byte_c4 = tok->vocabulary().find("<0xC4>");
    const int32_t byte_9f = tok->vocabulary().find("<0x9F>");
    REQUIRE(byte_c4 >= 0);
    REQUIRE(byte_9f >= 0);

    TokenStreamer streamer(*tok);
    CHECK(streamer.push(byte_c4).empty());
    CHECK(streamer.pending_bytes() == 1);
    CHECK(streamer.push(byte_9f) == "ğ");
    CHECK(streamer.push(byte_c4).empty());
    // Generation ended mid-character: flush hands over what there is.
    CHECK(streamer.flush() == "\xC4");
    CHECK(streamer.flush().empty());
}

TEST_CASE("TokenStreamer on GPT-2 byte-level tokens", "[tokenizer]") {
    const std::string rel = "models/tokenizers/ggml-vocab-gpt-2.gguf";
    if (!have_shared(rel)) return;
    const auto file = dilmodeli::gguf::GgufFile::open(shared_path(rel));
    const auto tok = Tokenizer::from_gguf(*file);
    // GPT-2 spells these emoji and CJK characters over several tokens.
    const std::vector<int32_t> ids = tok->encode("🚀 (normal) 😶‍🌫️ 我想在apple工作", false);
    CHECK(stream_and_check(*tok, ids) > 0);
}
