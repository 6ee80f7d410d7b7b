#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <unistd.h>

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "support/shared_data.h"

using namespace dilmodeli;
using namespace dilmodeli::testing;

namespace {

void require_identical_rewrite(const std::string& relative) {
    if (!have_shared(relative)) return;
    const std::string in_path = shared_path(relative);
    auto in = gguf::GgufFile::open(in_path);
    REQUIRE(in->version() == 3);
    const std::string out_path = temp_dir("roundtrip") + "/copy.gguf";
    gguf::write_gguf(out_path, in->metadata(), gguf::tensors_as_stored(*in));
    const std::string original = read_text_file(in_path);
    const std::string copy = read_text_file(out_path);
    REQUIRE(copy.size() == original.size());
    // Compare without printing megabytes on failure.
    size_t first_difference = 0;
    while (first_difference < copy.size() && copy[first_difference] == original[first_difference])
        ++first_difference;
    INFO(relative << ": first difference at byte " << first_difference);
    REQUIRE(first_difference == copy.size());
}

}  // namespace

TEST_CASE("re-writing every v3 GGUF in shared/models gives a byte-identical file", "[gguf]") {
    for (const char* file : {
             "models/stories260K/stories260K.gguf",
             "models/stories260K/stories260K-F16.gguf",
             "models/stories260K/stories260K-Q8_0.gguf",
             "models/stories260K/stories260K-Q4_0.gguf",
             "models/stories260K/stories260K-Q4_K_M.gguf",
             "models/stories260K/stories260K-Q2_K.gguf",
             "models/tinystories-5M/tinystories-5M-F32.gguf",
             "models/tinystories-5M/tinystories-5M-F16.gguf",
             "models/tinystories-5M/tinystories-5M-Q8_0.gguf",
             "models/tinystories-5M/tinystories-5M-Q6_K.gguf",
             "models/tinystories-5M/tinystories-5M-Q5_K_M.gguf",
             "models/tinystories-5M/tinystories-5M-Q4_K_M.gguf",
             "models/tinystories-5M/tinystories-5M-Q4_0.gguf",
             "models/tinystories-5M/tinystories-5M-Q3_K_M.gguf",
             "models/tinystories-5M/tinystories-5M-Q2_K.gguf",
             "models/tinystories-5M/tinystories-5M-TQ2_0.gguf",
             "models/tokenizers/ggml-vocab-llama-spm.gguf",
             "models/tokenizers/ggml-vocab-gpt-2.gguf",
         }) {
        SECTION(file) { require_identical_rewrite(file); }
    }
}

TEST_CASE("stories260K metadata and tensors are read with their types and shapes", "[gguf]") {
    if (!have_shared("models/stories260K/stories260K.gguf")) return;
    auto f = gguf::GgufFile::open(shared_path("models/stories260K/stories260K.gguf"));
    CHECK(f->get_string("general.architecture") == "llama");
    CHECK(f->get_int("llama.embedding_length") == 64);
    CHECK(f->get_int("llama.feed_forward_length") == 172);
    CHECK(f->get_int("llama.attention.head_count_kv") == 4);
    CHECK(f->get_float("llama.attention.layer_norm_rms_epsilon") == Approx(1e-5));
    auto tokens = f->get_string_array("tokenizer.ggml.tokens");
    REQUIRE(tokens.size() == 512);
    CHECK(tokens[1] == "<s>");
    CHECK(f->get_float_array("tokenizer.ggml.scores").size() == 512);
    CHECK(f->get_int_array("tokenizer.ggml.token_type")[0] == 2);
    REQUIRE(f->tensors().size() == 48);
    const auto& emb = f->require_tensor("token_embd.weight");
    CHECK(emb.dims == std::vector<int64_t>{64, 512});
    CHECK(emb.type == quant::TypeId::F32);
    CHECK(emb.n_bytes == 64 * 512 * 4);
    CHECK(emb.n_rows() == 512);
    const auto& down = f->require_tensor("blk.4.ffn_down.weight");
    CHECK(down.dims == std::vector<int64_t>{172, 64});
    CHECK_THROWS_WITH(f->get_string("llama.block_count"),
                      Catch::Contains("'llama.block_count' has type u32, expected string"));
    CHECK_THROWS_WITH(f->require_tensor("nope"), Catch::Contains("missing tensor 'nope'"));
    CHECK(f->get_int_or("llama.expert_count", 0) == 0);
}

TEST_CASE("quantized files report llama.cpp's type mix", "[gguf]") {
    if (!have_shared("models/stories260K/stories260K-Q2_K.gguf")) return;
    auto f = gguf::GgufFile::open(shared_path("models/stories260K/stories260K-Q2_K.gguf"));
    std::map<std::string, int> counts;
    for (const auto& t : f->tensors()) counts[t.type_info().name]++;
    CHECK(counts["IQ4_NL"] == 31);
    CHECK(counts["Q8_0"] == 1);
    CHECK(counts["F16"] == 5);
    CHECK(counts["F32"] == 11);
}

