// Missing or inconsistent tokenizer metadata is refused at load time with an Error(BadInput)
// whose message names the key, both when building from values directly and from a GGUF file.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "support/shared_data.h"
#include "tokenizer/tokenizer.h"

using dilmodeli::Error;
using dilmodeli::ErrorKind;
using dilmodeli::gguf::KeyValue;
using dilmodeli::gguf::Value;
using dilmodeli::gguf::ValueType;
using dilmodeli::tokenizer::Tokenizer;
using dilmodeli::tokenizer::TokenizerMetadata;

namespace {

TokenizerMetadata small_spm() {
    TokenizerMetadata m;
    m.model = "llama";
    m.tokens = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "b", "ab"};
    m.scores = std::vector<float>{0, 0, 0, -1, -2, -2, -1};
    m.token_types = std::vector<int64_t>{2, 3, 3, 1, 1, 1, 1};
    return m;
}

// Runs `build` and returns the message of the Error(BadInput) it must throw.
template <typename F>
std::string error_of(F&& build) {
    try {
        build();
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::BadInput);
        return e.what();
    }
    FAIL("no dilmodeli::Error was thrown");
    return {};
}

std::string error_from_metadata(TokenizerMetadata m) {
    return error_of([&] { Tokenizer::from_metadata(std::move(m), "test-vocab"); });
}

}  // namespace

TEST_CASE("a consistent small vocabulary builds", "[tokenizer]") {
    const auto tok = Tokenizer::from_metadata(small_spm(), "test-vocab");
    CHECK(tok->vocab_size() == 7);
    CHECK(tok->encode("ab", true) == std::vector<int32_t>{1, 3, 6});
}

TEST_CASE("0xFFFFFFFF and -1 special ids mean 'not set', as llama.cpp's converters write them",
          "[tokenizer]") {
    TokenizerMetadata m = small_spm();
    m.pad_id = 0xFFFFFFFFll;
    m.eot_id = -1;
    m.bos_id = 0xFFFFFFFFll;  // falls back to SentencePiece's default BOS id, 1
    const auto tok = Tokenizer::from_metadata(std::move(m), "test-vocab");
    CHECK(tok->bos_id() == 1);
    CHECK(tok->vocabulary().pad_id() == dilmodeli::tokenizer::kNoToken);
    CHECK(tok->vocabulary().eot_id() == dilmodeli::tokenizer::kNoToken);
}

TEST_CASE("inconsistent tokenizer metadata names the key", "[tokenizer]") {
    SECTION("scores shorter than tokens") {
        TokenizerMetadata m = small_spm();
        m.scores->pop_back();
        const std::string msg = error_from_metadata(m);
        CHECK_THAT(msg, Catch::Contains("tokenizer.ggml.scores"));
        CHECK_THAT(msg, Catch::Contains("test-vocab"));
    }
    SECTION("token types shorter than tokens") {
        TokenizerMetadata m = small_spm();
        m.token_types->resize(3);
        CHECK_THAT(error_from_metadata(m), Catch::Contains("tokenizer.ggml.token_type"));
    }
    SECTION("BOS id outside the vocabulary") {
        TokenizerMetadata m = small_spm();
        m.bos_id = 7;
        CHECK_THAT(error_from_metadata(m), Catch::Contains("tokenizer.ggml.bos_token_id"));
    }
    SECTION("EOS id outside the vocabulary") {
        TokenizerMetadata m = small_spm();
        m.eos_id = -2;
        CHECK_THAT(error_from_metadata(m), Catch::Contains("tokenizer.ggml.eos_token_id"));
    }
    SECTION("unknown id outside the vocabulary") {
        TokenizerMetadata m = small_spm();
        m.unk_id = 1000;
        CHECK_THAT(error_from_metadata(m), Catch::Contains("tokenizer.ggml.unknown_token_id"));
    }
    SECTION("add_bos without any BOS token") {
        TokenizerMetadata m = small_spm();
        m.tokens = {"<unk>"};  // the default BOS id 1 does not exist
        m.scores = std::vector<float>{0};
        m.token_types = std::vector<int64_t>{2};
        CHECK_THAT(error_from_metadata(m), Catch::Contains("tokenizer.ggml.add_bos_token"));
    }
    SECTION("unsupported tokenizer model") {
        TokenizerMetadata m = small_spm();
        m.model = "bert";
        CHECK_THAT(error_from_metadata(m), Catch::Contains("tokenizer.ggml.model"));
    }
    SECTION("no tokens") {
        TokenizerMetadata m = small_spm();
        m.tokens = {};
        m.scores->clear();
        m.token_types->clear();
        CHECK_THAT(error_from_metadata(m), Catch::Contains("tokenizer.ggml.tokens"));
    }
    SECTION("the same token twice") {
        TokenizerMetadata m = small_spm();
        m.tokens = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "b", "a"};
        CHECK_THAT(error_from_metadata(m), Catch::Contains("tokenizer.ggml.tokens"));
    }
    SECTION("gpt2 without merges") {
        TokenizerMetadata m;
        m.model = "gpt2";
        m.pre = "gpt-2";
        m.tokens = {"a", "b"};
        CHECK_THAT(error_from_metadata(m), Catch::Contains("tokenizer.ggml.merges"));
    }
    SECTION("gpt2 with a pre-tokenizer we do not implement") {
        TokenizerMetadata m;
        m.model = "gpt2";
        m.pre = "deepseek-coder";
        m.tokens = {"a", "b"};
        m.merges = {"a b"};
        CHECK_THAT(error_from_metadata(m), Catch::Contains("tokenizer.ggml.pre"));
    }
}

