// The engine against the model decoding alone: continuous batching must not change a greedy
// answer, and limits, stop strings, prompt reuse, cancellation and admission must hold.
#include <catch2/catch.hpp>

#include <thread>

#include "model/model.h"
#include "serve/engine.h"
#include "support/shared_data.h"
#include "tokenizer/tokenizer.h"

using namespace dilmodeli;

namespace {

const char* kModel = "models/tinystories-5M/tinystories-5M-Q8_0.gguf";

struct Fixture {
    std::unique_ptr<model::Model> model;
    std::unique_ptr<tokenizer::Tokenizer> tokenizer;
    Fixture() {
        model = model::Model::load(testing::shared_path(kModel));
        tokenizer = tokenizer::Tokenizer::from_gguf(model->file());
    }
    serve::CompletionRequest greedy(const std::string& prompt, int64_t max_tokens) const {
        serve::CompletionRequest r;
        r.prompt = tokenizer->encode(prompt, true);
        r.max_tokens = max_tokens;
        r.sampler.temperature = 0;
        return r;
    }
};

std::string text_of(serve::Job& job) {
    std::vector<serve::CompletionDelta> deltas;
    while (job.take(deltas, std::chrono::milliseconds(1000))) {
    }
    std::string text;
    for (const auto& d : deltas) text += d.text;
    return text;
}

serve::EngineOptions engine_options(int slots) {
    serve::EngineOptions o;
    o.slots = slots;
    o.context = 128;
    o.threads = 1;
    return o;
}

}  // namespace

TEST_CASE("requests decoded together answer as each does alone", "[serve]") {
    if (!testing::have_shared(kModel)) return;
    Fixture f;
    const std::vector<std::string> prompts = {"Once upon a time", "The little dog", "Tom and Sue went to the park.",
                                              "One day, a girl named Mia", "The sun was hot and"};
    std::vector<std::string> expected;
    {
        serve::Engine one(*f.model, *f.tokenizer, engine_options(1));
        for (const std::string& p : prompts) {
            auto job = one.submit(f.greedy(p, 24));
            expected.push_back(text_of(*job));
            CHECK(job->finish_reason() == serve::FinishReason::Length);
            CHECK(job->usage().completion_tokens == 24);
        }
    }
    serve::Engine engine(*f.model, *f.tokenizer, engine_options(4));
    std::vector<std::shared_ptr<serve::Job>> jobs;
    for (const std::string& p : prompts) jobs.push_back(engine.submit(f.greedy(p, 24)));  // five for four slots
    for (size_t i = 0; i < jobs.size(); ++i) CHECK(text_of(*jobs[i]) == expected[i]);
    const serve::EngineStats stats = engine.stats();
    CHECK(stats.requests == 5);
    CHECK(stats.generated_tokens == 5 * 24);
    CHECK(stats.steps < 5 * 24);  // sequences shared forward passes
}

TEST_CASE("a request's next turn reuses the slot's cached prompt", "[serve]") {
    if (!testing::have_shared(kModel)) return;
    Fixture f;
    serve::Engine engine(*f.model, *f.tokenizer, engine_options(2));
    auto first = engine.submit(f.greedy("Once upon a time, there was a little girl", 8));
    const std::string answer = text_of(*first);
    CHECK(first->usage().cached_tokens == 0);
    auto second = engine.submit(f.greedy("Once upon a time, there was a little girl" + answer + " She", 8));
    text_of(*second);
    // Everything the first request evaluated (prompt and all but its last generated token).
    CHECK(second->usage().cached_tokens == first->usage().prompt_tokens + 7);
}

TEST_CASE("stop strings, limits and end of text finish a completion", "[serve]") {
    if (!testing::have_shared(kModel)) return;
    Fixture f;
    serve::Engine engine(*f.model, *f.tokenizer, engine_options(2));
    auto plain = engine.submit(f.greedy("Once upon a time", 40));
    const std::string text = text_of(*plain);
    REQUIRE(text.find(" Lily") != std::string::npos);
    auto request = f.greedy("Once upon a time", 40);
    request.stop = {" Lily"};
    auto stopped = engine.submit(request);
    CHECK(text_of(*stopped) == text.substr(0, text.find(" Lily")));
    CHECK(stopped->finish_reason() == serve::FinishReason::Stop);

    auto none = engine.submit(f.greedy("Once upon a time", 0));
    CHECK(text_of(*none).empty());
    CHECK(none->usage().completion_tokens == 0);

    // Until the end of text or a full context: the logits of the context's last position still
    // give one token, which can no longer be decoded.
    auto open = engine.submit(f.greedy("The end of the story was happy.", -1));
    text_of(*open);
    const auto usage = open->usage();
    INFO("finish " << serve::finish_reason_name(open->finish_reason()) << ", tokens " << usage.prompt_tokens << " + "
                   << usage.completion_tokens);
    if (open->finish_reason() == serve::FinishReason::Length) CHECK(usage.prompt_tokens + usage.completion_tokens == 129);
    else CHECK(open->finish_reason() == serve::FinishReason::Stop);
}

TEST_CASE("the engine refuses what cannot run and frees cancelled slots", "[serve]") {
    if (!testing::have_shared(kModel)) return;
    Fixture f;
    serve::EngineOptions options = engine_options(1);
    options.max_queue = 1;
    serve::Engine engine(*f.model, *f.tokenizer, options);
    std::string long_prompt;
    for (int i = 0; i < 60; ++i) long_prompt += " and then";
    try {
        engine.submit(f.greedy(long_prompt, 4));
        FAIL("a prompt longer than the context was accepted");
    } catch (const serve::SubmitError& e) {
        CHECK(e.status() == 400);
        CHECK(std::string(e.what()).find("does not fit in the context of 128") != std::string::npos);
    }
    auto running = engine.submit(f.greedy("Once upon a time", -1));
    // The only slot is (or soon is) taken: one may wait, a second waiting one is refused.
    while (engine.stats().slots_busy == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto waiting = engine.submit(f.greedy("The dog", 4));
    CHECK_THROWS_AS(engine.submit(f.greedy("The cat", 4)), serve::SubmitError);
    running->cancel();
    text_of(*running);
    CHECK(running->finish_reason() == serve::FinishReason::Cancelled);
    CHECK(text_of(*waiting).size() > 0);  // served once the slot was freed
    CHECK(waiting->finish_reason() == serve::FinishReason::Length);
}