TEST_CASE("GGUF v1 is refused with a message naming the version", "[gguf]") {
    if (!have_shared("models/stories260K/tinyllamas-stories-260k-f32.v1.gguf")) return;
    CHECK_THROWS_WITH(gguf::GgufFile::open(shared_path("models/stories260K/tinyllamas-stories-260k-f32.v1.gguf")),
                      Catch::Contains("GGUF version 1 is obsolete"));
}

TEST_CASE("the writer refuses to overwrite its input and leaves no partial file", "[gguf]") {
    if (!have_shared("models/stories260K/stories260K.gguf")) return;
    const std::string dir = temp_dir("writer-refuse");
    const std::string src = shared_path("models/stories260K/stories260K.gguf");
    auto in = gguf::GgufFile::open(src);
    gguf::WriteOptions options;
    options.refuse_overwrite_of = src;
    CHECK_THROWS_WITH(gguf::write_gguf(src, in->metadata(), gguf::tensors_as_stored(*in), options),
                      Catch::Contains("would overwrite the input"));

    // A producer that fails midway: the exception propagates and no file (final or temporary) stays.
    std::vector<gguf::TensorToWrite> tensors = gguf::tensors_as_stored(*in);
    tensors[3].data = nullptr;
    tensors[3].produce = [](std::vector<uint8_t>&) { throw std::runtime_error("producer failed"); };
    CHECK_THROWS_WITH(gguf::write_gguf(dir + "/out.gguf", in->metadata(), tensors), "producer failed");
    CHECK(std::system(("test -z \"$(ls -A '" + dir + "')\"").c_str()) == 0);
}

TEST_CASE("writing to a full disk is an I/O error and leaves nothing behind", "[gguf]") {
    gguf::TensorToWrite t;
    t.name = "x";
    t.dims = {4};
    std::vector<float> data = {1, 2, 3, 4};
    t.data = data.data();
    try {
        gguf::write_gguf("/dev/full", {}, {t});
        FAIL("expected an error");
    } catch (const Error& e) {
        // /dev/full's folder is not writable for a temporary, or the write fails: both are I/O.
        CHECK(e.kind() == ErrorKind::Io);
    }
}

TEST_CASE("mapped, copied and in-memory files hold the same bytes; reads past the end are I/O errors",
          "[gguf]") {
    if (!have_shared("models/tinystories-5M/tinystories-5M-Q4_0.gguf")) return;
    const std::string src = shared_path("models/tinystories-5M/tinystories-5M-Q4_0.gguf");
    const std::string copy = temp_dir("read-bytes") + "/model.gguf";
    REQUIRE(std::system(("cp '" + src + "' '" + copy + "'").c_str()) == 0);
    auto f = gguf::GgufFile::open(copy);
    const std::string bytes = read_text_file(copy);
    auto from_memory = gguf::GgufFile::from_memory(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem");
    auto copied = gguf::GgufFile::open(copy, Residency::Copied);
    REQUIRE(copied->is_copy());
    REQUIRE(copied->metadata().size() == f->metadata().size());
    REQUIRE(copied->tensors().size() == f->tensors().size());
    // Copied after parsing, without the embedding table: the tensor views move to the copy.
    auto partial = gguf::GgufFile::open(copy);
    const uint8_t* mapped_embedding = partial->require_tensor("token_embd.weight").data;
    partial->copy_into_memory({"token_embd.weight"});
    REQUIRE(partial->is_copy());
    CHECK(partial->require_tensor("token_embd.weight").data != mapped_embedding);
    for (const auto* file : {f.get(), from_memory.get(), copied.get(), partial.get()}) {
        for (const auto& t : file->tensors()) {
            std::vector<uint8_t> read(t.n_bytes);
            file->read_bytes(t.data, t.n_bytes, read.data());
            INFO(t.name);
            REQUIRE(std::memcmp(read.data(), bytes.data() + file->data_offset() + t.offset, t.n_bytes) == 0);
            if (file == partial.get() && t.name == "token_embd.weight") continue;  // only read_bytes
            REQUIRE(std::memcmp(t.data, bytes.data() + file->data_offset() + t.offset, t.n_bytes) == 0);
        }
    }
    CHECK_THROWS_WITH(partial->copy_into_memory(), Catch::Contains("only a mapped file"));
    const auto& last = f->tensors().back();
    std::vector<uint8_t> buffer(last.n_bytes + 1);
    CHECK_THROWS_WITH(f->read_bytes(last.data, last.n_bytes + 1, buffer.data()), Catch::Contains("past the end"));
    // A file cut short while mapped: an error naming it, not a SIGBUS.
    REQUIRE(::truncate(copy.c_str(), off_t(f->data_offset())) == 0);
    try {
        f->read_bytes(last.data, last.n_bytes, buffer.data());
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Io);
        CHECK(std::string(e.what()).find(copy) != std::string::npos);
        CHECK(std::string(e.what()).find("shrank") != std::string::npos);
    }
}
