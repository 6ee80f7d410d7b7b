// Embeddings against llama.cpp's llama-embedding (tests/runtime/golden/embeddings/README.md):
// same tokens, and vectors in the same direction (cosine >= 0.9999 on F32, 0.999 on Q8_0) with
// the same length; pooling none / cls / last / mean consistent with each other; --normalize gives
// unit vectors; `dilmodeli embed` prints them and refuses bad input in one line.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "model/model.h"
#include "runtime/embedding.h"
#include "support/run_cli.h"
#include "support/shared_data.h"
#include "tokenizer/tokenizer.h"

using namespace dilmodeli;
using namespace dilmodeli::testing;
using nlohmann::json;

namespace {

const char* kF32 = "models/tinystories-5M/tinystories-5M-F32.gguf";

json read_golden(const std::string& name) {
    std::ifstream in(std::string(DILMODELI_SOURCE_DIR) + "/tests/runtime/golden/embeddings/" + name + ".json");
    REQUIRE(in.good());
    return json::parse(in);
}

double cosine(const float* a, const float* b, int64_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (int64_t i = 0; i < n; ++i) {
        ab += double(a[i]) * b[i];
        aa += double(a[i]) * a[i];
        bb += double(b[i]) * b[i];
    }
    return ab / std::sqrt(aa * bb);
}

double norm(const float* a, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += double(a[i]) * a[i];
    return std::sqrt(s);
}

struct Loaded {
    std::unique_ptr<model::Model> model;
    std::unique_ptr<tokenizer::Tokenizer> tokenizer;
    std::unique_ptr<model::Session> session;
};

Loaded load(const std::string& relative) {
    Loaded l;
    l.model = model::Model::load(shared_path(relative));
    l.tokenizer = tokenizer::Tokenizer::from_gguf(l.model->file());
    model::SessionOptions options;
    options.threads = 2;
    options.output = model::DecodeOutput::Hidden;
    l.session = std::make_unique<model::Session>(*l.model, options);
    return l;
}

// Every vector of a golden file against ours: the smallest cosine, and checks on tokens and length.
double check_golden(const std::string& name) {
    const json golden = read_golden(name);
    const std::string pooling = golden["pooling"];
    INFO(name);
    if (!have_shared(golden["model"])) return 1.0;
    Loaded l = load(golden["model"]);
    const int64_t n_embd = golden["n_embd"];
    REQUIRE(n_embd == l.model->config().n_embd);
    double worst = 1.0;
    size_t row = 0;
    for (size_t k = 0; k < golden["texts"].size(); ++k) {
        const std::string text = golden["texts"][k];
        INFO("text '" << text << "', pooling " << pooling);
        const std::vector<int32_t> tokens = l.tokenizer->encode(text, true, true);
        CHECK(tokens == golden["tokens"][k].get<std::vector<int32_t>>());
        const runtime::Embedding e =
            runtime::embed(*l.session, *l.tokenizer, text, runtime::parse_pooling(pooling), false);
        CHECK(e.tokens == int64_t(tokens.size()));
        for (int64_t r = 0; r < e.rows(); ++r, ++row) {
            const std::vector<float> want = golden["embeddings"][row].get<std::vector<float>>();
            const float* got = &e.values[size_t(r * n_embd)];
            worst = std::min(worst, cosine(got, want.data(), n_embd));
            CHECK(norm(got, n_embd) == Approx(norm(want.data(), n_embd)).epsilon(0.01));
        }
    }
    CHECK(row == golden["embeddings"].size());
    return worst;
}

}  // namespace

TEST_CASE("embeddings point where llama-embedding's do on F32 (cosine >= 0.9999)", "[runtime][embedding]") {
    for (const char* pooling : {"mean", "last", "cls", "none"}) {
        const double worst = check_golden(std::string("tinystories-5M-F32.") + pooling);
        INFO("pooling " << pooling);
        CHECK(worst >= 0.9999);
    }
}

TEST_CASE("embeddings of a Q8_0 file agree with llama-embedding's on it (cosine >= 0.999)", "[runtime][embedding]") {
    // Both quantize the activations to Q8_0 as llama.cpp's CPU backend does; what remains is the
    // order of float sums and F16 rounding in attention.
    for (const char* pooling : {"mean", "last"}) {
        const double worst = check_golden(std::string("tinystories-5M-Q8_0.") + pooling);
        INFO("pooling " << pooling);
        CHECK(worst >= 0.999);
    }
}

