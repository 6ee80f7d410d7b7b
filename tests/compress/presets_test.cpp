// quantize --preset low|balanced|high and --preset-file: prune, then mixed precision.
#include <catch2/catch.hpp>

#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "compress/preset.h"
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

// The Error(Usage) message of parsing `text` as a preset, or "" when it parses.
std::string refusal(const std::string& text) {
    try {
        compress::parse_preset(text, "p.json");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Usage);
        return e.what();
    }
    return "";
}

// Runs the rest of a scope in `dir`, and returns to where it was at the scope's end.
class WorkingDirectory {
public:
    explicit WorkingDirectory(const std::string& dir) {
        REQUIRE(::getcwd(previous_, sizeof previous_));
        REQUIRE(::chdir(dir.c_str()) == 0);
    }
    ~WorkingDirectory() {
        if (::chdir(previous_) != 0) std::abort();
    }

private:
    char previous_[4096];
};

}  // namespace

TEST_CASE("the shipped presets are valid JSON with the documented targets", "[compress][presets]") {
    struct Expected {
        const char* name;
        double sparsity, bpw;
    };
    for (const Expected& e : {Expected{"low", 0.5, 2.5}, Expected{"balanced", 0.3, 4.5}, Expected{"high", 0.1, 8.5}}) {
        INFO(e.name);
        const std::string file = std::string(DILMODELI_SOURCE_DIR) + "/configs/presets/" + e.name + ".json";
        const auto j = nlohmann::json::parse(read_text_file(file));
        CHECK(j["prune"]["sparsity"].get<double>() == e.sparsity);
        CHECK(j["prune"]["method"] == "nash");
        CHECK(j["prune"]["structure"] == "ffn");
        CHECK(j["quantize"]["budget_bpw"].get<double>() == e.bpw);
        CHECK(j["description"].is_string());
        // The binary carries the same text, so that it works from any folder.
        CHECK(compress::builtin_preset_text(e.name) == read_text_file(file));
        const compress::Preset p = compress::parse_preset(compress::builtin_preset_text(e.name), e.name);
        CHECK(p.prune);
        CHECK(p.sparsity == e.sparsity);
        CHECK(p.method == "nash");
        CHECK(p.structure == "ffn");
        CHECK(p.budget_bpw == e.bpw);
        CHECK(p.description == j["description"].get<std::string>());
    }
    CHECK(compress::builtin_preset_names() == std::vector<std::string>{"low", "balanced", "high"});
    CHECK(compress::builtin_preset_text("nosuch").empty());
}

TEST_CASE("presets are found in ./configs/presets, else among the built-in ones", "[compress][presets]") {
    {
        WorkingDirectory in_source(DILMODELI_SOURCE_DIR);  // its configs/presets comes first
        CHECK(compress::find_preset("balanced").path == "configs/presets/balanced.json");
    }
    const std::string dir = temp_dir("preset-lookup");
    compress::Preset builtin, local;
    std::string nosuch, bad_name;
    {
        WorkingDirectory in_dir(dir);
        builtin = compress::find_preset("low");
        REQUIRE(::mkdir("configs", 0755) == 0);
        REQUIRE(::mkdir("configs/presets", 0755) == 0);
        write_file("configs/presets/low.json", "{\"description\": \"mine\", \"quantize\": {\"budget_bpw\": 3}}");
        local = compress::find_preset("low");
        try {
            compress::find_preset("nosuch");
        } catch (const Error& e) {
            nosuch = e.what();
        }
        try {
            compress::find_preset("../etc/passwd");
        } catch (const Error& e) {
            bad_name = e.what();
        }
    }
    CHECK(builtin.path == "built-in low.json");
    CHECK(builtin.budget_bpw == 2.5);
    CHECK(builtin.importance == "loss");
    CHECK(local.path == "configs/presets/low.json");
    CHECK(local.description == "mine");
    CHECK_FALSE(local.prune);
    CHECK_THAT(nosuch, Catch::Contains("no preset 'nosuch'"));
    CHECK_THAT(bad_name, Catch::Contains("is not a preset name"));

    // The binary, copied out of the build tree and run from elsewhere, still finds them: the
    // run then stops at the missing input, exit code 2.
    REQUIRE(std::system(("cp '" DILMODELI_BINARY "' '" + dir + "/dilmodeli'").c_str()) == 0);
    REQUIRE(std::system(("rm -rf '" + dir + "/configs'").c_str()) == 0);
    for (const char* name : {"low", "balanced", "high"}) {
        const std::string command = "cd '" + dir + "' && ./dilmodeli quantize /nonexistent/in.gguf x.gguf " +
                                    "--calib /nonexistent/c.txt --preset " + name + " 2>err.txt";
        const int status = std::system(command.c_str());
        INFO(name << ": " << read_text_file(dir + "/err.txt"));
        CHECK(WEXITSTATUS(status) == 2);
        CHECK_THAT(read_text_file(dir + "/err.txt"), Catch::Contains("/nonexistent/in.gguf"));
    }
}

