#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "common/error.h"

namespace dilmodeli::runtime {

void SamplerOptions::validate() const {
    auto bad = [](const std::string& flag, double v, const char* range) {
        throw usage_error(flag + " " + std::to_string(v) + " is out of range (" + range + ")");
    };
    if (!std::isfinite(temperature) || temperature < 0) bad("--temp", temperature, ">= 0");
    if (!(top_p > 0 && top_p <= 1)) bad("--top-p", top_p, "0 < p <= 1");
    if (!(min_p >= 0 && min_p < 1)) bad("--min-p", min_p, "0 <= p < 1");
    if (!(repeat_penalty > 0) || !std::isfinite(repeat_penalty)) bad("--repeat-penalty", repeat_penalty, "> 0");
    if (repeat_last_n < 0) bad("--repeat-last-n", repeat_last_n, ">= 0");
}

int32_t argmax(const float* logits, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i)
        if (logits[i] > logits[best]) best = i;
    return int32_t(best);
}

template <typename Order>
void Sampler::sorted_head_by_probability(const Order& by_logit) {
    // Probabilities over the whole vocabulary, then only as long a head of the sorted order as
    // top-p and min-p can keep: a 262,144-token vocabulary is not sorted whole for the few
    // dozen candidates that survive.
    const auto by_value = [](const Candidate& a, const Candidate& b) { return a.logit < b.logit; };
    const float max = std::max_element(candidates_.begin(), candidates_.end(), by_value)->logit;
    double sum = 0;
    for (Candidate& c : candidates_) {
        c.p = std::exp(c.logit - max);
        sum += c.p;
    }
    for (Candidate& c : candidates_) c.p = float(c.p / sum);
    const double min_p_cut = double(options_.min_p) / sum;  // min_p times the top token's p
    const bool truncates = options_.top_p < 1.0f || options_.min_p > 0.0f;
    size_t head = truncates ? std::min<size_t>(64, candidates_.size()) : candidates_.size();
    for (;;) {
        if (head < candidates_.size())
            std::nth_element(candidates_.begin(), candidates_.begin() + head, candidates_.end(), by_logit);
        std::sort(candidates_.begin(), candidates_.begin() + head, by_logit);
        if (head == candidates_.size()) break;
        double cumulative = 0;
        for (size_t i = 0; i < head; ++i) cumulative += candidates_[i].p;
        const bool top_p_done = options_.top_p < 1.0f && cumulative >= options_.top_p;
        const bool min_p_done = options_.min_p > 0.0f && double(candidates_[head - 1].p) < min_p_cut;
        if (top_p_done || min_p_done) break;
        head = std::min(candidates_.size(), head * 4);
    }
    candidates_.resize(head);
}

Sampler::Sampler(const SamplerOptions& options) : options_(options), rng_(options.seed) { options_.validate(); }

int32_t Sampler::sample(const float* logits, int64_t n_vocab, const std::vector<int32_t>& history) {
    candidates_.resize(size_t(n_vocab));
    for (int64_t i = 0; i < n_vocab; ++i) candidates_[size_t(i)] = {int32_t(i), logits[i], 0.0f};

    if (options_.repeat_penalty != 1.0f && options_.repeat_last_n > 0) {
        const size_t from = history.size() > size_t(options_.repeat_last_n) ? history.size() - options_.repeat_last_n : 0;
        std::unordered_set<int32_t> seen(history.begin() + from, history.end());
        for (int32_t id : seen) {
            if (id < 0 || id >= n_vocab) continue;
            float& l = candidates_[size_t(id)].logit;
            l = l > 0 ? l / options_.repeat_penalty : l * options_.repeat_penalty;
        }
    }
    if (options_.temperature <= 0.0f) {
        auto best = std::max_element(candidates_.begin(), candidates_.end(),
                                     [](const Candidate& a, const Candidate& b) { return a.logit < b.logit; });
        return best->id;
    }

    // Highest logits first; ties by id so the order never depends on the sort's whims.
    auto by_logit = [](const Candidate& a, const Candidate& b) {
        return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
    };
    auto normalise = [&](float temperature) {
        const float max = candidates_[0].logit;
        double sum = 0;
        for (Candidate& c : candidates_) {
            c.p = std::exp((c.logit - max) / temperature);
            sum += c.p;
        }
        for (Candidate& c : candidates_) c.p = float(c.p / sum);
    };
    if (options_.top_k > 0 && size_t(options_.top_k) < candidates_.size()) {
        const size_t keep = size_t(options_.top_k);
        std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(), by_logit);
        candidates_.resize(keep);
        normalise(1.0f);
    } else {
        sorted_head_by_probability(by_logit);
    }
    if (options_.top_p < 1.0f) {
        double cumulative = 0;
        size_t n = 0;
        while (n < candidates_.size()) {
            cumulative += candidates_[n++].p;
            if (cumulative >= options_.top_p) break;
        }
        candidates_.resize(std::max<size_t>(1, n));
    }
    if (options_.min_p > 0.0f) {
        const float threshold = candidates_[0].p * options_.min_p;
        size_t n = 1;
        while (n < candidates_.size() && candidates_[n].p >= threshold) ++n;
        candidates_.resize(n);
    }
    normalise(options_.temperature);

    // A uniform draw built from the generator's bits, identical on every standard library.
    const double u = double(rng_() >> 11) * (1.0 / 9007199254740992.0);
    double cumulative = 0;
    for (const Candidate& c : candidates_) {
        cumulative += c.p;
        if (u < cumulative) return c.id;
    }
    return candidates_.back().id;
}

}  // namespace dilmodeli::runtime
