// The least-squares router: it recovers a router whose logits are exactly the log contributions,
// and on a real moefied model it picks experts better than the centroid router.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "moe/moefy.h"
#include "moe/router_fit.h"
#include "support/run_cli.h"
#include "support/shared_data.h"

using namespace dilmodeli;

TEST_CASE("fit_router recovers log contributions that are linear in the input", "[moe]") {
    const int64_t d = 12, experts = 5, tokens = 600, k = 2;
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> a(size_t(experts * d)), x(size_t(tokens * d)), direction(size_t(experts * d));
    for (float& v : a) v = 0.5f * normal(rng);
    for (float& v : x) v = normal(rng);
    for (int64_t e = 0; e < experts; ++e) {
        double norm = 0;
        for (int64_t i = 0; i < d; ++i) norm += std::pow(direction[size_t(e * d + i)] = normal(rng), 2);
        for (int64_t i = 0; i < d; ++i) direction[size_t(e * d + i)] /= float(std::sqrt(norm));
    }
    // Expert e's output: a unit direction times exp(a_e . x), so log ||out_e|| = a_e . x.
    std::vector<float> outputs(size_t(tokens * experts * d));
    std::vector<double> truth(size_t(tokens * experts));
    for (int64_t t = 0; t < tokens; ++t)
        for (int64_t e = 0; e < experts; ++e) {
            double logit = 0;
            for (int64_t i = 0; i < d; ++i) logit += double(a[size_t(e * d + i)]) * x[size_t(t * d + i)];
            truth[size_t(t * experts + e)] = logit;
            for (int64_t i = 0; i < d; ++i)
                outputs[size_t((t * experts + e) * d + i)] = float(std::exp(logit)) * direction[size_t(e * d + i)];
        }
    const moe::RouterFit fit = moe::fit_router(x, outputs, tokens, d, experts, k);
    REQUIRE(fit.weights.size() == size_t(experts * d));
    // The fitted logits rank the experts as the true contributions do.
    int64_t same_best = 0;
    for (int64_t t = 0; t < tokens; ++t) {
        int64_t best_fit = 0, best_true = 0;
        std::vector<double> logit(static_cast<size_t>(experts));
        for (int64_t e = 0; e < experts; ++e) {
            for (int64_t i = 0; i < d; ++i) logit[size_t(e)] += double(fit.weights[size_t(e * d + i)]) * x[size_t(t * d + i)];
            if (logit[size_t(e)] > logit[size_t(best_fit)]) best_fit = e;
            if (truth[size_t(t * experts + e)] > truth[size_t(t * experts + best_true)]) best_true = e;
        }
        same_best += best_fit == best_true;
        // Up to the sharpness factor, differences of logits are the true differences.
        for (int64_t e = 1; e < experts; ++e) {
            const double fitted = (logit[size_t(e)] - logit[0]) / fit.sharpness;
            const double want = truth[size_t(t * experts + e)] - truth[size_t(t * experts)];
            REQUIRE(fitted == Approx(want).margin(0.02 + 0.02 * std::fabs(want)));
        }
    }
    CHECK(same_best >= tokens * 99 / 100);
    // A router that ignores the input (ties: always experts 0 and 1) does far worse.
    const std::vector<float> blind(size_t(experts * d), 0.0f);
    INFO("fit " << fit.reconstruction_error << " oracle " << fit.oracle_error);
    CHECK(moe::reconstruction_error(blind, x, outputs, tokens, d, experts, k) > 2 * fit.reconstruction_error);
}

TEST_CASE("fit_router refuses inputs that are all zero or mis-sized", "[moe]") {
    const std::vector<float> x(16, 0.0f), outputs(2 * 4 * 8, 1.0f);
    REQUIRE_THROWS_AS(moe::fit_router(x, outputs, 2, 8, 4, 1), Error);
    REQUIRE_THROWS_AS(moe::fit_router(x, outputs, 3, 8, 4, 1), Error);
}

TEST_CASE("moefy --calib fits a router that beats the centroid router on every layer", "[moe]") {
    if (!testing::have_shared("models/tinystories-5M/tinystories-5M-F32.gguf")) return;
    const std::string dir = testing::temp_dir("router_fit_moefy");
    moe::MoefyOptions o;
    o.experts = 8;
    o.top_k = 2;
    o.calibration_text = testing::shared_path("data/tinystories/train.txt");
    o.calibration_tokens = 1024;
    o.router = moe::RouterKind::LeastSquares;
    const auto report =
        moe::moefy(testing::shared_path("models/tinystories-5M/tinystories-5M-F32.gguf"), dir + "/moe.gguf", o);
    REQUIRE(report.routers.size() == 6);
    for (const auto& layer : report.routers) {
        INFO("lsq " << layer.error << " centroid " << layer.centroid_error << " oracle " << layer.oracle_error);
        CHECK(layer.error < layer.centroid_error);
        CHECK(layer.error < 1.0);
        CHECK(layer.oracle_error <= layer.error + 0.05);
    }
    const auto file = gguf::GgufFile::open(dir + "/moe.gguf");
    REQUIRE(file->find("dilmodeli.moefy.router") != nullptr);
    REQUIRE(file->find("dilmodeli.moefy.router")->as_string() != nullptr);
    CHECK(*file->find("dilmodeli.moefy.router")->as_string() == "lsq");
}

TEST_CASE("moefy: the lsq router and activation clustering need calibration text", "[moe]") {
    if (!testing::have_shared("models/stories260K/stories260K.gguf")) return;
    const std::string dir = testing::temp_dir("router_fit_cli");
    const std::string in = testing::shared_path("models/stories260K/stories260K.gguf");
    for (const char* flags : {"--router-fit lsq", "--cluster activations", "--router-fit nope", "--cluster nope"}) {
        const auto r = testing::run_cli("moefy " + in + " " + dir + "/x.gguf --experts 4 " + flags);
        INFO(flags << ": " << r.err);
        CHECK(r.exit_code == 1);
        CHECK(r.err.find('\n') == r.err.size() - 1);
    }
}