TEST_CASE("an installed binary's presets are in ../share/dilmodeli/presets beside its bin/", "[compress][presets]") {
    // This test binary is BUILD/tests/dilmodeli_tests: its "prefix" is BUILD.
    char exe[4096];
    REQUIRE(::realpath("/proc/self/exe", exe));
    const std::string bin_dir = std::string(exe).substr(0, std::string(exe).rfind('/'));
    const std::string prefix = bin_dir.substr(0, bin_dir.rfind('/'));
    CHECK(compress::installed_preset_dir() == prefix + "/share/dilmodeli/presets");
    // tests/apps/install_test.cpp installs the binary and checks that an edited installed preset
    // takes the built-in one's place, and that ./configs/presets beats both.
}

TEST_CASE("a preset file outside the schema is refused, naming the key", "[compress][presets]") {
    CHECK_THAT(refusal("{\"quantize\": {\"budget_bpw\": 4.5,}"), Catch::Contains("p.json: not valid JSON"));
    CHECK_THAT(refusal("[1]"), Catch::Contains("the top level must be an object"));
    CHECK_THAT(refusal("{\"quantize\": {\"budget_bpw\": 4.5, \"bits\": 3}}"),
               Catch::Contains("unknown key \"quantize.bits\""));
    CHECK_THAT(refusal("{\"prune\": {\"sparsity\": 0.2}}"), Catch::Contains("budget_bpw\" is missing"));
    CHECK_THAT(refusal("{\"prune\": {\"sparsity\": 1.5}, \"quantize\": {\"budget_bpw\": 4}}"),
               Catch::Contains("must be a number in [0, 1)"));
    CHECK_THAT(refusal("{\"prune\": {\"method\": \"random\"}, \"quantize\": {\"budget_bpw\": 4}}"),
               Catch::Contains("random"));
    CHECK_THAT(refusal("{\"prune\": {\"width_multiple\": -1}, \"quantize\": {\"budget_bpw\": 4}}"),
               Catch::Contains("width_multiple\" must be an integer >= 0"));
    CHECK_THAT(refusal("{\"quantize\": {\"budget_bpw\": 4, \"importance\": \"fisher\"}}"), Catch::Contains("fisher"));
    CHECK_THAT(refusal("{\"quantize\": {\"budget_bpw\": 4, \"cohesion\": -1}}"),
               Catch::Contains("cohesion\" must be >= 0"));
    CHECK_THAT(refusal("{\"quantize\": {\"budget_bpw\": 0}}"), Catch::Contains("budget_bpw\" must be > 0"));
    CHECK_THAT(refusal("{\"colour\": 1, \"quantize\": {\"budget_bpw\": 4}}"), Catch::Contains("unknown key \"colour\""));

    const compress::Preset p = compress::parse_preset(
        "{\"description\": \"d\", \"prune\": {\"sparsity\": 0.2, \"method\": \"wanda\", \"structure\": "
        "\"unstructured\", \"width_multiple\": 64}, \"quantize\": {\"budget_bpw\": 5, \"importance\": "
        "\"relative\", \"cohesion\": 0.5}}",
        "p.json");
    CHECK(p.path == "p.json");
    CHECK(p.prune);
    CHECK(p.sparsity == 0.2);
    CHECK(p.method == "wanda");
    CHECK(p.structure == "unstructured");
    CHECK(p.width_multiple == 64);
    CHECK(p.budget_bpw == 5);
    CHECK(p.importance == "relative");
    CHECK(p.cohesion == 0.5);
    CHECK_FALSE(compress::parse_preset("{\"prune\": null, \"quantize\": {\"budget_bpw\": 5}}", "p").prune);
    CHECK_THROWS_WITH(compress::load_preset_file("/nonexistent/p.json"), Catch::Contains("cannot read"));
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
    refused("--preset-file " + quoted(dir + "/missing.json"), "cannot read");
    write_file(dir + "/unknown.json", "{\"quantize\": {\"budget_bpw\": 4.5, \"bits\": 3}}");
    refused("--preset-file " + quoted(dir + "/unknown.json"), "unknown key \"quantize.bits\"");
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
