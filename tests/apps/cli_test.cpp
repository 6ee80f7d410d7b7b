// The dilmodeli binary as a user drives it: JSON shapes, determinism, and one clear line with
// the documented exit code for every kind of bad input.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/run_cli.h"
#include "support/shared_data.h"

using namespace dilmodeli::testing;
using nlohmann::json;

namespace {
const char* kModel = "models/stories260K/stories260K.gguf";
}

TEST_CASE("inspect --json describes stories260K", "[cli]") {
    if (!have_shared(kModel)) return;
    CliResult r = run_cli("inspect " + quoted(shared_path(kModel)) + " --json --tensors");
    REQUIRE(r.exit_code == 0);
    json j = json::parse(r.out);
    CHECK(j["architecture"] == "llama");
    CHECK(j["hyperparameters"]["embedding_length"] == 64);
    CHECK(j["tokenizer"]["model"] == "llama");
    CHECK(j["tokenizer"]["vocab_size"] == 512);
    CHECK(j["tokenizer"]["bos_token_id"] == 1);
    CHECK(j["tensor_count"] == 48);
    CHECK(j["tensors"].size() == 48);
    CHECK(j["parameters"] == 292800);  // 260,032 weights plus the stored copy of the 512x64 classifier
    CHECK(j["bits_per_weight"].get<double>() == Approx(32.0));
}

TEST_CASE("run --json is deterministic for a seed and matches greedy decoding at --temp 0", "[cli]") {
    if (!have_shared(kModel)) return;
    const std::string base = "run -m " + quoted(shared_path(kModel)) + " -p 'Once upon a time' -n 24 --json";
    CliResult a = run_cli(base + " --seed 5 --temp 0.8");
    CliResult b = run_cli(base + " --seed 5 --temp 0.8 -t 1");
    REQUIRE(a.exit_code == 0);
    json ja = json::parse(a.out), jb = json::parse(b.out);
    CHECK(ja["tokens"] == jb["tokens"]);
    CHECK(ja["text"] == jb["text"]);
    CHECK(ja["prompt_tokens"] == json::array({1, 403, 407, 261, 378}));
    for (const char* key : {"load_ms", "prompt_n", "prompt_tok_per_s", "gen_n", "gen_tok_per_s"})
        CHECK(ja["timings"].contains(key));
    CHECK(ja["timings"]["gen_n"] == 24);

    CliResult greedy = run_cli(base + " --temp 0");
    REQUIRE(greedy.exit_code == 0);
    CHECK(json::parse(greedy.out)["text"].get<std::string>().rfind(", there was a little girl named Lily.", 0) == 0);

    CliResult streamed = run_cli("run -m " + quoted(shared_path(kModel)) + " -p 'Once upon a time' -n 8 --temp 0");
    REQUIRE(streamed.exit_code == 0);
    CHECK(streamed.out.rfind("Once upon a time, there was a little girl", 0) == 0);
    CHECK_THAT(streamed.err, Catch::Contains("tok/s"));
}

