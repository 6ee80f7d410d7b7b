// `dilmodeli profile` as a user drives it, on the tiny stories260K model with a small bandwidth
// probe: the JSON has every documented key and its figures add up, the HTML page is whole and
// self-contained, and an unwritable --html path fails cleanly.
#include <catch2/catch.hpp>

#include <algorithm>
#include <dirent.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <vector>

#include "gguf/gguf_file.h"
#include "support/run_cli.h"
#include "support/shared_data.h"

using namespace dilmodeli::testing;
using nlohmann::json;

namespace {

const char* kModel = "models/stories260K/stories260K.gguf";
// Probe sizes that keep a run around a second.
const char* kSmallProbe = " --ladder-max 2M --stream-size 1M -n 8";

std::string profile_args(const std::string& extra) {
    return "profile -m " + quoted(shared_path(kModel)) + kSmallProbe + " " + extra;
}

const json& profiled_json() {
    static const json j = [] {
        CliResult r = run_cli(profile_args("--json"));
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        return json::parse(r.out);
    }();
    return j;
}

std::vector<std::string> files_in(const std::string& dir) {
    std::vector<std::string> names;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d))
            if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") names.push_back(e->d_name);
        ::closedir(d);
    }
    return names;
}

// Every element opened is closed in order; void elements and self-closing SVG shapes excepted.
// Returns "" when balanced, else a description of the first problem.
std::string tag_balance_problem(const std::string& html) {
    static const std::set<std::string> kVoid = {"meta", "br", "hr", "img", "input", "link"};
    static const std::regex tag(R"(<(/?)([A-Za-z][A-Za-z0-9]*)([^>]*)>)");
    std::vector<std::string> open;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), tag); it != std::sregex_iterator(); ++it) {
        const std::string name = (*it)[2], attrs = (*it)[3];
        const bool closing = (*it)[1].length() > 0;
        if (closing) {
            if (open.empty() || open.back() != name)
                return "</" + name + "> closes " + (open.empty() ? std::string("nothing") : "<" + open.back() + ">");
            open.pop_back();
        } else if (!kVoid.count(name) && !(attrs.size() > 0 && attrs.back() == '/')) {
            open.push_back(name);
        }
    }
    return open.empty() ? "" : "<" + open.back() + "> is never closed";
}

}  // namespace

TEST_CASE("profile --json has every documented key", "[profile]") {
    if (!have_shared(kModel)) return;
    const json& j = profiled_json();
    const std::map<std::string, std::vector<std::string>> keys = {
        {"model", {"path", "type", "file_bytes", "mmap", "n_layers", "n_embd", "n_vocab", "weight_bytes_per_token"}},
        {"run", {"threads", "batch", "kv_type", "n_prompt", "n_gen", "prompt_source", "context"}},
        {"prompt", {"tokens", "seconds", "tok_per_s", "cpu_share", "weight_bytes", "kv_bytes", "working_set_bytes",
                    "working_set_level", "ceiling_gb_per_s", "ops", "layers", "counters"}},
        {"generation", {"tokens", "seconds", "tok_per_s", "cpu_share", "weight_bytes", "kv_bytes", "working_set_bytes",
                        "working_set_level", "ceiling_gb_per_s", "ops", "layers", "counters"}},
        {"per_token", {"weight_bytes", "kv_bytes", "total_bytes"}},
        {"machine", {"cores", "cache_source", "caches", "bandwidth"}},
        {"roofline", {"dram_gb_per_s", "bytes_per_token", "tok_per_s_bound", "achieved_tok_per_s", "percent", "level",
                      "level_gb_per_s", "level_tok_per_s_bound", "level_percent"}},
        {"counters", {"hardware"}},
    };
    for (const auto& [section, names] : keys) {
        REQUIRE(j.contains(section));
        for (const std::string& k : names) {
            INFO(section << "." << k);
            CHECK(j[section].contains(k));
        }
    }
    for (const char* k : {"placement", "thread_scaling", "recommendations", "peak_rss_mib", "seconds"}) {
        INFO(k);
        CHECK(j.contains(k));
    }
    for (const char* k : {"read_kernel", "seconds", "threads", "stream", "ladder"}) CHECK(j["machine"]["bandwidth"].contains(k));
    for (const json& op : j["generation"]["ops"])
        for (const char* k : {"op", "seconds", "share", "calls", "tokens", "weight_bytes", "kv_bytes", "us_per_token",
                              "gb_per_s", "gflop_per_s", "ceiling_gb_per_s", "percent_of_ceiling", "bound"}) {
            INFO(op["op"] << "." << k);
            CHECK(op.contains(k));
        }
    for (const json& s : j["machine"]["bandwidth"]["stream"])
        for (const char* k : {"threads", "triad_gb_per_s", "triad_best_gb_per_s", "read_gb_per_s"}) CHECK(s.contains(k));
    for (const json& p : j["placement"])
        for (const char* k : {"tensor", "type", "bytes", "fits_in"}) CHECK(p.contains(k));
    REQUIRE(j["recommendations"].size() >= 3);
    std::set<std::string> topics;
    for (const json& a : j["recommendations"]) {
        for (const char* k : {"topic", "advice", "evidence"}) CHECK(a.contains(k));
        topics.insert(a["topic"].get<std::string>());
    }
    CHECK(topics.count("batch") == 1);
    CHECK(topics.count("quant_type") == 1);
    CHECK(j["run"]["n_gen"] == 8);
    CHECK(j["model"]["type"] == "F32");
}

