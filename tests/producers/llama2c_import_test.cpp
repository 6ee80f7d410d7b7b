#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "producers/llama2c_import.h"
#include "support/run_cli.h"
#include "support/shared_data.h"

using namespace dilmodeli;
using namespace dilmodeli::testing;

namespace {
const char* kCheckpoint = "models/stories260K/stories260K.bin";
const char* kTokenizer = "models/stories260K/tok512.bin";
const char* kReference = "models/stories260K/stories260K.gguf";
}  // namespace

TEST_CASE("import llama2c gives stories260K.gguf's tensors bit for bit and its metadata", "[model][import]") {
    if (!have_shared(kCheckpoint) || !have_shared(kReference)) return;
    const std::string out = temp_dir("import") + "/stories260K.gguf";
    CliResult r = run_cli("import llama2c " + quoted(shared_path(kCheckpoint)) + " --tokenizer " +
                          quoted(shared_path(kTokenizer)) + " -o " + quoted(out) + " --json");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("\"tensors\": 48"));

    auto ours = gguf::GgufFile::open(out);
    auto reference = gguf::GgufFile::open(shared_path(kReference));
    REQUIRE(ours->tensors().size() == reference->tensors().size());
    for (const auto& t : reference->tensors()) {
        const gguf::TensorInfo* mine = ours->find_tensor(t.name);
        INFO(t.name);
        REQUIRE(mine != nullptr);
        CHECK(mine->dims == t.dims);
        CHECK(mine->type == t.type);
        REQUIRE(mine->n_bytes == t.n_bytes);
        CHECK(std::memcmp(mine->data, t.data, t.n_bytes) == 0);
    }
    for (const char* key : {"general.architecture", "tokenizer.ggml.model"})
        CHECK(ours->get_string(key) == reference->get_string(key));
    for (const char* key : {"llama.context_length", "llama.embedding_length", "llama.block_count",
                            "llama.feed_forward_length", "llama.rope.dimension_count", "llama.attention.head_count",
                            "llama.attention.head_count_kv", "tokenizer.ggml.bos_token_id",
                            "tokenizer.ggml.eos_token_id"})
        CHECK(ours->get_int(key) == reference->get_int(key));
    CHECK(ours->get_float("llama.attention.layer_norm_rms_epsilon") ==
          reference->get_float("llama.attention.layer_norm_rms_epsilon"));
    CHECK(ours->get_string_array("tokenizer.ggml.tokens") == reference->get_string_array("tokenizer.ggml.tokens"));
    CHECK(ours->get_float_array("tokenizer.ggml.scores") == reference->get_float_array("tokenizer.ggml.scores"));
    CHECK(ours->get_int_array("tokenizer.ggml.token_type") == reference->get_int_array("tokenizer.ggml.token_type"));
}

TEST_CASE("import llama2c rejects a truncated checkpoint and a mismatched tokenizer", "[model][import]") {
    if (!have_shared(kCheckpoint)) return;
    const std::string dir = temp_dir("import-bad");
    const std::string bin = read_text_file(shared_path(kCheckpoint));
    std::ofstream(dir + "/short.bin", std::ios::binary) << bin.substr(0, bin.size() - 100);
    producers::Llama2cImportOptions options;
    options.checkpoint_path = dir + "/short.bin";
    options.tokenizer_path = shared_path(kTokenizer);
    options.output_path = dir + "/out.gguf";
    CHECK_THROWS_WITH(producers::import_llama2c(options), Catch::Contains("does not match the header"));

    options.checkpoint_path = shared_path(kCheckpoint);
    options.tokenizer_path = shared_path("models/tokenizers/tokenizer.bin");  // 32,000 tokens
    CHECK_THROWS_WITH(producers::import_llama2c(options), Catch::Contains("bytes after token 511"));
    CHECK_FALSE(path_exists(dir + "/out.gguf"));

    CliResult r = run_cli("import llama2c " + quoted(dir + "/short.bin") + " --tokenizer " +
                          quoted(shared_path(kTokenizer)) + " -o " + quoted(dir + "/out.gguf"));
    CHECK(r.exit_code == 2);
    CHECK(count_lines(r.err) == 1);
}
