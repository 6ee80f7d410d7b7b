// Several sequences decoded in one pass must give what each gives alone: the batch's matrix
// products run over rows of different sequences, attention over each sequence's own cache.
#include <catch2/catch.hpp>

#include <cmath>

#include "model/model.h"
#include "runtime/sampler.h"
#include "support/shared_data.h"

using namespace dilmodeli;

namespace {

const char* kModel = "models/tinystories-5M/tinystories-5M-Q8_0.gguf";

float max_relative_difference(const float* a, const float* b, int64_t n) {
    float scale = 0, diff = 0;
    for (int64_t i = 0; i < n; ++i) {
        scale = std::max(scale, std::fabs(a[i]));
        diff = std::max(diff, std::fabs(a[i] - b[i]));
    }
    return diff / scale;
}

// Greedy continuation of `prompt` by a session of its own.
std::vector<int32_t> alone(model::Model& m, const std::vector<int32_t>& prompt, int steps) {
    model::Session session(m, model::SessionOptions{128, model::KvCacheType::F16, 1});
    session.decode(prompt.data(), int64_t(prompt.size()), false);
    std::vector<int32_t> out;
    for (int i = 0; i < steps; ++i) {
        const int32_t next = runtime::argmax(session.logits().data(), m.config().n_vocab);
        out.push_back(next);
        session.decode(&next, 1, false);
    }
    return out;
}

}  // namespace

TEST_CASE("sequences decoded together continue as each does alone", "[model][serve]") {
    if (!testing::have_shared(kModel)) return;
    auto m = model::Model::load(testing::shared_path(kModel));
    const int64_t vocab = m->config().n_vocab;
    // (tinystories-5M has a 512-token vocabulary.)
    const std::vector<std::vector<int32_t>> prompts = {{1, 403, 261, 263, 431}, {1, 450, 112}, {1, 311, 292, 278, 112, 322}};
    const int steps = 12;

    model::SessionOptions options{128, model::KvCacheType::F16, 1};
    options.sequences = 3;
    model::Session together(*m, options);
    REQUIRE(together.sequences() == 3);
    // The prompts in one pass, each with its last token's logits.
    std::vector<model::SequenceTokens> batch;
    for (int s = 0; s < 3; ++s) batch.push_back({s, prompts[size_t(s)].data(), int64_t(prompts[size_t(s)].size()), true});
    together.decode(batch);
    REQUIRE(together.logits().size() == size_t(3 * vocab));

    std::vector<std::vector<int32_t>> generated(3);
    std::vector<int32_t> next(3);
    for (int i = 0; i < steps; ++i) {
        batch.clear();
        for (int s = 0; s < 3; ++s) {
            next[size_t(s)] = runtime::argmax(&together.logits()[size_t(s * vocab)], vocab);
            generated[size_t(s)].push_back(next[size_t(s)]);
            batch.push_back({s, &next[size_t(s)], 1, true});
        }
        together.decode(batch);
    }
    for (int s = 0; s < 3; ++s) {
        CHECK(together.n_past(s) == int64_t(prompts[size_t(s)].size()) + steps);
        CHECK(generated[size_t(s)] == alone(*m, prompts[size_t(s)], steps));
    }

    // The logits of a sequence decoded beside another equal its own within rounding.
    model::Session single(*m, model::SessionOptions{128, model::KvCacheType::F16, 1});
    single.decode(prompts[2].data(), int64_t(prompts[2].size()), false);
    together.reset();
    batch = {{0, prompts[0].data(), int64_t(prompts[0].size()), false}, {2, prompts[2].data(), int64_t(prompts[2].size()), true}};
    together.decode(batch);
    REQUIRE(together.logits().size() == size_t(vocab));
    CHECK(max_relative_difference(together.logits().data(), single.logits().data(), vocab) < 1e-3f);
}

TEST_CASE("a truncated sequence recomputes what it forgot", "[model][serve]") {
    if (!testing::have_shared(kModel)) return;
    auto m = model::Model::load(testing::shared_path(kModel));
    const int64_t vocab = m->config().n_vocab;
    model::SessionOptions options{64, model::KvCacheType::F32, 1};
    options.sequences = 2;
    model::Session session(*m, options);
    const std::vector<int32_t> a = {1, 403, 261, 263, 431}, b = {1, 403, 261, 450, 112, 322};
    session.decode({{1, a.data(), int64_t(a.size()), true}});
    session.truncate(1, 3);  // keeps the shared start {1, 9038, 2501}
    CHECK(session.n_past(1) == 3);
    session.decode({{1, b.data() + 3, int64_t(b.size() - 3), true}});
    const std::vector<float> reused = session.logits();

    model::Session fresh(*m, model::SessionOptions{64, model::KvCacheType::F32, 1});
    fresh.decode(b.data(), int64_t(b.size()), false);
    CHECK(max_relative_difference(reused.data(), fresh.logits().data(), vocab) < 1e-4f);
    session.truncate(1, 100);  // never grows
    CHECK(session.n_past(1) == int64_t(b.size()));
}

TEST_CASE("a multi-sequence decode refuses what it cannot place", "[model][serve]") {
    if (!testing::have_shared(kModel)) return;
    auto m = model::Model::load(testing::shared_path(kModel));
    model::SessionOptions options{8, model::KvCacheType::F32, 1};
    options.sequences = 2;
    model::Session session(*m, options);
    const std::vector<int32_t> tokens = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    CHECK_THROWS_WITH(session.decode({{2, tokens.data(), 1, true}}), Catch::Contains("sequence 2 is not one of"));
    CHECK_THROWS_WITH(session.decode({{0, tokens.data(), 1, true}, {0, tokens.data(), 1, true}}),
                      Catch::Contains("appears twice"));
    CHECK_THROWS_WITH(session.decode({{1, tokens.data(), 9, true}}), Catch::Contains("exceed --ctx 8"));
    CHECK(session.n_past(1) == 0);
    options.sequences = 0;
    CHECK_THROWS_WITH(model::Session(*m, options), Catch::Contains("--parallel 0"));
}
