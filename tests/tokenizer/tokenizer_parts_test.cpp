// The building blocks on their own: UTF-8 helpers, character classes, the GPT-2 word
// splitter, the byte <-> unicode mapping, space clean-up and the SentencePiece merge order.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tokenizer/byte_unicode_mapping.h"
#include "tokenizer/gpt2_pretokenizer.h"
#include "tokenizer/space_cleanup.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode_categories.h"
#include "tokenizer/utf8.h"

using namespace dilmodeli::tokenizer;

using Words = std::vector<std::string>;

TEST_CASE("UTF-8 decoding replaces malformed bytes one at a time", "[tokenizer]") {
    CHECK(decode_utf8("aç🙂") == std::vector<uint32_t>{'a', 0xE7, 0x1F642});
    CHECK(decode_utf8("\xC3") == std::vector<uint32_t>{kReplacementCharacter});
    CHECK(decode_utf8("\x80z") == std::vector<uint32_t>{kReplacementCharacter, 'z'});
    CHECK(codepoint_to_utf8(0x2581) == "\xE2\x96\x81");
    CHECK(utf8_sequence_length(0x41) == 1);
    CHECK(utf8_sequence_length(0x9F) == 1);  // stray continuation byte: its own symbol
    CHECK(utf8_sequence_length(0xC4) == 2);
    CHECK(utf8_sequence_length(0xF0) == 4);
}

TEST_CASE("utf8_complete_prefix_length holds back only an unfinished tail", "[tokenizer]") {
    CHECK(utf8_complete_prefix_length("") == 0);
    CHECK(utf8_complete_prefix_length("ab") == 2);
    CHECK(utf8_complete_prefix_length("a\xC4") == 1);
    CHECK(utf8_complete_prefix_length("a\xC4\x9F") == 3);
    CHECK(utf8_complete_prefix_length("\xF0\x9F\x99") == 0);
    CHECK(utf8_complete_prefix_length("\xF0\x9F\x99\x82") == 4);
    CHECK(utf8_complete_prefix_length("a\x9F") == 2);  // invalid, nothing to wait for
    CHECK(is_valid_utf8("ğ🙂"));
    CHECK_FALSE(is_valid_utf8("\xC4"));
    CHECK_FALSE(is_valid_utf8("\xC0\x80"));  // overlong
}

TEST_CASE("character classes for \\p{L}, \\p{N} and \\s", "[tokenizer]") {
    for (uint32_t c : {uint32_t{'a'}, uint32_t{'Z'}, 0xE7u /*ç*/, 0x131u /*ı*/, 0x416u /*Ж*/, 0x3B1u /*α*/,
                       0x6211u /*我*/, 0x1780u /*ក*/, 0x3042u /*あ*/}) {
        CHECK(is_letter(c));
    }
    for (uint32_t c : {uint32_t{'1'}, 0x17B6u /*Khmer vowel sign: a mark*/, 0x1F642u,
                       uint32_t{'!'}, uint32_t{' '}, 0x301u /*combining acute*/}) {
        CHECK_FALSE(is_letter(c));
    }
    CHECK(is_number('7'));
    CHECK(is_number(0x0664));  // Arabic-Indic four
    CHECK(is_number(0x00BD));  // ½ (No)
    CHECK_FALSE(is_number('x'));
    CHECK(is_whitespace(' '));
    CHECK(is_whitespace('\n'));
    CHECK(is_whitespace(0x3000));
    CHECK_FALSE(is_whitespace(0x200B));  // zero-width space is not White_Space
}

TEST_CASE("GPT-2 pre-tokenizer splits like its regex", "[tokenizer]") {
    CHECK(split_gpt2_words("Hello world") == Words{"Hello", " world"});
    CHECK(split_gpt2_words("   Hello") == Words{"  ", " Hello"});
    CHECK(split_gpt2_words("I've 33 cats!!") == Words{"I", "'ve", " 33", " cats", "!!"});
    CHECK(split_gpt2_words("don't 'S") == Words{"don", "'t", " '", "S"});
    CHECK(split_gpt2_words("\n =") == Words{"\n", " ="});
    CHECK(split_gpt2_words("a  \n") == Words{"a", "  \n"});
    CHECK(split_gpt2_words("ka\xE1\x9E\xB6") == Words{"ka", "\xE1\x9E\xB6"});
    CHECK(split_gpt2_words("").empty());
}

TEST_CASE("GPT-2 byte <-> unicode mapping", "[tokenizer]") {
    CHECK(byte_to_unicode(' ') == "\xC4\xA0");   // Ġ
    CHECK(byte_to_unicode('\n') == "\xC4\x8A");  // Ċ
    CHECK(byte_to_unicode('a') == "a");
    CHECK(encode_bytes_as_unicode(" a") == "\xC4\xA0" "a");
    for (int b = 0; b < 256; ++b) {
        const auto cps = decode_utf8(byte_to_unicode(static_cast<uint8_t>(b)));
        REQUIRE(cps.size() == 1);
        CHECK(unicode_to_byte(cps[0]) == static_cast<uint8_t>(b));
    }
    CHECK_FALSE(unicode_to_byte(0x2581).has_value());
}

TEST_CASE("space clean-up after BPE decoding", "[tokenizer]") {
    CHECK(clean_up_spaces("Hello , world !") == "Hello, world!");
    CHECK(clean_up_spaces("a ' b") == "a'b");
    CHECK(clean_up_spaces("I 'm you 're it 's we 've") == "I'm you're it's we've");
    CHECK(clean_up_spaces("don 't you 'd we 'll") == "don 't you 'd we 'll");
    CHECK(clean_up_spaces("") == "");
}

TEST_CASE("SentencePiece merges the best-scoring pair first, leftmost on ties", "[tokenizer]") {
    auto build = [](float score_ab, float score_ba) {
        TokenizerMetadata m;
        m.model = "llama";
        m.tokens = {"<unk>", "<s>", "</s>", "a", "b", "ab", "ba"};
        m.scores = std::vector<float>{0, 0, 0, -5, -5, score_ab, score_ba};
        m.token_types = std::vector<int64_t>{2, 3, 3, 1, 1, 1, 1};
        m.add_space_prefix = false;
        return Tokenizer::from_metadata(std::move(m), "tie-test");
    };
    CHECK(build(-1, -1)->encode("aba", false) == std::vector<int32_t>{5, 3});  // tie: left
    CHECK(build(-1, -0.5f)->encode("aba", false) == std::vector<int32_t>{3, 6});
    CHECK(build(-0.5f, -1)->encode("bab", false) == std::vector<int32_t>{4, 5});
    // No byte tokens and a character outside the vocabulary: the unknown token.
    CHECK(build(-1, -1)->encode("c", false) == std::vector<int32_t>{0});
}
