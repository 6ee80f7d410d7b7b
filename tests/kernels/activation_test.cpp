// The vector SwiGLU activation agrees with a double-precision reference on every instruction
// set, over the range of real gate values and past exp's overflow.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/activation.h"
#include "kernels/matmul.h"
#include "quant/half.h"

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

namespace {

// Random values over the half range and beyond, plus the edges at the end: ties, subnormals, the
// overflow threshold (65520 rounds to inf, just below it to 65504), signed zeros, infinities.
std::vector<float> half_conversion_cases() {
    std::mt19937 rng(29);
    std::uniform_real_distribution<float> exponent(-30.0f, 17.0f);
    std::vector<float> values;
    for (int i = 0; i < 3000; ++i) values.push_back((i % 2 ? -1.0f : 1.0f) * std::exp2(exponent(rng)));
    for (float v : {0.0f, -0.0f, 1.0f + 1.0f / 2048.0f, 1.0f + 3.0f / 2048.0f, 65504.0f, 65519.99f, 65520.0f,
                    -65520.0f, 5.9604645e-8f, 2.9802322e-8f, 2.98024e-8f, 6.1035156e-5f, 6.1e-5f, 1e-10f,
                    INFINITY, -INFINITY})
        values.push_back(v);
    return values;
}

}  // namespace

TEST_CASE("float_to_half gives the scalar conversion's bits on every instruction set", "[kernels]") {
    const std::vector<float> values = half_conversion_cases();
    const std::string before = kernels::active_isa();
    for (const auto& isa : kernels::available_isas()) {
        kernels::force_isa(isa);
        for (size_t n : {size_t(1), size_t(7), size_t(16), size_t(37), values.size()}) {
            const size_t first = values.size() - n;  // the edges are at the end
            std::vector<uint16_t> out(n + 1, 0xBEEF);  // one past the end, which must stay
            kernels::float_to_half(values.data() + first, out.data(), int64_t(n));
            for (size_t i = 0; i < n; ++i) {
                INFO(isa << " n " << n << " value " << values[first + i]);
                REQUIRE(out[i] == quant::fp32_to_fp16_scalar(values[first + i]));
            }
            CHECK(out[n] == 0xBEEF);
        }
    }
    kernels::force_isa(before);
}

TEST_CASE("round_to_half gives the scalar conversion's bits on every instruction set", "[kernels]") {
    const std::vector<float> values = half_conversion_cases();
    std::vector<float> want = values;
    for (float& v : want) v = quant::fp16_to_fp32(quant::fp32_to_fp16_scalar(v));
    const std::string before = kernels::active_isa();
    for (const auto& isa : kernels::available_isas()) {
        kernels::force_isa(isa);
        for (size_t n : {size_t(1), size_t(7), size_t(16), size_t(37), values.size()}) {
            std::vector<float> x(values.end() - long(n), values.end());  // the edges are at the end
            kernels::round_to_half(x.data(), int64_t(n));
            for (size_t i = 0; i < n; ++i) {
                const float expected = want[values.size() - n + i];
                INFO(isa << " n " << n << " value " << values[values.size() - n + i] << " got " << x[i] << " want "
                          << expected);
                REQUIRE(std::memcmp(&x[i], &expected, sizeof(float)) == 0);
            }
        }
    }
    kernels::force_isa(before);
}