namespace {

std::vector<KeyValue> gguf_metadata(size_t n_scores) {
    std::vector<Value> tokens, scores, types;
    const std::vector<std::string> texts = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a"};
    for (size_t i = 0; i < texts.size(); ++i) {
        tokens.push_back(Value::string(texts[i]));
        types.push_back(Value(int32_t{i < 1 ? 2 : i < 3 ? 3 : 1}));
    }
    for (size_t i = 0; i < n_scores; ++i) scores.push_back(Value(-1.0f));
    return {
        {"general.architecture", Value::string("llama")},
        {"tokenizer.ggml.model", Value::string("llama")},
        {"tokenizer.ggml.tokens", Value::array(ValueType::String, tokens)},
        {"tokenizer.ggml.scores", Value::array(ValueType::F32, scores)},
        {"tokenizer.ggml.token_type", Value::array(ValueType::I32, types)},
        {"tokenizer.ggml.bos_token_id", Value(uint32_t{1})},
    };
}

}  // namespace

TEST_CASE("bad tokenizer metadata in a GGUF file names the file and the key", "[tokenizer]") {
    const std::string dir = dilmodeli::testing::temp_dir("tokenizer-bad-metadata");

    const std::string good = dir + "/good.gguf";
    dilmodeli::gguf::write_gguf(good, gguf_metadata(5), {});
    {
        const auto file = dilmodeli::gguf::GgufFile::open(good);
        const auto tok = Tokenizer::from_gguf(*file);
        CHECK(tok->encode("a", true) == std::vector<int32_t>{1, 3, 4});
    }

    const std::string short_scores = dir + "/short-scores.gguf";
    dilmodeli::gguf::write_gguf(short_scores, gguf_metadata(4), {});
    const auto file = dilmodeli::gguf::GgufFile::open(short_scores);
    const std::string msg = error_of([&] { Tokenizer::from_gguf(*file); });
    CHECK_THAT(msg, Catch::Contains("tokenizer.ggml.scores"));
    CHECK_THAT(msg, Catch::Contains(short_scores));

    std::vector<KeyValue> no_model = gguf_metadata(5);
    no_model.erase(no_model.begin() + 1);
    const std::string no_model_path = dir + "/no-model.gguf";
    dilmodeli::gguf::write_gguf(no_model_path, no_model, {});
    const auto file2 = dilmodeli::gguf::GgufFile::open(no_model_path);
    CHECK_THAT(error_of([&] { Tokenizer::from_gguf(*file2); }),
               Catch::Contains("tokenizer.ggml.model"));

    std::vector<KeyValue> bad_bos = gguf_metadata(5);
    bad_bos.back().value = Value(uint32_t{99});
    const std::string bad_bos_path = dir + "/bad-bos.gguf";
    dilmodeli::gguf::write_gguf(bad_bos_path, bad_bos, {});
    const auto file3 = dilmodeli::gguf::GgufFile::open(bad_bos_path);
    CHECK_THAT(error_of([&] { Tokenizer::from_gguf(*file3); }),
               Catch::Contains("tokenizer.ggml.bos_token_id"));
}