TEST_CASE("run and eval give the same tokens and perplexity mapped, copied and by default", "[cli]") {
    const std::string model = "models/tinystories-5M/tinystories-5M-Q4_0.gguf";  // untied embedding
    if (!have_shared(model)) return;
    const std::string run = "run -m " + quoted(shared_path(model)) + " -p 'Once upon a time' -n 16 --temp 0 --json";
    CliResult mapped = run_cli(run + " --mmap"), copied = run_cli(run + " --no-mmap"), chosen = run_cli(run);
    REQUIRE(mapped.exit_code == 0);
    REQUIRE(copied.exit_code == 0);
    REQUIRE(chosen.exit_code == 0);
    CHECK(json::parse(copied.out)["tokens"] == json::parse(mapped.out)["tokens"]);
    CHECK(json::parse(chosen.out)["tokens"] == json::parse(mapped.out)["tokens"]);
    const std::string eval = "eval -m " + quoted(shared_path(model)) + " -f " +
                             quoted(shared_path("data/tinystories/tinystories_valid_excerpt.txt")) +
                             " --ctx 128 --chunks 3 --json";
    CliResult e1 = run_cli(eval + " --mmap"), e2 = run_cli(eval + " --no-mmap");
    REQUIRE(e1.exit_code == 0);
    REQUIRE(e2.exit_code == 0);
    CHECK(json::parse(e1.out)["perplexity"] == json::parse(e2.out)["perplexity"]);
    // bench says how the weights were held.
    const std::string bench = "bench -m " + quoted(shared_path(model)) + " -p 8 -n 4 -r 1 --json";
    CliResult b1 = run_cli(bench + " --mmap"), b2 = run_cli(bench + " --no-mmap");
    REQUIRE(b1.exit_code == 0);
    REQUIRE(b2.exit_code == 0);
    CHECK(json::parse(b1.out)["mmap"] == true);
    CHECK(json::parse(b2.out)["mmap"] == false);
    // ... and which KV cache it timed: F16 unless asked, as llama-bench does.
    CHECK(json::parse(b1.out)["kv_type"] == "f16");
    CliResult b3 = run_cli(bench + " --kv-type F32"), bad = run_cli(bench + " --kv-type q8");
    REQUIRE(b3.exit_code == 0);
    CHECK(json::parse(b3.out)["kv_type"] == "f32");
    CHECK(bad.exit_code == 1);
    CHECK(bad.err.find("--kv-type 'q8' is not f32 or f16") != std::string::npos);
    // -d: the measurements start after that many tokens of context, named as llama-bench does.
    CliResult deep = run_cli("bench -m " + quoted(shared_path(model)) + " -p 8 -n 4 -r 1 -d 300");
    REQUIRE(deep.exit_code == 0);
    CHECK(deep.out.find("pp8 @ d300") != std::string::npos);
    CHECK(deep.out.find("tg4 @ d300") != std::string::npos);
    CHECK(json::parse(run_cli(bench + " -d 300").out)["n_depth"] == 300);
    CHECK(run_cli(bench + " -d -1").exit_code == 1);
}

TEST_CASE("on AVX2, run and bench lay Q4_0 weights out for the kernels, mapped or copied", "[cli][interleaved]") {
    const std::string model = "models/tinystories-5M/tinystories-5M-Q4_0.gguf";
    if (!have_shared(model)) return;
    const std::string flags = std::string(std::getenv("DILMODELI_ISA") ? std::getenv("DILMODELI_ISA") : "");
    struct Restore {
        std::string isa;
        ~Restore() { isa.empty() ? ::unsetenv("DILMODELI_ISA") : ::setenv("DILMODELI_ISA", isa.c_str(), 1); }
    } restore{flags};
    const std::string bench = "bench -m " + quoted(shared_path(model)) + " -p 8 -n 4 -r 1 --json";
    ::setenv("DILMODELI_ISA", "avx2", 1);
    const json probe = json::parse(run_cli(bench).out);
    if (probe["isa"] != "avx2") {
        WARN("this CPU has no AVX2, whose kernels prefer interleaved rows");
        return;
    }
    // 6 layers x 7 matrices; the output head is Q6_K, read as stored.
    CHECK(probe["interleaved_matrices"] == 42);
    const std::string run = "run -m " + quoted(shared_path(model)) + " -p 'Once upon a time' -n 16 --temp 0 --json";
    CliResult mapped = run_cli(run + " --mmap"), copied = run_cli(run + " --no-mmap");
    REQUIRE(mapped.exit_code == 0);
    REQUIRE(copied.exit_code == 0);
    CHECK(json::parse(copied.out)["tokens"] == json::parse(mapped.out)["tokens"]);
    ::setenv("DILMODELI_ISA", "scalar", 1);
    CHECK(json::parse(run_cli(bench).out)["interleaved_matrices"] == 0);
}

