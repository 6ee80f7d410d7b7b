// model/ops.h: rope (the angles of a position, computed once per token, and the rotation every
// head of every layer applies with them) and RMS normalization.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "model/ops.h"

using namespace dilmodeli;

TEST_CASE("rope angles are pos * base^(-2i/n_rot), advanced as ggml advances them", "[model]") {
    const int64_t n_rot = 64, pairs = n_rot / 2;
    std::vector<float> cos(pairs), sin(pairs);
    model::rope_angles(0, model::RopeParams{n_rot, 10000.0f}, cos.data(), sin.data());
    for (int64_t i = 0; i < pairs; ++i) {
        CHECK(cos[size_t(i)] == 1.0f);
        CHECK(sin[size_t(i)] == 0.0f);
    }
    // Repeated multiplication drifts from the exact angle by a few float roundings per pair.
    const int64_t pos = 1000;
    model::rope_angles(pos, model::RopeParams{n_rot, 10000.0f}, cos.data(), sin.data());
    for (int64_t i = 0; i < pairs; ++i) {
        const double theta = double(pos) * std::pow(10000.0, -2.0 * double(i) / double(n_rot));
        INFO("pair " << i);
        CHECK(cos[size_t(i)] == Approx(std::cos(theta)).margin(2e-4));
        CHECK(sin[size_t(i)] == Approx(std::sin(theta)).margin(2e-4));
    }
}

TEST_CASE("rope_rotate turns each pair of every head by its angle and leaves the rest", "[model]") {
    // Heads of 12 with 8 rotated dimensions (4 pairs): the last 4 dimensions stay as they are.
    const int64_t n_heads = 3, head_dim = 12, n_rot = 8, pairs = n_rot / 2;
    std::vector<float> x(size_t(n_heads * head_dim));
    for (size_t i = 0; i < x.size(); ++i) x[i] = 0.25f * float(i) - 2.0f;
    const std::vector<float> before = x;
    std::vector<float> cos(pairs), sin(pairs);
    model::rope_angles(7, model::RopeParams{n_rot, 500.0f}, cos.data(), sin.data());
    model::rope_rotate(x.data(), n_heads, head_dim, pairs, cos.data(), sin.data());
    for (int64_t h = 0; h < n_heads; ++h) {
        const float* a = &before[size_t(h * head_dim)];
        const float* b = &x[size_t(h * head_dim)];
        for (int64_t i = 0; i < pairs; ++i) {
            INFO("head " << h << " pair " << i);
            CHECK(b[2 * i] == Approx(a[2 * i] * cos[size_t(i)] - a[2 * i + 1] * sin[size_t(i)]).margin(1e-6));
            CHECK(b[2 * i + 1] == Approx(a[2 * i] * sin[size_t(i)] + a[2 * i + 1] * cos[size_t(i)]).margin(1e-6));
            // A rotation keeps the pair's length.
            CHECK(std::hypot(b[2 * i], b[2 * i + 1]) == Approx(std::hypot(a[2 * i], a[2 * i + 1])).epsilon(1e-5));
        }
        for (int64_t d = n_rot; d < head_dim; ++d) CHECK(b[d] == a[d]);
    }
}

TEST_CASE("rope angles cover every pair of wide heads", "[model]") {
    // 4096 rotated dimensions: more pairs than the fixed table the angles once lived in.
    const int64_t n_rot = 4096, pairs = n_rot / 2;
    std::vector<float> cos(pairs, std::nanf("")), sin(pairs, std::nanf(""));
    model::rope_angles(3, model::RopeParams{n_rot, 10000.0f}, cos.data(), sin.data());
    for (int64_t i = 0; i < pairs; ++i) {
        INFO("pair " << i);
        REQUIRE(std::isfinite(cos[size_t(i)]));
        CHECK(cos[size_t(i)] * cos[size_t(i)] + sin[size_t(i)] * sin[size_t(i)] == Approx(1.0f).epsilon(1e-5));
    }
}

TEST_CASE("rms_norm gives ggml's result: float squares summed in double, then scaled", "[model]") {
    // ggml sums the squares one after another; rms_norm sums them in eight partial sums. On
    // activations of ordinary spread a double holds every partial sum exactly, so the two agree
    // to the bit, for every length (multiples of 8 or not).
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (int64_t n : {1, 5, 8, 9, 64, 100, 768, 2048, 2051}) {
        const size_t len = static_cast<size_t>(n);
        std::vector<float> x(len), weight(len), out(len);
        for (size_t i = 0; i < x.size(); ++i) {
            x[i] = 3.0f * normal(rng);
            weight[i] = 1.0f + 0.1f * normal(rng);
        }
        const float eps = 1e-5f;
        model::rms_norm(x.data(), weight.data(), out.data(), n, eps);
        double sum = 0.0;
        for (float v : x) sum += double(v * v);
        const float scale = 1.0f / std::sqrt(float(sum / double(n)) + eps);
        for (int64_t i = 0; i < n; ++i) {
            INFO("n " << n << " element " << i);
            REQUIRE(out[size_t(i)] == (x[size_t(i)] * scale) * weight[size_t(i)]);
        }
    }
    // Epsilon keeps an all-zero row finite.
    std::vector<float> zeros(16, 0.0f), ones(16, 1.0f), out(16, 1.0f);
    model::rms_norm(zeros.data(), ones.data(), out.data(), 16, 1e-6f);
    for (float v : out) CHECK(v == 0.0f);
}
