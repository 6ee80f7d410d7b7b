// compress::run_quantize and run_prune, the library calls behind `quantize` and `prune`, and the
// calibrated input they share.
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "compress/calibrated_input.h"
#include "compress/pipeline.h"
#include "compress/report.h"
#include "gguf/gguf_file.h"
#include "model/model.h"
#include "support/shared_data.h"

using namespace dilmodeli;
using namespace dilmodeli::testing;

namespace {

const char* k260K = "models/stories260K/stories260K.gguf";
const char* kTrain = "data/tinystories/train.txt";

std::string usage_message(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Usage);
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("parse_size reads bytes and binary K, M, G", "[compress][pipeline]") {
    CHECK(compress::parse_size("2500000") == 2500000);
    CHECK(compress::parse_size("800K") == 800 * 1024);
    CHECK(compress::parse_size("2.5M") == uint64_t(2.5 * 1024 * 1024));
    CHECK(compress::parse_size("1g") == uint64_t(1) << 30);
    for (const char* bad : {"", "M", "-1", "0", "1.2.3K", "12Q", "1e3", "99999999999G"})
        CHECK_THAT(usage_message([&] { compress::parse_size(bad); }), Catch::Contains("is not a size"));
}

TEST_CASE("run_quantize: one type, a budget, a preset file; flags that do not fit are refused",
          "[compress][pipeline]") {
    if (!have_shared(k260K)) return;
    const std::string dir = temp_dir("pipeline-quantize");
    compress::QuantizeRequest r;
    r.input = shared_path(k260K);
    r.output = dir + "/q8.gguf";
    r.type = "Q8_0";
    std::vector<std::string> stages;
    r.progress = [&](const std::string& what) {
        stages.push_back(what);
        return std::function<void(size_t, size_t)>();
    };
    const compress::QuantizeResult uniform = compress::run_quantize(r);
    REQUIRE(uniform.uniform);
    CHECK_FALSE(uniform.budget);
    CHECK(uniform.uniform->file_bytes == gguf::GgufFile::open(r.output)->file_size());
    CHECK(stages == std::vector<std::string>{"tensors written"});
    CHECK(compress::quantize_json(uniform)["file_bytes"] == uniform.uniform->file_bytes);
    CHECK_THAT(compress::quantize_text(uniform), Catch::StartsWith("tensor "));

    r.type.clear();
    r.budget_bpw = 12;  // a tiny model: its norms and embeddings weigh
    r.output = dir + "/bpw5.gguf";
    const compress::QuantizeResult budget = compress::run_quantize(r);
    REQUIRE(budget.budget);
    CHECK_FALSE(budget.preset);
    CHECK(budget.budget->written.file_bytes <= budget.budget->plan.target_file_bytes);
    CHECK(budget.budget->requested_bpw == 12);
    CHECK(budget.budget->importance == "output");
    CHECK(compress::quantize_json(budget)["budget_bpw"] == 12.0);

    // A preset that only quantizes, from a file: no calibration needed.
    {
        std::ofstream(dir + "/own.json") << "{\"description\": \"mine\", \"quantize\": {\"budget_bpw\": 16}}";
    }
    r.budget_bpw = 0;
    r.preset_file = dir + "/own.json";
    r.output = dir + "/own.gguf";
    const compress::QuantizeResult preset = compress::run_quantize(r);
    REQUIRE(preset.preset);
    CHECK(preset.preset->description == "mine");
    CHECK_FALSE(preset.pruned);
    CHECK(preset.budget->requested_bpw == 16);
    CHECK_THAT(compress::quantize_text(preset), Catch::StartsWith("preset " + dir + "/own.json: mine\n"));

    compress::QuantizeRequest bad;
    bad.input = shared_path(k260K);
    bad.output = dir + "/x.gguf";
    CHECK_THAT(usage_message([&] { compress::run_quantize(bad); }), Catch::Contains("give one of --type"));
    bad.budget_bpw = 4;
    bad.importance = "loss";
    CHECK_THAT(usage_message([&] { compress::run_quantize(bad); }), Catch::Contains("add --calib TEXT"));
    bad.threads = -1;
    CHECK_THAT(usage_message([&] { compress::run_quantize(bad); }), Catch::Contains("--threads must be positive"));
    bad.threads = 0;
    bad.calib_ctx = 1;
    CHECK_THAT(usage_message([&] { compress::run_quantize(bad); }), Catch::Contains("--calib-ctx"));
    bad.calib_ctx = 0;
    bad.budget_bpw = 0;
    bad.preset = "low";  // prunes with nash: needs text
    CHECK_THAT(usage_message([&] { compress::run_quantize(bad); }), Catch::Contains("needs calibration text"));
    CHECK_FALSE(path_exists(dir + "/x.gguf"));
}

TEST_CASE("run_prune prunes into the output; its flags are checked first", "[compress][pipeline]") {
    if (!have_shared(k260K)) return;
    const std::string dir = temp_dir("pipeline-prune");
    compress::PruneRequest r;
    r.input = shared_path(k260K);
    r.output = dir + "/p.gguf";
    r.sparsity = 0.5;
    const compress::PruneReport report = compress::run_prune(r);
    CHECK(report.achieved_sparsity == Approx(0.5).margin(0.01));
    CHECK(path_exists(r.output));
    const nlohmann::json j = compress::prune_json(report, r.method, r.structure);
    CHECK(j["method"] == "magnitude");
    CHECK(j["structure"] == "unstructured");
    CHECK_FALSE(j.contains("nash"));
    CHECK_THAT(compress::prune_text(report), Catch::StartsWith("pruned "));

    compress::PruneRequest bad = r;
    bad.output = dir + "/x.gguf";
    bad.sparsity = 1.5;
    CHECK(usage_message([&] { compress::run_prune(bad); }) == "--sparsity 1.5 is outside [0, 1)");
    bad.sparsity = 0.3;
    bad.method = "wanda";
    CHECK_THAT(usage_message([&] { compress::run_prune(bad); }), Catch::Contains("needs calibration text"));
    bad.method = "magnitude";
    bad.output = r.input;
    CHECK_FALSE(usage_message([&] { compress::run_prune(bad); }).empty());
}

TEST_CASE("the calibrated input: the file alone without text, the model and its statistics with",
          "[compress][pipeline]") {
    if (!have_shared(k260K) || !have_shared(kTrain)) return;
    compress::CalibrationRequest request;
    compress::CalibratedInput plain = compress::open_calibrated(shared_path(k260K), request);
    CHECK_FALSE(plain.calibrated());
    CHECK(plain.file);
    CHECK(plain.stats.tokens == 0);

    request.text_path = shared_path(kTrain);
    request.chunks = 2;
    request.ctx = 64;
    request.tokens = true;
    request.ffn_gram = true;
    int64_t progress_calls = 0;
    request.progress = [&](int64_t, int64_t) { ++progress_calls; };
    compress::CalibratedInput in = compress::open_calibrated(shared_path(k260K), request);
    REQUIRE(in.calibrated());
    CHECK(&in.input() == &in.model->file());
    CHECK(in.ctx == 64);
    CHECK(in.stats.tokens == 2 * 64);
    CHECK_FALSE(in.stats.mean_square.empty());
    CHECK(in.gram.tokens == 2 * 64);
    CHECK(in.tokens.size() > 128);
    CHECK(in.tokens.front() == in.bos_id);
    CHECK(progress_calls > 0);
    double counted = 0;
    for (double c : in.token_counts) counted += c;
    CHECK(counted > 0);
    in.close();
    CHECK_FALSE(in.calibrated());
    CHECK(in.stats.tokens == 2 * 64);  // the statistics outlive the model
}
