// Replays the fuzzers' corpora (seeds and every input that once crashed) through the same code
// paths as the fuzz targets, in the regular build: each must parse or fail with an Error.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <string>
#include <vector>

#include "common/error.h"
#include "gguf/file_summary.h"
#include "gguf/gguf_file.h"
#include "model/model_config.h"
#include "support/shared_data.h"
#include "tokenizer/token_streamer.h"
#include "tokenizer/tokenizer.h"

using namespace dilmodeli;
using namespace dilmodeli::testing;

namespace {
std::vector<std::string> files_in(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') out.push_back(dir + "/" + e->d_name);
        ::closedir(d);
    }
    return out;
}
}  // namespace

TEST_CASE("every GGUF fuzz corpus input parses or fails with an Error", "[gguf][fuzz]") {
    const auto files = files_in(std::string(DILMODELI_FUZZ_CORPUS_DIR) + "/gguf_reader");
    REQUIRE(files.size() >= 3);
    int parsed = 0;
    for (const std::string& path : files) {
        INFO(path);
        const std::string bytes = read_text_file(path);
        try {
            auto f = gguf::GgufFile::from_memory(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
            (void)gguf::format_summary(gguf::summarize(*f, true));
            try {
                (void)model::ModelConfig::from_gguf(*f);
                auto tok = tokenizer::Tokenizer::from_gguf(*f);
                (void)tok->decode(tok->encode("ab a b", true));
            } catch (const Error&) {
            }
            ++parsed;
        } catch (const Error& e) {
            CHECK_THAT(e.what(), Catch::StartsWith(path));
        }
    }
    CHECK(parsed >= 2);  // the valid seeds
}

TEST_CASE("every tokenizer fuzz corpus input encodes to in-range ids and streams like decode", "[tokenizer][fuzz]") {
    if (!have_shared("models/stories260K/stories260K.gguf")) return;
    auto file = gguf::GgufFile::open(shared_path("models/stories260K/stories260K.gguf"));
    auto tok = tokenizer::Tokenizer::from_gguf(*file);
    const auto files = files_in(std::string(DILMODELI_FUZZ_CORPUS_DIR) + "/tokenizer");
    REQUIRE(files.size() >= 5);
    for (const std::string& path : files) {
        INFO(path);
        const std::string text = read_text_file(path);
        const auto ids = tok->encode(text, true);
        for (int32_t id : ids) CHECK((id >= 0 && id < tok->vocab_size()));
        tokenizer::TokenStreamer streamer(*tok);
        std::string streamed;
        for (int32_t id : ids) streamed += streamer.push(id);
        streamed += streamer.flush();
        CHECK(!streamed.empty() == !text.empty());
    }
}