TEST_CASE("pooling picks or averages the per-token hidden states; --normalize gives unit vectors",
          "[runtime][embedding]") {
    if (!have_shared(kF32)) return;
    Loaded l = load(kF32);
    const std::string text = "The little dog ran to the park.";
    const int64_t d = l.model->config().n_embd;
    const runtime::Embedding none = runtime::embed(*l.session, *l.tokenizer, text, runtime::Pooling::None, false);
    REQUIRE(none.rows() == none.tokens);
    REQUIRE(none.rows() > 3);
    const runtime::Embedding cls = runtime::embed(*l.session, *l.tokenizer, text, runtime::Pooling::Cls, false);
    const runtime::Embedding last = runtime::embed(*l.session, *l.tokenizer, text, runtime::Pooling::Last, false);
    const runtime::Embedding mean = runtime::embed(*l.session, *l.tokenizer, text, runtime::Pooling::Mean, false);
    REQUIRE(cls.rows() == 1);
    CHECK(std::vector<float>(none.values.begin(), none.values.begin() + d) == cls.values);
    CHECK(std::vector<float>(none.values.end() - d, none.values.end()) == last.values);
    for (int64_t i = 0; i < d; ++i) {
        double sum = 0;
        for (int64_t t = 0; t < none.rows(); ++t) sum += none.values[size_t(t * d + i)];
        CHECK(mean.values[size_t(i)] == Approx(sum / double(none.rows())).margin(1e-6));
    }

    for (runtime::Pooling pooling : {runtime::Pooling::None, runtime::Pooling::Mean, runtime::Pooling::Last}) {
        const runtime::Embedding raw = runtime::embed(*l.session, *l.tokenizer, text, pooling, false);
        const runtime::Embedding unit = runtime::embed(*l.session, *l.tokenizer, text, pooling, true);
        REQUIRE(unit.rows() == raw.rows());
        for (int64_t r = 0; r < unit.rows(); ++r) {
            const float* u = &unit.values[size_t(r * d)];
            CHECK(norm(u, d) == Approx(1.0).epsilon(1e-6));
            CHECK(cosine(u, &raw.values[size_t(r * d)], d) == Approx(1.0).epsilon(1e-6));
        }
    }
    std::vector<float> zero(8, 0.0f);
    runtime::normalize_euclidean(zero.data(), 8);
    CHECK(zero == std::vector<float>(8, 0.0f));
}

TEST_CASE("embedding settings and inputs that cannot work are errors", "[runtime][embedding]") {
    CHECK(runtime::parse_pooling("last") == runtime::Pooling::Last);
    CHECK(std::string(runtime::pooling_name(runtime::Pooling::Cls)) == "cls");
    CHECK_THROWS_WITH(runtime::parse_pooling("max"), Catch::Contains("unknown pooling 'max'") &&
                                                         Catch::Contains("none, mean, cls or last"));

    CHECK(runtime::texts_from_lines("one\r\ntwo\nthree\n", "t.txt") ==
          std::vector<std::string>{"one", "two", "three"});
    CHECK(runtime::texts_from_lines("only", "t.txt") == std::vector<std::string>{"only"});
    CHECK_THROWS_WITH(runtime::texts_from_lines("one\n\nthree\n", "t.txt"), Catch::Contains("t.txt: line 2 is empty"));
    CHECK_THROWS_WITH(runtime::texts_from_lines("\n", "t.txt"), Catch::Contains("line 1 is empty"));

    if (!have_shared(kF32)) return;
    Loaded l = load(kF32);
    CHECK(runtime::model_pooling(*l.model) == runtime::Pooling::None);  // no llama.pooling_type key
    CHECK_THROWS_WITH(runtime::embed(*l.session, *l.tokenizer, "", runtime::Pooling::Mean, false),
                      Catch::Contains("empty text"));
    const std::vector<int32_t> too_long(size_t(l.session->context() + 1), 1);
    CHECK_THROWS_WITH(runtime::embed_tokens(*l.session, too_long, runtime::Pooling::Mean, false),
                      Catch::Contains("does not fit --ctx"));
    model::Session logits(*l.model, model::SessionOptions{});
    CHECK_THROWS_AS(runtime::embed(logits, *l.tokenizer, "hi", runtime::Pooling::Mean, false), Error);
}

