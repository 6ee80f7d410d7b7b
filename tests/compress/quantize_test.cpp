#include <catch2/catch.hpp>

#include <cstring>

#include "common/error.h"
#include "compress/model_quantizer.h"
#include "compress/tensor_roles.h"
#include "gguf/gguf_file.h"
#include "support/run_cli.h"
#include "support/shared_data.h"

using namespace dilmodeli;
using namespace dilmodeli::testing;

namespace {

// Quantizes `source` to `type` with the CLI and checks every tensor against llama.cpp's file:
// same names, shapes and types, and the same bytes where `bytes_must_match`.
void compare_with_llama_cpp(const std::string& source, const std::string& reference, const std::string& type) {
    if (!have_shared(source) || !have_shared(reference)) return;
    const std::string out = temp_dir("quantize-" + type) + "/out.gguf";
    CliResult r = run_cli("quantize " + quoted(shared_path(source)) + " " + quoted(out) + " --type " + type + " --json");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto ours = gguf::GgufFile::open(out);
    auto theirs = gguf::GgufFile::open(shared_path(reference));
    REQUIRE(ours->tensors().size() == theirs->tensors().size());
    CHECK(ours->file_size() == theirs->file_size());
    for (const auto& t : theirs->tensors()) {
        const gguf::TensorInfo* mine = ours->find_tensor(t.name);
        INFO(t.name);
        REQUIRE(mine != nullptr);
        CHECK(mine->dims == t.dims);
        REQUIRE(std::string(mine->type_info().name) == t.type_info().name);
        REQUIRE(mine->n_bytes == t.n_bytes);
        CHECK(std::memcmp(mine->data, t.data, t.n_bytes) == 0);
    }
    CHECK(ours->get_int("general.file_type") == theirs->get_int("general.file_type"));
}

}  // namespace

TEST_CASE("quantize Q8_0 and Q4_0 reproduce llama.cpp's files tensor for tensor, bit for bit", "[compress][quantize]") {
    compare_with_llama_cpp("models/tinystories-5M/tinystories-5M-F32.gguf",
                           "models/tinystories-5M/tinystories-5M-Q8_0.gguf", "Q8_0");
    compare_with_llama_cpp("models/tinystories-5M/tinystories-5M-F32.gguf",
                           "models/tinystories-5M/tinystories-5M-Q4_0.gguf", "Q4_0");
    compare_with_llama_cpp("models/tinystories-5M/tinystories-5M-F32.gguf",
                           "models/tinystories-5M/tinystories-5M-Q6_K.gguf", "Q6_K");
    compare_with_llama_cpp("models/tinystories-5M/tinystories-5M-F32.gguf",
                           "models/tinystories-5M/tinystories-5M-F16.gguf", "F16");
}

TEST_CASE("quantize follows llama.cpp's fallbacks for rows that fit no block", "[compress][quantize]") {
    if (!have_shared("models/stories260K/stories260K.gguf")) return;
    auto f = gguf::GgufFile::open(shared_path("models/stories260K/stories260K.gguf"));
    auto plan = compress::plan_uniform(*f, quant::TypeId::Q4_0);
    std::map<std::string, int> counts;
    for (const auto& c : plan) counts[quant::type_info(c.type).name]++;
    // As in llama.cpp's stories260K-Q4_0.gguf: ffn_down (rows of 172) in F16, output in Q8_0.
    CHECK(counts["Q4_0"] == 31);
    CHECK(counts["Q8_0"] == 1);
    CHECK(counts["F16"] == 5);
    CHECK(counts["F32"] == 11);
    auto k_plan = compress::plan_uniform(*f, quant::TypeId::Q2_K);
    counts.clear();
    for (const auto& c : k_plan) counts[quant::type_info(c.type).name]++;
    CHECK(counts["IQ4_NL"] == 31);  // llama.cpp's stories260K-Q2_K.gguf holds the same mix
    CHECK(counts["Q8_0"] == 1);
    CHECK(counts["F16"] == 5);
}

TEST_CASE("quantize reports per-tensor errors and never overwrites its input", "[compress][quantize]") {
    if (!have_shared("models/stories260K/stories260K.gguf")) return;
    const std::string in = shared_path("models/stories260K/stories260K.gguf");
    const std::string dir = temp_dir("quantize-report");
    auto f = gguf::GgufFile::open(in);
    compress::QuantizeJob job;
    job.output_path = dir + "/q.gguf";
    job.plan = compress::plan_uniform(*f, quant::TypeId::Q8_0);
    job.file_type = compress::llama_file_type(quant::TypeId::Q8_0);
    auto report = compress::quantize_model(*f, job);
    for (const auto& t : report.tensors) {
        INFO(t.name);
        if (t.to_type == "Q8_0") CHECK(t.relative_rms_error > 0);
        if (t.to_type == "Q8_0") CHECK(t.relative_rms_error < 0.01);
        if (t.to_type == t.from_type) CHECK(t.relative_rms_error == 0);
    }
    CHECK(report.file_bytes == gguf::GgufFile::open(job.output_path)->file_size());

    CliResult same = run_cli("quantize " + quoted(in) + " " + quoted(in) + " --type Q4_0");
    CHECK(same.exit_code == 1);
    CHECK_THAT(same.err, Catch::Contains("would overwrite the input"));
    CliResult bad_type = run_cli("quantize " + quoted(in) + " " + quoted(dir + "/x.gguf") + " --type Q9_9");
    CHECK(bad_type.exit_code == 1);
    CHECK_THAT(bad_type.err, Catch::Contains("unknown tensor type 'Q9_9'"));
    CliResult unwritable = run_cli("quantize " + quoted(in) + " /nonexistent-dir/x.gguf --type Q4_0");
    CHECK(unwritable.exit_code == 3);
    CHECK(count_lines(unwritable.err) == 1);
    CliResult full = run_cli("quantize " + quoted(in) + " /dev/full --type Q4_0");
    CHECK(full.exit_code == 3);
    CHECK_THAT(full.err, Catch::Contains("No space left on device"));
}