TEST_CASE("eval --json reports llama-perplexity's figure", "[cli]") {
    if (!have_shared(kModel)) return;
    CliResult r = run_cli("eval -m " + quoted(shared_path(kModel)) + " -f " +
                          quoted(shared_path("data/tinystories/tinystories_valid_excerpt.txt")) +
                          " --ctx 256 --chunks 10 --json");
    REQUIRE(r.exit_code == 0);
    json j = json::parse(r.out);
    CHECK(j["chunks"] == 10);
    CHECK(j["scored_tokens"] == 1270);
    CHECK(j["ctx"] == 256);
    CHECK(j["perplexity"].get<double>() > 2.0);
    CHECK(j["perplexity"].get<double>() < 6.0);
}

TEST_CASE("bad input to run and eval: one line, documented exit code", "[cli]") {
    if (!have_shared(kModel)) return;
    const std::string dir = temp_dir("cli-bad");
    const std::string model = quoted(shared_path(kModel));
    std::ofstream(dir + "/empty.gguf").close();
    std::ofstream(dir + "/text.gguf") << "this is not a model";
    const std::string truncated = read_text_file(shared_path(kModel)).substr(0, 100000);
    std::ofstream(dir + "/truncated.gguf", std::ios::binary) << truncated;

    struct Case {
        std::string args;
        int exit_code;
        std::string message;
    };
    const std::vector<Case> cases = {
        {"run -m /nonexistent.gguf -p hi", 2, "no such file"},
        {"run -m " + quoted(dir) + " -p hi", 2, "is a directory"},
        {"run -m " + quoted(dir + "/empty.gguf") + " -p hi", 2, "file is empty"},
        {"run -m " + quoted(dir + "/text.gguf") + " -p hi", 2, "not a GGUF file"},
        {"run -m " + quoted(dir + "/truncated.gguf") + " -p hi", 2, "outside the data section"},
        {"run -m /nonexistent.gguf -p hi --no-mmap", 2, "no such file"},
        {"run -m " + quoted(dir) + " -p hi --no-mmap", 2, "is a directory"},
        {"run -m " + quoted(dir + "/truncated.gguf") + " -p hi --no-mmap", 2, "outside the data section"},
        {"run -m " + model + " -p hi --mmap --no-mmap", 1, "excludes"},
        {"run -m " + quoted(shared_path("models/tokenizers/ggml-vocab-llama-spm.gguf")) + " -p hi", 2,
         "contains no tensors"},
        {"run -m " + model + " -p hi -n -3", 1, "-n -3 is negative"},
        {"run -m " + model + " -p hi --top-p 2", 1, "--top-p 2"},
        {"run -m " + model + " -p hi --temp -1", 1, "--temp -1"},
        {"run -m " + model + " -p 'Once upon a time there was' --ctx 4", 1, "does not fit in --ctx 4"},
        {"run -m " + model, 1, "--prompt is required"},
        {"eval -m " + model + " -f /nonexistent.txt", 2, "no such file"},
        {"eval -m " + model + " -f " + quoted(dir + "/text.gguf") + " --ctx 256", 1, "fewer than one chunk"},
        {"eval -m " + model + " -f " + quoted(dir + "/text.gguf") + " --ctx 2", 1, "--ctx 2 is too small"},
    };
    for (const Case& c : cases) {
        CliResult r = run_cli(c.args);
        INFO(c.args << "\nstderr: " << r.err);
        CHECK(r.exit_code == c.exit_code);
        CHECK_THAT(r.err, Catch::Contains(c.message));
        if (c.exit_code == 2) CHECK(count_lines(r.err) == 1);
    }
}

TEST_CASE("run --json reports generated bytes that are not UTF-8 instead of failing", "[cli]") {
    // Sampling stories260K near-uniformly picks byte tokens (<0xA3>, ...) that form no character;
    // the JSON text gets U+FFFD for them, and the token ids stay exact.
    CliResult r = run_cli("run -m " + quoted(shared_path(kModel)) +
                          " -p Once -n 16 --temp 100 --top-k 0 --top-p 1 --min-p 0 --seed 1 --json");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["tokens"].size() == 16);
    CHECK(j["text"].get<std::string>().find("\xEF\xBF\xBD") != std::string::npos);
}
