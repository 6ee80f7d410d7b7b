// llama.cpp's own tokenizer test vectors (models/ggml-vocab-*.gguf.inp/.out), read the way its
// tests/test-tokenizer-0.cpp reads them, and tokenized the way it tokenizes them:
// add_special = false, parse_special = false. Every string must give the same ids.
#include <catch2/catch.hpp>

#include <fstream>
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

namespace {

struct TestVector {
    std::string text;
    std::vector<int32_t> ids;
};

// The .inp file is cut at every "\n__ggml_vocab_test__\n": the newline before the marker
// belongs to the separator, so no chunk keeps a trailing newline of its own (a chunk that
// is just "\n" stands for the string "\n"). The .out file has one line of ids per chunk.
std::vector<TestVector> read_vectors(const std::string& vocab_path) {
    const std::string raw = read_text_file(vocab_path + ".inp");
    const std::string separator = "\n__ggml_vocab_test__\n";
    std::vector<std::string> inputs;
    size_t pos = 0;
    while (pos < raw.size()) {
        const size_t next = raw.find(separator, pos);
        if (next == std::string::npos) {
            inputs.push_back(raw.substr(pos));
            break;
        }
        inputs.push_back(raw.substr(pos, next - pos));
        pos = next + separator.size();
    }

    std::ifstream out_file(vocab_path + ".out");
    REQUIRE(out_file.good());
    std::vector<TestVector> vectors;
    std::string line;
    size_t i = 0;
    while (std::getline(out_file, line)) {
        REQUIRE(i < inputs.size());
        TestVector v{inputs[i++], {}};
        std::istringstream ids(line);
        for (int32_t id; ids >> id;) v.ids.push_back(id);
        vectors.push_back(std::move(v));
    }
    REQUIRE(vectors.size() == inputs.size());
    return vectors;
}

size_t check_all(const std::string& rel_path) {
    const std::string path = shared_path(rel_path);
    const auto file = dilmodeli::gguf::GgufFile::open(path);
    const auto tok = Tokenizer::from_gguf(*file);
    const std::vector<TestVector> vectors = read_vectors(path);
    size_t passed = 0;
    for (const TestVector& v : vectors) {
        INFO("input: '" << v.text << "'");
        const std::vector<int32_t> ids = tok->encode(v.text, false);
        CHECK(ids == v.ids);
        if (ids == v.ids) ++passed;
    }
    return passed;
}

}  // namespace

TEST_CASE("SentencePiece ids equal llama.cpp's test vectors for the Llama vocabulary",
          "[tokenizer]") {
    const std::string rel = "models/tokenizers/ggml-vocab-llama-spm.gguf";
    if (!have_shared(rel)) return;
    const size_t passed = check_all(rel);
    CHECK(passed == 46);
}

TEST_CASE("GPT-2 BPE ids equal llama.cpp's test vectors for the GPT-2 vocabulary",
          "[tokenizer]") {
    const std::string rel = "models/tokenizers/ggml-vocab-gpt-2.gguf";
    if (!have_shared(rel)) return;
    const size_t passed = check_all(rel);
    CHECK(passed == 46);
}

// Llama 3's pre-tokenizer: case-insensitive contractions, numbers in groups of three, a
// leading non-letter joined to a word, and whole-word tokens taken without merging.
TEST_CASE("Llama 3 BPE ids equal llama.cpp's test vectors for the llama-bpe vocabulary",
          "[tokenizer]") {
    const std::string rel = "models/tokenizers/ggml-vocab-llama-bpe.gguf";
    if (!have_shared(rel)) return;
    const size_t passed = check_all(rel);
    CHECK(passed == 46);
}

// Qwen2's pre-tokenizer: Llama 3's regex with every digit a word of its own.
TEST_CASE("Qwen2 BPE ids equal llama.cpp's test vectors for the qwen2 vocabulary", "[tokenizer]") {
    const std::string rel = "models/tokenizers/ggml-vocab-qwen2.gguf";
    if (!have_shared(rel)) return;
    const size_t passed = check_all(rel);
    CHECK(passed == 46);
}

// Phi-3: a SentencePiece vocabulary with user-defined and control tokens beside the pieces.
TEST_CASE("SentencePiece ids equal llama.cpp's test vectors for the Phi-3 vocabulary",
          "[tokenizer]") {
    const std::string rel = "models/tokenizers/ggml-vocab-phi-3.gguf";
    if (!have_shared(rel)) return;
    const size_t passed = check_all(rel);
    CHECK(passed == 46);
}

// Gemma 4: SentencePiece-style BPE over raw UTF-8 (spaces as U+2581, no space prefix), words
// cut only at newlines, newline runs taken whole, <0xNN> byte fallback.
TEST_CASE("Gemma 4 BPE ids equal llama.cpp's test vectors for the gemma-4 vocabulary",
          "[tokenizer]") {
    const std::string rel = "models/tokenizers/ggml-vocab-gemma-4.gguf";
    if (!have_shared(rel)) return;
    const size_t passed = check_all(rel);
    CHECK(passed == 46);
}
