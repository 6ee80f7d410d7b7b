// MoEfication: with every expert used and dilmodeli's uniform combine, the MoE model computes
// the dense model's logits; with llama.cpp's gating the file loads and scores text.
#include <catch2/catch.hpp>
#include <cmath>

#include "runtime/model_loader.h"
#include "common/error.h"
#include "gguf/gguf_file.h"
#include "model/model.h"
#include "runtime/perplexity.h"
#include "moe/moe_feed_forward.h"
#include "moe/moefy.h"
#include "support/run_cli.h"
#include "support/shared_data.h"
#include "tokenizer/tokenizer.h"

using namespace dilmodeli;

namespace {

std::vector<float> all_logits(model::Model& m, const std::vector<int32_t>& tokens) {
    model::SessionOptions so;
    so.context = 64;
    // An F32 cache: F16 rounding of K and V would amplify the expert sums' last-bit differences.
    so.kv_type = model::KvCacheType::F32;
    so.threads = 2;
    model::Session session(m, so);
    session.decode(tokens.data(), int64_t(tokens.size()), true);
    return session.logits();
}

void check_dense_equivalence(const std::string& dense_path, int64_t experts, const std::string& name) {
    const std::string out = testing::temp_dir(name) + "/moe.gguf";
    moe::MoefyOptions o;
    o.experts = experts;
    o.top_k = experts;
    const auto report = moe::moefy(dense_path, out, o);
    REQUIRE(report.experts == experts);
    auto dense = runtime::load_model(dense_path);
    auto moe_model = runtime::load_model(out);
    REQUIRE(moe_model->config().n_experts == experts);
    REQUIRE(moe_model->config().n_experts_used == experts);
    const auto layers = moe::moe_layers(*moe_model);
    REQUIRE(int64_t(layers.size()) == moe_model->config().n_layers);
    for (auto* layer : layers) layer->set_combine(moe::Combine::uniform);
    const std::vector<int32_t> tokens = {1, 400, 37, 91, 250, 13, 77, 301, 5, 120, 66, 240};
    const auto a = all_logits(*dense, tokens);
    const auto b = all_logits(*moe_model, tokens);
    REQUIRE(a.size() == b.size());
    double max_abs = 0, max_diff = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        max_abs = std::max(max_abs, double(std::fabs(a[i])));
        max_diff = std::max(max_diff, double(std::fabs(a[i] - b[i])));
    }
    INFO("max |dense - moe| = " << max_diff << " of max |logit| " << max_abs);
    REQUIRE(max_diff <= 1e-4 * std::max(1.0, max_abs));
}

}  // namespace

TEST_CASE("balanced k-means fills every cluster to its size", "[moe]") {
    std::vector<float> points;
    for (int i = 0; i < 10; ++i) {
        const float a = float(i) * 0.3f;
        points.push_back(std::cos(a));
        points.push_back(std::sin(a));
    }
    const auto slots = moe::balanced_kmeans(points, 10, 2, 3, 4, 10, 1);
    REQUIRE(slots.size() == 12);
    std::vector<int> seen(10, 0);
    int padding = 0;
    for (int32_t s : slots) {
        if (s < 0) ++padding;
        else ++seen[size_t(s)];
    }
    REQUIRE(padding == 2);
    for (int v : seen) REQUIRE(v == 1);
}

TEST_CASE("moefy stories260K into 4 experts: all experts, uniform combine = dense logits", "[moe]") {
    if (!testing::have_shared("models/stories260K/stories260K.gguf")) return;
    check_dense_equivalence(testing::shared_path("models/stories260K/stories260K.gguf"), 4, "moefy260k");
}

TEST_CASE("moefy with padding (3 experts do not divide 172) keeps the dense logits", "[moe]") {
    if (!testing::have_shared("models/stories260K/stories260K.gguf")) return;
    check_dense_equivalence(testing::shared_path("models/stories260K/stories260K.gguf"), 3, "moefy260k_pad");
}

TEST_CASE("moefy tinystories-5M into 8 experts: all experts, uniform combine = dense logits", "[moe]") {
    if (!testing::have_shared("models/tinystories-5M/tinystories-5M-F32.gguf")) return;
    check_dense_equivalence(testing::shared_path("models/tinystories-5M/tinystories-5M-F32.gguf"), 8, "moefy5m");
}

TEST_CASE("a moefied model with llama.cpp's gating loads and gives a finite perplexity", "[moe]") {
    if (!testing::have_shared("models/stories260K/stories260K.gguf")) return;
    const std::string dir = testing::temp_dir("moefy_ppl");
    const auto r = testing::run_cli("moefy " + testing::shared_path("models/stories260K/stories260K.gguf") + " " + dir +
                                    "/moe.gguf --experts 4 --top-k 2 --json");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.out.find("\"expert_ff\": 43") != std::string::npos);
    auto m = runtime::load_model(dir + "/moe.gguf");
    const auto file = gguf::GgufFile::open(dir + "/moe.gguf");
    REQUIRE(file->require_tensor("blk.0.ffn_gate_exps.weight").dims == std::vector<int64_t>{64, 43, 4});
    REQUIRE(file->require_tensor("blk.0.ffn_down_exps.weight").dims == std::vector<int64_t>{43, 64, 4});
    REQUIRE(file->require_tensor("blk.0.ffn_gate_inp.weight").dims == std::vector<int64_t>{64, 4});
    REQUIRE(file->find_tensor("blk.0.ffn_gate.weight") == nullptr);
    auto tok = tokenizer::Tokenizer::from_gguf(m->file());
    const std::string text = testing::read_text_file(testing::shared_path("data/tinystories/heldout.txt")).substr(0, 4000);
    const auto tokens = tok->encode(text, true);
    model::SessionOptions so;
    so.context = 128;
    so.max_batch = 128;
    model::Session session(*m, so);
    runtime::PerplexityOptions po;
    po.ctx = 128;
    po.max_chunks = 3;
    const auto ppl = runtime::perplexity(session, tokens, po);
    REQUIRE(std::isfinite(ppl.perplexity));
    REQUIRE(ppl.perplexity > 1.0);
}

TEST_CASE("moefy refuses a MoE input and bad options", "[moe]") {
    if (!testing::have_shared("models/stories260K/stories260K.gguf")) return;
    const std::string in = testing::shared_path("models/stories260K/stories260K.gguf");
    const std::string dir = testing::temp_dir("moefy_bad");
    moe::MoefyOptions o;
    o.experts = 4;
    o.top_k = 5;
    REQUIRE_THROWS_AS(moe::moefy(in, dir + "/x.gguf", o), Error);
    o.top_k = 2;
    moe::moefy(in, dir + "/moe.gguf", o);
    REQUIRE_THROWS_AS(moe::moefy(dir + "/moe.gguf", dir + "/y.gguf", o), Error);
}
