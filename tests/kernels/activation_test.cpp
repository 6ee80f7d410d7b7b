// The vector SwiGLU activation agrees with a double-precision reference on every instruction
// set, over the range of real gate values and past exp's overflow.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/activation.h"
#include "kernels/matmul.h"

using namespace dilmodeli;

TEST_CASE("silu_multiply matches double precision on every instruction set", "[kernels]") {
    std::mt19937 rng(17);
    std::normal_distribution<float> normal(0.0f, 4.0f);
    std::vector<float> gate, up;
    for (int i = 0; i < 1000; ++i) {
        gate.push_back(normal(rng));
        up.push_back(normal(rng));
    }
    // Extremes: exp(-g) overflows for g < -88.7 (silu -> -0), underflows for large g (silu -> g).
    for (float g : {-200.0f, -100.0f, -88.0f, -20.0f, -1e-6f, 0.0f, 1e-6f, 20.0f, 88.0f, 100.0f, 200.0f}) {
        gate.push_back(g);
        up.push_back(1.5f);
    }
    const std::string before = kernels::active_isa();
    for (const auto& isa : kernels::available_isas()) {
        kernels::force_isa(isa);
        for (size_t n : {size_t(1), size_t(7), size_t(16), size_t(37), gate.size()}) {
            std::vector<float> g(gate.begin(), gate.begin() + long(n));
            kernels::silu_multiply(g.data(), up.data(), int64_t(n));
            for (size_t i = 0; i < n; ++i) {
                const double x = gate[i];
                const double want = x / (1.0 + std::exp(-x)) * double(up[i]);
                INFO(isa << " n " << n << " gate " << x << " up " << up[i] << " got " << g[i] << " want " << want);
                REQUIRE(std::isfinite(g[i]));
                REQUIRE(std::fabs(double(g[i]) - want) <= 4e-6 * std::fabs(want) + 1e-30);
            }
        }
    }
    kernels::force_isa(before);
}

TEST_CASE("softmax matches double precision on every instruction set", "[kernels]") {
    std::mt19937 rng(23);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    std::vector<float> scores;
    for (int i = 0; i < 1000; ++i) scores.push_back(normal(rng));
    // A dominant score (its neighbours' weights underflow to 0) and a very negative one.
    scores[500] = 95.0f;
    scores[501] = -1e4f;
    const std::string before = kernels::active_isa();
    for (const auto& isa : kernels::available_isas()) {
        kernels::force_isa(isa);
        for (size_t n : {size_t(1), size_t(7), size_t(16), size_t(37), size_t(300), scores.size()}) {
            std::vector<float> x(scores.begin(), scores.begin() + long(n));
            kernels::softmax(x.data(), int64_t(n));
            double max = scores[0], sum = 0.0;
            for (size_t i = 0; i < n; ++i) max = std::max(max, double(scores[i]));
            for (size_t i = 0; i < n; ++i) sum += std::exp(double(scores[i]) - max);
            double total = 0.0;
            for (size_t i = 0; i < n; ++i) {
                const double want = std::exp(double(scores[i]) - max) / sum;
                INFO(isa << " n " << n << " i " << i << " score " << scores[i] << " got " << x[i] << " want " << want);
                REQUIRE(std::fabs(double(x[i]) - want) <= 4e-6 * want + 1e-37);
                total += x[i];
            }
            CHECK(std::fabs(total - 1.0) < 1e-5);
        }
    }
    kernels::force_isa(before);
}
