// Budgeted mixed precision (quantize --budget-bpw / --target-size): the Nash-swarm engine picks
// a type per matrix so that the whole output file fits the budget.
#include <catch2/catch.hpp>

#include <cmath>
#include <dirent.h>
#include <nlohmann/json.hpp>

#include "compress/calibration.h"
#include "compress/mixed_precision.h"
#include "compress/mixed_sensitivity.h"
#include "compress/model_quantizer.h"
#include "compress/tensor_roles.h"
#include "gguf/gguf_file.h"
#include "model/model.h"
#include "runtime/perplexity.h"
#include "support/run_cli.h"
#include "support/shared_data.h"
#include "tokenizer/tokenizer.h"

using namespace dilmodeli;
using namespace dilmodeli::testing;

namespace {

const char* kTiny = "models/tinystories-5M/tinystories-5M-F32.gguf";
const char* kStories = "models/stories260K/stories260K.gguf";
const char* kHeldout = "data/tinystories/heldout.txt";
const char* kTrain = "data/tinystories/train.txt";

// Measurements of tinystories-5M without calibration, shared by the tests (about 1 s).
const std::vector<compress::TensorCandidates>& tiny_candidates(const gguf::GgufFile& file) {
    static const std::vector<compress::TensorCandidates> candidates =
        compress::measure_candidates(file, compress::MeasureOptions{});
    return candidates;
}

double perplexity_of(const std::string& path, int64_t chunks) {
    auto model = model::Model::load(path);
    auto tokenizer = tokenizer::Tokenizer::from_gguf(model->file());
    const auto tokens = tokenizer->encode(read_text_file(shared_path(kHeldout)), true);
    model::SessionOptions so;
    so.context = 256;
    so.max_batch = 256;
    model::Session session(*model, so);
    runtime::PerplexityOptions po;
    po.ctx = 256;
    po.max_chunks = chunks;
    po.bos_id = tokenizer->bos_id();
    return runtime::perplexity(session, tokens, po).perplexity;
}

}  // namespace

TEST_CASE("mixed precision: every allowed type is measured, after fallback and in increasing bits",
          "[compress][mixed]") {
    if (!have_shared(kStories)) return;
    auto file = gguf::GgufFile::open(shared_path(kStories));
    const auto candidates = compress::measure_candidates(*file, compress::MeasureOptions{});
    size_t quantizable = 0;
    for (const auto& t : file->tensors()) quantizable += compress::is_quantizable(t);
    REQUIRE(candidates.size() == quantizable);
    for (const auto& c : candidates) {
        INFO(c.name);
        REQUIRE(c.types.size() == c.error.size());
        REQUIRE(c.types.size() == c.bytes.size());
        for (size_t k = 1; k < c.types.size(); ++k) {
            CHECK(quant::type_info(c.types[k - 1]).bits_per_weight() <= quant::type_info(c.types[k]).bits_per_weight());
            CHECK(c.bytes[k - 1] <= c.bytes[k]);
        }
        for (double e : c.error) CHECK(e >= 0);
        CHECK(c.signal > 0);
        // More bits, less error: the smallest type is the worst, F16 nearly exact.
        if (c.types.size() > 1) CHECK(c.error.front() > c.error.back());
    }
    // stories260K's ffn_down rows (172) fit no block: F16 is its only choice.
    for (const auto& c : candidates)
        if (c.role == "ffn_down") CHECK(c.types == std::vector<quant::TypeId>{quant::TypeId::F16});
    const auto& q = candidates[1];
    CHECK(q.name == "blk.0.attn_q.weight");
    CHECK(q.layer == 0);
    CHECK(q.role == "attn_q");
}

TEST_CASE("mixed precision: the planned header is exactly what the writer writes", "[compress][mixed]") {
    for (const char* model : {kStories, kTiny}) {
        if (!have_shared(model)) return;
        auto file = gguf::GgufFile::open(shared_path(model));
        const auto plan = compress::plan_uniform(*file, quant::TypeId::Q8_0);
        const std::string out = temp_dir("mixed-header") + "/q.gguf";
        compress::QuantizeJob job;
        job.output_path = out;
        job.plan = plan;
        job.file_type = compress::kFileTypeMixed;
        const auto report = compress::quantize_model(*file, job);
        auto written = gguf::GgufFile::open(out);
        CHECK(compress::planned_header_bytes(*file, plan, job.file_type) == written->data_offset());
        CHECK(compress::planned_file_bytes(*file, plan, job.file_type) == report.file_bytes);
        CHECK(report.file_bytes == written->file_size());
    }
}

