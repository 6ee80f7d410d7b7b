// Causal grouped-query attention (model/attention.h): the one-query path and the batched path
// (two kernel products per head) against a double-precision reference, with F32 and F16 caches.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <random>
#include <vector>

#include "model/attention.h"
#include "quant/half.h"

using namespace dilmodeli;

namespace {

constexpr int64_t kHeads = 8, kKvHeads = 2, kHeadDim = 64, kDim = kHeads * kHeadDim;
// The cache has room for more positions than are filled: a head must not read into the next.
constexpr int64_t kCacheRows = 53;

// Where element i of position p of KV head h lives in the cache.
size_t cache_index(int64_t h, int64_t p, int64_t i) { return size_t((h * kCacheRows + p) * kHeadDim + i); }

float as_float(float x) { return x; }
float as_float(uint16_t h) { return quant::fp16_to_fp32(h); }
float stored(const float*, float x) { return x; }
float stored(const uint16_t*, float x) { return quant::fp16_to_fp32(quant::fp32_to_fp16(x)); }

template <typename Element>
std::vector<Element> to_cache(const std::vector<float>& values) {
    std::vector<Element> out(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
        if constexpr (std::is_same_v<Element, float>)
            out[i] = values[i];
        else
            out[i] = quant::fp32_to_fp16(values[i]);
    }
    return out;
}

// Query t (at position n_past + t) sees positions 0 .. n_past + t; with an F16 cache the query
// and the weights are rounded to F16 first, as in the library.
template <typename Element>
std::vector<double> reference(const std::vector<float>& q, const std::vector<Element>& k,
                              const std::vector<Element>& v, int64_t n, int64_t n_past) {
    const Element* tag = nullptr;
    std::vector<double> out(size_t(n * kDim));
    for (int64_t t = 0; t < n; ++t)
        for (int64_t h = 0; h < kHeads; ++h) {
            const int64_t kvh = h / (kHeads / kKvHeads), visible = n_past + t + 1;
            std::vector<double> w(static_cast<size_t>(visible));
            double max = -1e300, sum = 0;
            for (int64_t p = 0; p < visible; ++p) {
                double s = 0;
                for (int64_t i = 0; i < kHeadDim; ++i)
                    s += double(stored(tag, q[size_t(t * kDim + h * kHeadDim + i)])) *
                         as_float(k[cache_index(kvh, p, i)]);
                w[size_t(p)] = s / std::sqrt(double(kHeadDim));
                max = std::max(max, w[size_t(p)]);
            }
            for (auto& x : w) sum += (x = std::exp(x - max));
            for (int64_t p = 0; p < visible; ++p) {
                const double weight = stored(tag, float(w[size_t(p)] / sum));
                for (int64_t i = 0; i < kHeadDim; ++i)
                    out[size_t(t * kDim + h * kHeadDim + i)] += weight * as_float(v[cache_index(kvh, p, i)]);
            }
        }
    return out;
}

template <typename Element>
void check_both_paths() {
    const int64_t n_past = 7, n = 41;  // 41 queries take the batched path; one at a time, the other
    const int64_t span = n_past + n;
    std::mt19937 rng(11);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> q(size_t(n * kDim)), kf(size_t(kKvHeads * kCacheRows * kHeadDim), std::nanf("")),
        vf(kf.size(), std::nanf(""));
    for (auto& x : q) x = dist(rng);
    for (auto* cache : {&kf, &vf})
        for (int64_t h = 0; h < kKvHeads; ++h)
            for (int64_t p = 0; p < span; ++p)
                for (int64_t i = 0; i < kHeadDim; ++i) (*cache)[cache_index(h, p, i)] = dist(rng);
    const auto k = to_cache<Element>(kf), v = to_cache<Element>(vf);
    const auto expected = reference(q, k, v, n, n_past);

    std::vector<float> batched(q.size(), std::nanf("")), one_by_one(q.size(), std::nanf(""));
    model::attend(model::AttentionArgs{q.data(), kDim, n, n_past, kHeads, kKvHeads, kHeadDim, kCacheRows, batched.data(), true},
                  k.data(), v.data());
    for (int64_t t = 0; t < n; ++t)
        model::attend(model::AttentionArgs{&q[size_t(t * kDim)], kDim, 1, n_past + t, kHeads, kKvHeads, kHeadDim,
                                           kCacheRows, &one_by_one[size_t(t * kDim)], false},
                      k.data(), v.data());
    // Outputs are convex combinations of values of size ~1: float rounding stays below 1e-5. With
    // an F16 cache, a weight whose float sum lands next to an F16 rounding boundary may round the
    // other way than the double reference's: one F16 step of a weight, up to ~3e-4 here. A wrong
    // mask, head or scale moves outputs by ~0.1, and a read of an unfilled row gives NaN.
    const double tolerance = std::is_same_v<Element, float> ? 1e-5 : 1e-3;
    double worst_batched = 0, worst_single = 0;
    size_t not_finite = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
        not_finite += !std::isfinite(batched[i]) + !std::isfinite(one_by_one[i]);
        worst_batched = std::max(worst_batched, std::fabs(batched[i] - expected[i]));
        worst_single = std::max(worst_single, std::fabs(one_by_one[i] - expected[i]));
    }
    CHECK(not_finite == 0);
    CHECK(worst_batched < tolerance);
    CHECK(worst_single < tolerance);
}

}  // namespace

TEST_CASE("attention over an F32 cache: batched and one query at a time match the reference", "[model]") {
    check_both_paths<float>();
}

TEST_CASE("attention over an F16 cache: batched and one query at a time match the reference", "[model]") {
    check_both_paths<uint16_t>();
}