TEST_CASE("profile: op and layer shares each sum to the whole phase", "[profile]") {
    if (!have_shared(kModel)) return;
    const json& j = profiled_json();
    for (const char* phase : {"prompt", "generation"}) {
        INFO(phase);
        double ops = 0, layers = 0, seconds = 0;
        std::set<std::string> names;
        for (const json& o : j[phase]["ops"]) {
            CHECK(o["share"].get<double>() >= 0);
            ops += o["share"].get<double>();
            seconds += o["seconds"].get<double>();
            names.insert(o["op"].get<std::string>());
        }
        for (const json& l : j[phase]["layers"]) layers += l["share"].get<double>();
        CHECK(ops == Approx(1.0).epsilon(0.01));
        CHECK(layers == Approx(1.0).epsilon(0.01));
        CHECK(seconds == Approx(j[phase]["seconds"].get<double>()).epsilon(0.01));
        for (const char* op : {"embedding", "attn_norm", "attn_q", "attn_k", "attn_v", "rope", "attention",
                               "attn_output", "residual", "ffn_norm", "ffn_gate", "ffn_up", "ffn_act", "ffn_down",
                               "output_norm", "output", "other"}) {
            INFO(op);
            CHECK(names.count(op) == 1);
        }
        CHECK(j[phase]["layers"].size() == 5 + 2);  // blocks, outside them, untimed
    }
    CHECK(j["generation"]["tokens"] == 8);
    CHECK(j["prompt"]["tokens"] == j["run"]["n_prompt"]);
}