TEST_CASE("dilmodeli embed prints vectors as text and JSON", "[cli][embedding]") {
    if (!have_shared(kF32)) return;
    const json golden = read_golden("tinystories-5M-F32.mean");
    const std::string model = " -m " + quoted(shared_path(kF32));

    CliResult j = run_cli("embed" + model + " -p 'Once upon a time' --pooling mean --json");
    REQUIRE(j.exit_code == 0);
    const json parsed = json::parse(j.out);
    CHECK(parsed["pooling"] == "mean");
    CHECK(parsed["n_embd"] == 256);
    CHECK(parsed["normalize"] == false);
    CHECK(parsed["tokens"] == json::array({5}));
    REQUIRE(parsed["embeddings"].size() == 1);
    const std::vector<float> got = parsed["embeddings"][0].get<std::vector<float>>();
    const std::vector<float> want = golden["embeddings"][0].get<std::vector<float>>();
    REQUIRE(got.size() == want.size());
    CHECK(cosine(got.data(), want.data(), int64_t(got.size())) >= 0.9999);

    const std::string dir = temp_dir("embed-cli");
    {
        std::ofstream(dir + "/texts.txt") << "Once upon a time\nThe cat sat on the mat.\n";
    }
    CliResult text = run_cli("embed" + model + " -f " + quoted(dir + "/texts.txt") + " --pooling last --normalize");
    REQUIRE(text.exit_code == 0);
    REQUIRE(count_lines(text.out) == 2);
    std::istringstream first(text.out.substr(0, text.out.find('\n')));
    std::vector<float> unit;
    for (float v; first >> v;) unit.push_back(v);
    CHECK(unit.size() == 256);
    CHECK(norm(unit.data(), int64_t(unit.size())) == Approx(1.0).epsilon(1e-5));

    // The model has no pooling_type: a vector per token, here BOS and four.
    CliResult none = run_cli("embed" + model + " -p 'Once upon a time'");
    REQUIRE(none.exit_code == 0);
    CHECK(count_lines(none.out) == 5);

    CliResult help = run_cli("embed --help");
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out, Catch::Contains("Example:") && Catch::Contains("--pooling"));
}

TEST_CASE("dilmodeli embed refuses bad input in one line with the usual exit codes", "[cli][embedding]") {
    if (!have_shared(kF32)) return;
    const std::string model = " -m " + quoted(shared_path(kF32));
    const std::string dir = temp_dir("embed-cli-bad");
    {
        std::ofstream(dir + "/gap.txt") << "one\n\nthree\n";
    }
    const struct {
        std::string args;
        int exit_code;
        const char* says;
    } cases[] = {
        {"embed" + model + " -p hi --pooling max", 1, "unknown pooling 'max'"},
        {"embed" + model + " -p ''", 1, "empty text"},
        {"embed" + model, 1, "-p TEXT or -f FILE"},
        {"embed" + model + " -p hi -f " + quoted(dir + "/gap.txt"), 1, "exclude each other"},
        {"embed" + model + " -f " + quoted(dir + "/missing.txt"), 2, "missing.txt: no such file"},
        {"embed" + model + " -f " + quoted(dir + "/gap.txt"), 2, "gap.txt: line 2 is empty"},
        {"embed -m " + quoted(dir + "/missing.gguf") + " -p hi", 2, "missing.gguf"},
        {"embed" + model + " -p 'Once upon a time' --ctx 3", 1, "does not fit --ctx 3"},
    };
    for (const auto& c : cases) {
        INFO(c.args);
        CliResult r = run_cli(c.args);
        CHECK(r.exit_code == c.exit_code);
        CHECK(r.out.empty());
        CHECK(count_lines(r.err) == 1);
        CHECK_THAT(r.err, Catch::StartsWith("dilmodeli: error: ") && Catch::Contains(c.says));
    }
}