TEST_CASE("mixed precision: --target-size is met by the whole output file", "[compress][mixed]") {
    if (!have_shared(kTiny)) return;
    auto file = gguf::GgufFile::open(shared_path(kTiny));
    const auto& candidates = tiny_candidates(*file);
    const std::string dir = temp_dir("mixed-target");
    for (uint64_t target : {1800000ull, 2500000ull, 2981792ull, 3700000ull}) {
        INFO("target " << target);
        compress::MixedPrecisionOptions options;
        options.target_file_bytes = target;
        const auto plan = compress::plan_mixed_precision(*file, candidates, options);
        CHECK(plan.planned_file_bytes <= target);
        CHECK(plan.binding);
        CHECK(plan.converged);
        CHECK(plan.is_equilibrium);
        CHECK(plan.largest_gain == 0.0);
        CHECK(plan.price > 0);
        compress::QuantizeJob job;
        job.output_path = dir + "/m.gguf";
        job.plan = plan.plan;
        job.file_type = compress::kFileTypeMixed;
        const auto report = compress::quantize_model(*file, job);
        CHECK(report.file_bytes == plan.planned_file_bytes);
        CHECK(gguf::GgufFile::open(job.output_path)->file_size() <= target);
        // The price leaves little unused: less than 2% of the target here.
        CHECK(double(target - report.file_bytes) < 0.02 * double(target));
    }
}

TEST_CASE("mixed precision: a larger budget never costs more", "[compress][mixed]") {
    if (!have_shared(kTiny)) return;
    auto file = gguf::GgufFile::open(shared_path(kTiny));
    const auto& candidates = tiny_candidates(*file);
    for (double cohesion : {0.0, 0.001}) {
        INFO("cohesion " << cohesion);
        double previous_cost = INFINITY;
        uint64_t previous_bytes = 0;
        for (uint64_t target = 1700000; target <= 6000000; target += 250000) {
            INFO("target " << target);
            compress::MixedPrecisionOptions options;
            options.target_file_bytes = target;
            options.cohesion = cohesion;
            const auto plan = compress::plan_mixed_precision(*file, candidates, options);
            CHECK(plan.total_cost <= previous_cost);
            CHECK(plan.planned_file_bytes >= previous_bytes);
            previous_cost = plan.total_cost;
            previous_bytes = plan.planned_file_bytes;
        }
    }
}

TEST_CASE("mixed precision: the importance models scale the measured output error", "[compress][mixed]") {
    if (!have_shared(kTiny)) return;
    auto file = gguf::GgufFile::open(shared_path(kTiny));
    const auto& candidates = tiny_candidates(*file);
    compress::MixedPrecisionOptions options;
    options.target_file_bytes = 2600000;
    const auto output = compress::plan_mixed_precision(*file, candidates, options);
    options.importance = compress::Importance::Relative;
    const auto relative = compress::plan_mixed_precision(*file, candidates, options);
    for (size_t p = 0; p < candidates.size(); ++p) {
        INFO(candidates[p].name);
        CHECK(output.tensors[p].importance == 1.0);
        CHECK(relative.tensors[p].importance == Approx(double(candidates[p].parameters) / candidates[p].signal));
        const auto& costs = relative.costs.at(candidates[p].name);
        for (size_t k = 0; k < costs.size(); ++k)
            CHECK(costs[k] == Approx(relative.tensors[p].importance * candidates[p].error[k]));
    }
    // Loss needs a measured sensitivity for every player.
    options.importance = compress::Importance::Loss;
    CHECK_THROWS_WITH(compress::plan_mixed_precision(*file, candidates, options), Catch::Contains("no measured sensitivity"));
    for (const auto& c : candidates) options.sensitivity[c.name] = compress::TensorSensitivity{{3.4375}, {2.0}, {0.1}};
    const auto loss = compress::plan_mixed_precision(*file, candidates, options);
    CHECK(loss.tensors[0].importance == 2.0);
    CHECK(compress::parse_importance("relative") == compress::Importance::Relative);
    CHECK_THROWS(compress::parse_importance("kl"));
}