TEST_CASE("profile: weight bytes per op match the model's tensors", "[profile]") {
    if (!have_shared(kModel)) return;
    const json& j = profiled_json();
    auto file = dilmodeli::gguf::GgufFile::open(shared_path(kModel));
    // Bytes of every tensor an op multiplies by, over all layers.
    std::map<std::string, uint64_t> expected;
    for (const auto& t : file->tensors()) {
        std::smatch m;
        static const std::regex blk(R"(blk\.\d+\.(attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down)\.weight)");
        if (std::regex_match(t.name, m, blk)) expected[m[1]] += t.n_bytes;
        if (t.name == "output.weight") expected["output"] += t.n_bytes;
        if (t.name == "token_embd.weight") expected["embedding"] += t.n_bytes / uint64_t(t.n_rows());  // one row per token
    }
    const uint64_t n_gen = j["run"]["n_gen"];
    uint64_t total = 0;
    for (const json& o : j["generation"]["ops"]) {
        const std::string op = o["op"];
        const uint64_t per_token = o["weight_bytes"].get<uint64_t>() / n_gen;
        total += per_token;
        INFO(op);
        CHECK(per_token == (expected.count(op) ? expected[op] : 0));
    }
    CHECK(total == j["model"]["weight_bytes_per_token"].get<uint64_t>());
    CHECK(j["per_token"]["weight_bytes"] == j["model"]["weight_bytes_per_token"]);
    // Attention reads K and V of every visible position in every layer: positions n_prompt + 1
    // up to n_prompt + n_gen over the generated tokens.
    const uint64_t n_prompt = j["run"]["n_prompt"];
    const uint64_t kv_dim = uint64_t(file->get_int("llama.embedding_length") /
                                     file->get_int("llama.attention.head_count") *
                                     file->get_int("llama.attention.head_count_kv"));
    REQUIRE(j["run"]["kv_type"] == "f16");  // the default, as llama.cpp's
    const uint64_t per_position = uint64_t(file->get_int("llama.block_count")) * 2 * kv_dim * 2;
    const uint64_t positions = n_prompt * n_gen + n_gen * (n_gen + 1) / 2;
    CHECK(j["per_token"]["kv_bytes"].get<uint64_t>() == per_position * positions / n_gen);
    CHECK(j["roofline"]["bytes_per_token"] == j["per_token"]["total_bytes"]);
    const double bound = j["roofline"]["tok_per_s_bound"];
    CHECK(bound == Approx(j["roofline"]["dram_gb_per_s"].get<double>() * 1e9 / double(j["roofline"]["bytes_per_token"])));
}

TEST_CASE("profile: bandwidth ladder and caches are plausible", "[profile]") {
    if (!have_shared(kModel)) return;
    const json& j = profiled_json();
    const json& ladder = j["machine"]["bandwidth"]["ladder"];
    REQUIRE(ladder.size() == 8);  // 16K .. 2M, one point per doubling
    CHECK(ladder.front()["bytes"] == 16 * 1024);
    CHECK(ladder.back()["bytes"] == 2 * 1024 * 1024);
    uint64_t previous = 0;
    for (const json& p : ladder) {
        CHECK(p["bytes"].get<uint64_t>() > previous);
        previous = p["bytes"];
        for (const auto& [threads, rate] : p["gb_per_s"].items()) {
            INFO(threads << " threads at " << previous << " bytes");
            CHECK(rate.get<double>() > 0.1);
            CHECK(rate.get<double>() < 100000);
        }
    }
    for (const json& s : j["machine"]["bandwidth"]["stream"]) {
        CHECK(s["triad_gb_per_s"].get<double>() > 0.1);
        CHECK(s["read_gb_per_s"].get<double>() > 0.1);
    }
    const json& caches = j["machine"]["caches"];
    std::map<int, uint64_t> size;
    for (const json& c : caches) {
        CHECK(c["size_bytes"].get<uint64_t>() > 0);
        CHECK(c["shared_by"].get<int>() >= 1);
        CHECK(c["effective_size_bytes"].get<uint64_t>() > 0);
        CHECK(c["effective_size_bytes"].get<uint64_t>() <= c["size_bytes"].get<uint64_t>());
        size[c["level"].get<int>()] = c["size_bytes"];
    }
    if (size.count(1) && size.count(2)) CHECK(size[1] < size[2]);
    if (size.count(2) && size.count(3)) CHECK(size[2] <= size[3]);
    CHECK(j["machine"]["cores"].get<int>() >= 1);
}

