// The sampler's cuts (top-k, top-p, min-p) against a reference that sorts the whole vocabulary,
// on a 262,144-token vocabulary (Gemma 3's), where sampling sorts only the head it needs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "runtime/sampler.h"

using namespace dilmodeli;

namespace {

constexpr int64_t kVocab = 262144;

// Logits whose `flat` best tokens are nearly tied (so top-p keeps more than a first guess of the
// head), above a long tail.
std::vector<float> logits_with_plateau(int64_t flat, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0.0f, 1.0f);
    std::vector<float> logits(static_cast<size_t>(kVocab));
    for (float& l : logits) l = noise(rng);
    std::vector<int32_t> ids(static_cast<size_t>(kVocab));
    std::iota(ids.begin(), ids.end(), 0);
    std::shuffle(ids.begin(), ids.end(), rng);
    for (int64_t i = 0; i < flat; ++i) logits[size_t(ids[size_t(i)])] = 12.0f + 0.01f * noise(rng);
    return logits;
}

// The ids a full sort keeps under top-p (p over the whole vocabulary, at temperature 1).
std::set<int32_t> reference_top_p(const std::vector<float>& logits, double top_p) {
    std::vector<int32_t> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        return logits[size_t(a)] > logits[size_t(b)] || (logits[size_t(a)] == logits[size_t(b)] && a < b);
    });
    const float max = logits[size_t(order[0])];
    double sum = 0;
    for (float l : logits) sum += std::exp(double(l - max));
    std::set<int32_t> kept;
    double cumulative = 0;
    for (int32_t id : order) {
        kept.insert(id);
        cumulative += std::exp(double(logits[size_t(id)] - max)) / sum;
        if (cumulative >= top_p) break;
    }
    return kept;
}

}  // namespace

TEST_CASE("without top-k, top-p keeps exactly the reference's head of a 262k vocabulary", "[runtime][sampler]") {
    const auto logits = logits_with_plateau(300, 3);
    const std::set<int32_t> allowed = reference_top_p(logits, 0.9);
    REQUIRE(allowed.size() > 256);  // more than the first heads the sampler tries
    runtime::SamplerOptions o;
    o.top_k = 0;
    o.top_p = 0.9f;
    o.min_p = 0.0f;
    o.temperature = 1.0f;
    o.repeat_penalty = 1.0f;
    o.seed = 11;
    runtime::Sampler sampler(o);
    std::set<int32_t> seen;
    for (int i = 0; i < 1500; ++i) {
        const int32_t id = sampler.sample(logits.data(), kVocab, {});
        CHECK(allowed.count(id) == 1);
        seen.insert(id);
    }
    // A head cut too early would never draw most of the plateau.
    CHECK(seen.size() > 250);
}

TEST_CASE("min-p alone keeps the tokens within min_p of the best, and top-k still cuts first", "[runtime][sampler]") {
    const auto logits = logits_with_plateau(100, 5);
    const float max = *std::max_element(logits.begin(), logits.end());
    runtime::SamplerOptions o;
    o.top_k = 0;
    o.top_p = 1.0f;
    o.min_p = 0.5f;
    o.repeat_penalty = 1.0f;
    o.seed = 2;
    runtime::Sampler min_p_only(o);
    std::set<int32_t> seen;
    for (int i = 0; i < 600; ++i) {
        const int32_t id = min_p_only.sample(logits.data(), kVocab, {});
        CHECK(logits[size_t(id)] - max >= std::log(0.5f) - 1e-6f);
        seen.insert(id);
    }
    CHECK(seen.size() > 64);
    o.top_k = 3;
    o.min_p = 0.0f;
    runtime::Sampler top3(o);
    std::vector<float> sorted = logits;
    std::nth_element(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<float>());
    for (int i = 0; i < 200; ++i) CHECK(logits[size_t(top3.sample(logits.data(), kVocab, {}))] >= sorted[2]);
}

TEST_CASE("the same seed gives the same tokens; temperature 0 is the argmax", "[runtime][sampler]") {
    const auto logits = logits_with_plateau(50, 9);
    runtime::SamplerOptions o;
    o.top_k = 0;
    o.seed = 4;
    runtime::Sampler a(o), b(o);
    for (int i = 0; i < 50; ++i) CHECK(a.sample(logits.data(), kVocab, {}) == b.sample(logits.data(), kVocab, {}));
    o.temperature = 0.0f;
    runtime::Sampler greedy(o);
    CHECK(greedy.sample(logits.data(), kVocab, {}) == runtime::argmax(logits.data(), kVocab));
}