TEST_CASE("mixed precision: neighbours are the same role one layer away and the layer's other matrices",
          "[compress][mixed]") {
    if (!have_shared(kTiny)) return;
    auto file = gguf::GgufFile::open(shared_path(kTiny));
    compress::MixedPrecisionOptions options;
    options.target_file_bytes = 3000000;
    const auto plan = compress::plan_mixed_precision(*file, tiny_candidates(*file), options);
    for (const auto& t : plan.tensors) {
        INFO(t.name);
        CHECK(t.neighbours <= 7);
        if (t.name.rfind("blk.", 0) == 0) CHECK(t.neighbours >= 5);
    }
    CHECK(plan.colours <= 8);
}

TEST_CASE("mixed precision: a target below the smallest possible file is refused", "[compress][mixed]") {
    if (!have_shared(kTiny)) return;
    auto file = gguf::GgufFile::open(shared_path(kTiny));
    compress::MixedPrecisionOptions options;
    options.target_file_bytes = 1000000;
    CHECK_THROWS_WITH(compress::plan_mixed_precision(*file, tiny_candidates(*file), options),
                      Catch::Contains("is not possible"));
    // The same bound, known before measuring anything.
    const uint64_t least = compress::smallest_file_bytes(*file, compress::default_mixed_types());
    options.target_file_bytes = least;
    const auto plan = compress::plan_mixed_precision(*file, tiny_candidates(*file), options);
    CHECK(plan.planned_file_bytes == least);
    CHECK_NOTHROW(compress::check_target_size(*file, compress::default_mixed_types(), least));
    CHECK_THROWS(compress::check_target_size(*file, compress::default_mixed_types(), least - 1));
    const std::string dir = temp_dir("mixed-refused");
    CliResult r = run_cli("quantize " + quoted(shared_path(kTiny)) + " " + quoted(dir + "/x.gguf") +
                          " --target-size 1000000");
    CHECK(r.exit_code == 1);
    CHECK(count_lines(r.err) == 1);
    CHECK_THAT(r.err, Catch::Contains("is not possible"));
    CHECK(directory_entries(dir).size() == 2);  // . and ..: no partial output
}

TEST_CASE("quantize --budget-bpw: file bpw at most the request, equilibrium certified, output sane",
          "[compress][mixed]") {
    if (!have_shared(kTiny) || !have_shared(kHeldout)) return;
    const std::string out = temp_dir("mixed-bpw") + "/m.gguf";
    CliResult r = run_cli("quantize " + quoted(shared_path(kTiny)) + " " + quoted(out) + " --budget-bpw 4.5 --json");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto report = nlohmann::json::parse(r.out);
    const double parameters = 4984064;
    CHECK(report["parameters"].get<double>() == parameters);
    CHECK(report["file_bytes"].get<uint64_t>() == gguf::GgufFile::open(out)->file_size());
    CHECK(report["file_bytes"].get<double>() * 8 / parameters <= 4.5);
    CHECK(report["file_bits_per_weight"].get<double>() > 4.4);
    CHECK(report["equilibrium"]["largest_unilateral_gain"].get<double>() == 0.0);
    CHECK(report["equilibrium"]["is_equilibrium"].get<bool>());
    CHECK(report["equilibrium"]["converged"].get<bool>());
    CHECK(report["equilibrium"]["price"].get<double>() > 0);
    CHECK(report["equilibrium"]["sweeps"].get<int>() >= 1);
    size_t players = 0;
    for (const auto& t : report["tensors"]) {
        if (t["note"] != "nash") continue;
        ++players;
        CHECK(t.contains("output_error"));
        CHECK(t["candidates"].size() >= 8);
    }
    CHECK(players == 44);
    // The table form names the price and the check.
    CliResult table = run_cli("quantize " + quoted(shared_path(kTiny)) + " " + quoted(out) + " --budget-bpw 4.5");
    CHECK(table.exit_code == 0);
    CHECK_THAT(table.out, Catch::Contains("largest unilateral gain 0 (Nash equilibrium)"));
    // It loads and its perplexity is close to the F32 model's on the same text.
    const double f32 = perplexity_of(shared_path(kTiny), 4);
    const double mixed = perplexity_of(out, 4);
    CHECK(mixed < f32 * 1.03);
    CHECK(mixed > f32 * 0.97);
}

