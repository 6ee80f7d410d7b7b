// Time of one Sampler::sample over a 262,144-token vocabulary (Gemma 3's), with llama.cpp's
// default cuts (top-k 40, top-p 0.95, min-p 0.05) and without top-k, against the argmax alone.
// Prints one JSON object: median microseconds of 200 samples for each setting.
//   usage: sampler_bench [VOCAB]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "runtime/sampler.h"

namespace {

double median_us(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

template <typename Fn>
double time_us(Fn&& fn) {
    std::vector<double> times;
    for (int i = 0; i < 200; ++i) {
        const auto start = std::chrono::steady_clock::now();
        fn();
        times.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
    return median_us(times);
}

}  // namespace

int main(int argc, char** argv) {
    const int64_t vocab = argc > 1 ? std::atoll(argv[1]) : 262144;
    std::mt19937 rng(1);
    std::normal_distribution<float> noise(0.0f, 3.0f);
    std::vector<float> logits(static_cast<size_t>(vocab));
    for (float& l : logits) l = noise(rng);
    volatile int32_t sink = 0;
    auto setting = [&](int top_k, float top_p, float min_p) {
        dilmodeli::runtime::SamplerOptions o;
        o.top_k = top_k;
        o.top_p = top_p;
        o.min_p = min_p;
        o.repeat_penalty = 1.0f;
        dilmodeli::runtime::Sampler sampler(o);
        return time_us([&] { sink = sampler.sample(logits.data(), vocab, {}); });
    };
    const double argmax = time_us([&] { sink = dilmodeli::runtime::argmax(logits.data(), vocab); });
    std::printf("{\"vocab\": %lld, \"argmax_us\": %.1f, \"topk40_topp095_minp005_us\": %.1f, "
                "\"topp095_us\": %.1f, \"minp005_us\": %.1f, \"no_cut_us\": %.1f}\n",
                static_cast<long long>(vocab), argmax, setting(40, 0.95f, 0.05f), setting(0, 0.95f, 0.0f),
                setting(0, 1.0f, 0.05f), setting(0, 1.0f, 0.0f));
    (void)sink;
    return 0;
}
