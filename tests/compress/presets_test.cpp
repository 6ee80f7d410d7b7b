// quantize --preset low|balanced|high and --preset-file: prune, then mixed precision.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "gguf/gguf_file.h"
#include "model/model.h"
#include "support/run_cli.h"
#include "support/shared_data.h"

using namespace dilmodeli;
using namespace dilmodeli::testing;

namespace {

const char* kTiny = "models/tinystories-5M/tinystories-5M-F32.gguf";
const char* kTrain = "data/tinystories/train.txt";

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

}  // namespace

TEST_CASE("the shipped presets are valid JSON with the documented targets", "[compress][presets]") {
    struct Expected {
        const char* name;
        double sparsity, bpw;
    };
    for (const Expected& e : {Expected{"low", 0.5, 2.5}, Expected{"balanced", 0.3, 4.5}, Expected{"high", 0.1, 8.5}}) {
        INFO(e.name);
        const auto j = nlohmann::json::parse(
            read_text_file(std::string(DILMODELI_SOURCE_DIR) + "/configs/presets/" + e.name + ".json"));
        CHECK(j["prune"]["sparsity"].get<double>() == e.sparsity);
        CHECK(j["prune"]["method"] == "nash");
        CHECK(j["prune"]["structure"] == "ffn");
        CHECK(j["quantize"]["budget_bpw"].get<double>() == e.bpw);
        CHECK(j["description"].is_string());
        // Found and parsed by the CLI wherever it runs from (next to the executable's source
        // tree): the run then stops at the missing input, exit code 2.
        CliResult r = run_cli(std::string("quantize /nonexistent/in.gguf /tmp/never.gguf --calib /nonexistent/c.txt --preset ") +
                              e.name);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains("/nonexistent/in.gguf"));
    }
}

TEST_CASE("a preset prunes FFN channels, then quantizes within the budget, leaving only the output",
          "[compress][presets]") {
    if (!have_shared(kTiny) || !have_shared(kTrain)) return;
    const std::string dir = temp_dir("preset-balanced");
    CliResult r = run_cli("quantize " + quoted(shared_path(kTiny)) + " " + quoted(dir + "/b.gguf") +
                          " --preset balanced --calib " + quoted(shared_path(kTrain)) +
                          " --calib-chunks 2 --importance relative --json");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto report = nlohmann::json::parse(r.out);
    CHECK(report["prune"]["achieved_sparsity"].get<double>() == Approx(0.3).margin(0.05));
    CHECK(report["preset"]["path"].get<std::string>().find("balanced.json") != std::string::npos);
    // 4.5 bits per weight of the pruned model's parameters, in the whole file.
    const double parameters = report["parameters"].get<double>();
    CHECK(parameters < 4984064 * 0.85);
    CHECK(report["file_bytes"].get<double>() * 8 / parameters <= 4.5);
    CHECK(report["equilibrium"]["largest_unilateral_gain"].get<double>() == 0.0);
    auto model = model::Model::load(dir + "/b.gguf");
    CHECK(model->file().find_tensor("blk.0.ffn_gate.weight")->dims[1] < 768);
    // The pruned intermediate was removed: the output is alone in its folder.
    CHECK(std::system(("test $(ls -A '" + dir + "' | wc -l) -eq 1").c_str()) == 0);
}

TEST_CASE("bad presets are refused with one line and exit code 1", "[compress][presets]") {
    if (!have_shared(kTiny)) return;
    const std::string dir = temp_dir("preset-bad");
    const std::string in = quoted(shared_path(kTiny));
    const std::string out = quoted(dir + "/x.gguf");
    auto refused = [&](const std::string& flags, const std::string& message) {
        CliResult r = run_cli("quantize " + in + " " + out + " " + flags);
        INFO(flags << ": " << r.err);
        CHECK(r.exit_code == 1);
        CHECK(count_lines(r.err) == 1);
        CHECK_THAT(r.err, Catch::Contains(message));
    };
    refused("--preset nosuch", "no preset 'nosuch'");
    refused("--preset ../etc/passwd", "is not a preset name");
    refused("--preset-file " + quoted(dir + "/missing.json"), "cannot read");
    write_file(dir + "/broken.json", "{\"quantize\": {\"budget_bpw\": 4.5,}");
    refused("--preset-file " + quoted(dir + "/broken.json"), "not valid JSON");
    write_file(dir + "/unknown.json", "{\"quantize\": {\"budget_bpw\": 4.5, \"bits\": 3}}");
    refused("--preset-file " + quoted(dir + "/unknown.json"), "unknown key \"quantize.bits\"");
    write_file(dir + "/nobudget.json", "{\"prune\": {\"sparsity\": 0.2}}");
    refused("--preset-file " + quoted(dir + "/nobudget.json"), "budget_bpw\" is missing");
    write_file(dir + "/sparsity.json", "{\"prune\": {\"sparsity\": 1.5}, \"quantize\": {\"budget_bpw\": 4}}");
    refused("--preset-file " + quoted(dir + "/sparsity.json"), "must be a number in [0, 1)");
    write_file(dir + "/method.json", "{\"prune\": {\"method\": \"random\"}, \"quantize\": {\"budget_bpw\": 4}}");
    refused("--preset-file " + quoted(dir + "/method.json"), "random");
    // Nash pruning needs calibration text.
    refused("--preset low", "needs calibration text");
    CHECK(run_cli("quantize " + in + " " + out + " --preset low --type Q4_0").exit_code == 1);
    // A valid preset file of one's own: quantize only, no pruning, no calibration needed.
    write_file(dir + "/own.json", "{\"description\": \"mine\", \"quantize\": {\"budget_bpw\": 5}}");
    CliResult own = run_cli("quantize " + in + " " + out + " --preset-file " + quoted(dir + "/own.json") + " --json");
    INFO(own.err);
    REQUIRE(own.exit_code == 0);
    const auto report = nlohmann::json::parse(own.out);
    CHECK(report["file_bytes"].get<double>() * 8 / 4984064 <= 5.0);
    CHECK_FALSE(report.contains("prune"));
}