TEST_CASE("quantize --target-size takes bytes and K/M/G, and refuses what is not a size", "[compress][mixed]") {
    if (!have_shared(kTiny)) return;
    const std::string dir = temp_dir("mixed-size");
    const std::string in = shared_path(kTiny);
    for (const std::string& size : {std::string("2.5M"), std::string("2400K"), std::string("2300000")}) {
        CliResult r = run_cli("quantize " + quoted(in) + " " + quoted(dir + "/s.gguf") + " --target-size " + size +
                              " --json");
        INFO(size << ": " << r.err);
        REQUIRE(r.exit_code == 0);
        const double target = size == "2.5M" ? 2.5 * 1024 * 1024 : size == "2400K" ? 2400.0 * 1024 : 2300000;
        CHECK(double(gguf::GgufFile::open(dir + "/s.gguf")->file_size()) <= target);
    }
    for (const std::string& bad : {std::string("abc"), std::string("-5M"), std::string("0"), std::string("3X")}) {
        CliResult r = run_cli("quantize " + quoted(in) + " " + quoted(dir + "/b.gguf") + " --target-size " + bad);
        INFO(bad);
        CHECK(r.exit_code == 1);
        CHECK(count_lines(r.err) == 1);
    }
    CliResult both = run_cli("quantize " + quoted(in) + " " + quoted(dir + "/b.gguf") + " --type Q4_0 --budget-bpw 4");
    CHECK(both.exit_code == 1);
    CliResult none = run_cli("quantize " + quoted(in) + " " + quoted(dir + "/b.gguf"));
    CHECK(none.exit_code == 1);
    CHECK(count_lines(none.err) == 1);
    CliResult same = run_cli("quantize " + quoted(in) + " " + quoted(in) + " --budget-bpw 4");
    CHECK(same.exit_code == 1);
    CHECK_THAT(same.err, Catch::Contains("would overwrite the input"));
    CliResult types = run_cli("quantize " + quoted(in) + " " + quoted(dir + "/b.gguf") + " --budget-bpw 4 --types Q4_0,Q9");
    CHECK(types.exit_code == 1);
    CHECK(count_lines(types.err) == 1);
    CliResult importance = run_cli("quantize " + quoted(in) + " " + quoted(dir + "/b.gguf") + " --budget-bpw 4 --importance fisher");
    CHECK(importance.exit_code == 1);
    CHECK_THAT(importance.err, Catch::Contains("unknown importance 'fisher'"));
    CliResult loss = run_cli("quantize " + quoted(in) + " " + quoted(dir + "/b.gguf") + " --budget-bpw 4 --importance loss");
    CHECK(loss.exit_code == 1);
    CHECK_THAT(loss.err, Catch::Contains("add --calib TEXT"));
}