TEST_CASE("profile: counters are numbers or an unavailable reason", "[profile]") {
    if (!have_shared(kModel)) return;
    const json& j = profiled_json();
    const std::string hardware = j["counters"]["hardware"];
    CHECK((hardware == "available" || (hardware.rfind("unavailable: ", 0) == 0 && hardware.size() > 20)));
    for (const char* phase : {"prompt", "generation"}) {
        const json& c = j[phase]["counters"];
        for (const char* k : {"cycles", "instructions", "cache_references", "cache_misses", "llc_load_misses",
                              "task_clock_ns", "involuntary_context_switches"}) {
            INFO(phase << " " << k);
            REQUIRE(c.contains(k));
            if (c[k].is_string()) {
                CHECK(c[k].get<std::string>().rfind("unavailable: ", 0) == 0);
            } else {
                REQUIRE(c[k].is_number());
                CHECK(c[k].get<double>() >= 0);
            }
        }
        // Hardware events are all there or all explained, never made up.
        if (hardware != "available") CHECK(c["cycles"].is_string());
    }
}

TEST_CASE("profile --html writes one self-contained, balanced page", "[profile]") {
    if (!have_shared(kModel)) return;
    const std::string dir = temp_dir("profile-html");
    const std::string page = dir + "/report.html";
    CliResult r = run_cli(profile_args("--html " + quoted(page)));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("Generation:"));
    CHECK_THAT(r.out, Catch::Contains("Recommendations:"));
    CHECK(files_in(dir) == std::vector<std::string>{"report.html"});  // no temporary left behind
    const std::string html = read_text_file(page);
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(std::count(html.begin(), html.end(), '\0') == 0);
    size_t svgs = 0;
    for (size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) ++svgs;
    CHECK(svgs >= 3);
    CHECK(tag_balance_problem(html) == "");
    CHECK(html.find("</html>") != std::string::npos);
    // Self-contained: nothing fetched from elsewhere.
    for (const char* outside : {"http://", "https://", "src=", "<script", "<link", "@import"}) {
        INFO(outside);
        CHECK(html.find(outside) == std::string::npos);
    }
}

TEST_CASE("the tag-balance checker catches what it should", "[profile]") {
    CHECK(tag_balance_problem("<html><body><svg><rect x=\"1\"/></svg><br></body></html>") == "");
    CHECK(tag_balance_problem("<html><body><svg></body></html>") != "");
    CHECK(tag_balance_problem("<p><b></p></b>") != "");
    CHECK(tag_balance_problem("<table><tr><td>x</td></tr>") != "");
}

TEST_CASE("profile --html to an unwritable place: exit 3, one line, no file", "[profile]") {
    if (!have_shared(kModel)) return;
    const std::string dir = temp_dir("profile-unwritable");
    CliResult r = run_cli(profile_args("--html " + quoted(dir + "/missing/report.html")));
    CHECK(r.exit_code == 3);
    CHECK(count_lines(r.err) == 1);
    CHECK_THAT(r.err, Catch::Contains("report.html"));
    CHECK(r.out.empty());
    CHECK(files_in(dir).empty());

    CliResult is_dir = run_cli(profile_args("--html " + quoted(dir)));
    CHECK(is_dir.exit_code == 3);
    CHECK(count_lines(is_dir.err) == 1);

    // A run that fails after the page was opened leaves nothing either.
    std::ofstream(dir + "/bad.gguf") << "not a model";
    CliResult bad = run_cli("profile -m " + quoted(dir + "/bad.gguf") + kSmallProbe + " --html " +
                            quoted(dir + "/report.html"));
    CHECK(bad.exit_code == 2);
    CHECK(count_lines(bad.err) == 1);
    CHECK(files_in(dir) == std::vector<std::string>{"bad.gguf"});
}

TEST_CASE("profile rejects bad flags with exit 1", "[profile]") {
    if (!have_shared(kModel)) return;
    for (const char* flags : {"-n 0", "--ladder-max 1K", "--ladder-max lots", "--stream-size 0", "--batch 0",
                              "--kv-type q8", "--n-prompt -3", "--ladder-points 0"}) {
        INFO(flags);
        CliResult r = run_cli("profile -m " + quoted(shared_path(kModel)) + " " + flags);
        CHECK(r.exit_code == 1);
        CHECK(count_lines(r.err) >= 1);
    }
}