TEST_CASE("quantize --budget-bpw with calibration is deterministic and leaves no scratch file",
          "[compress][mixed]") {
    if (!have_shared(kStories) || !have_shared(kTrain)) return;
    const std::string dir = temp_dir("mixed-determinism");
    std::string args = " --budget-bpw 9 --calib " + quoted(shared_path(kTrain)) +
                       " --calib-chunks 2 --calib-ctx 64 --importance loss --sensitivity-chunks 2 --json";
    CliResult a = run_cli("quantize " + quoted(shared_path(kStories)) + " " + quoted(dir + "/a.gguf") + args);
    INFO(a.err);
    REQUIRE(a.exit_code == 0);
    CliResult b = run_cli("quantize " + quoted(shared_path(kStories)) + " " + quoted(dir + "/b.gguf") + args);
    REQUIRE(b.exit_code == 0);
    CHECK(slurp(dir + "/a.gguf") == slurp(dir + "/b.gguf"));
    CHECK(directory_entries(dir) == std::vector<std::string>{".", "..", "a.gguf", "b.gguf"});
    const auto report = nlohmann::json::parse(a.out);
    CHECK(report["file_bytes"].get<double>() * 8 / report["parameters"].get<double>() <= 9.0);
    CHECK(report["equilibrium"]["largest_unilateral_gain"].get<double>() == 0.0);
    CHECK(report["calibration_tokens"].get<int>() == 128);
    CHECK(report["importance"] == "loss");
    CHECK(report["budget_fill"]["is_constrained_equilibrium"] == true);
    CHECK(report["budget_fill"]["largest_feasible_gain"].get<double>() == 0.0);
    for (const auto& t : report["tensors"]) {
        if (t["note"] != "nash") continue;
        INFO(t["name"]);
        CHECK(t["alpha"].get<double>() >= 0);
        REQUIRE(t.contains("sensitivity"));
        CHECK(t["sensitivity"]["kl"][0].get<double>() >= 0);
    }
    CHECK(model::Model::load(dir + "/a.gguf") != nullptr);
}

TEST_CASE("loss sensitivity: quantizing a matrix costs KL in proportion to its output error", "[compress][mixed]") {
    if (!have_shared(kStories) || !have_shared(kTrain)) return;
    auto model = model::Model::load(shared_path(kStories));
    compress::CalibrationOptions co;
    co.ctx = 64;
    co.max_chunks = 2;
    const auto stats = compress::collect_activation_stats_from_file(*model, shared_path(kTrain), co);
    compress::MeasureOptions mo;
    mo.stats = &stats;
    const auto candidates = compress::measure_candidates(model->file(), mo);
    auto tokenizer = tokenizer::Tokenizer::from_gguf(model->file());
    const auto tokens = tokenizer->encode(read_text_file(shared_path(kTrain)).substr(0, 4000), true);
    compress::SensitivityOptions so;
    so.chunks = 1;
    so.ctx = 64;
    so.stats = &stats;
    so.probes = {quant::TypeId::Q3_K, quant::TypeId::Q8_0};
    const std::string dir = temp_dir("mixed-sensitivity");
    so.scratch_dir = dir;
    const auto report = compress::measure_sensitivity(model->file(), tokens, tokenizer->bos_id(), candidates, so);
    CHECK(report.tokens == 64);
    CHECK(directory_entries(dir).size() == 2);  // the working copy never had a lasting name
    REQUIRE(report.tensors.size() == candidates.size());
    for (const auto& c : candidates) {
        INFO(c.name);
        const auto& s = report.tensors.at(c.name);
        if (c.types.size() == 1) {  // ffn_down: F16 only, one probe
            CHECK(s.bits.size() == 1);
            continue;
        }
        REQUIRE(s.bits.size() == 2);
        CHECK(s.bits[0] < s.bits[1]);
        // Q3_K's fallback (IQ4_NL) perturbs the model more than Q8_0.
        CHECK(s.kl[0] > s.kl[1]);
        CHECK(s.kl[0] > 0);
        CHECK(s.alpha[0] > 0);
        // Between probes alpha is interpolated, outside them held.
        CHECK(s.at(0.0) == s.alpha[0]);
        CHECK(s.at(100.0) == s.alpha[1]);
        const double mid = s.at(0.5 * (s.bits[0] + s.bits[1]));
        CHECK(mid >= std::min(s.alpha[0], s.alpha[1]) * (1 - 1e-12));
        CHECK(mid <= std::max(s.alpha[0], s.alpha[1]) * (1 + 1e-12));
    }
    // A quantized input cannot be probed in place.
    auto q8 = gguf::GgufFile::open(shared_path("models/stories260K/stories260K-Q8_0.gguf"));
    const auto q8_candidates = compress::measure_candidates(*q8, compress::MeasureOptions{});
    CHECK_THROWS_WITH(compress::measure_sensitivity(*q8, tokens, tokenizer->bos_id(), q8_candidates, so),
                      Catch::Contains("needs a float model"));
}
