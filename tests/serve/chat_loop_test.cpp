// `chat`'s loop: turns from a stream, replies streamed out, the conversation's start reused from
// the previous turn's cache, the oldest exchanges left out when the context fills.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "model/model.h"
#include "serve/chat_loop.h"
#include "serve/engine.h"
#include "support/run_cli.h"
#include "support/shared_data.h"
#include "tokenizer/tokenizer.h"

using namespace dilmodeli;

namespace {
const char* kModel = "models/tinystories-5M/tinystories-5M-Q8_0.gguf";
}

TEST_CASE("chat turns reuse the conversation so far and fit the context", "[serve][chat-loop]") {
    if (!testing::have_shared(kModel)) return;
    auto model = model::Model::load(testing::shared_path(kModel));
    auto tokenizer = tokenizer::Tokenizer::from_gguf(model->file());
    const chat::ChatTemplate chatml = chat::ChatTemplate::named("chatml");
    serve::EngineOptions engine_options;
    engine_options.slots = 1;
    engine_options.context = 160;
    engine_options.threads = 1;
    serve::Engine engine(*model, *tokenizer, engine_options);
    serve::ChatOptions options;
    options.system_prompt = "You tell stories.";
    options.max_tokens = 12;
    options.sampler.temperature = 0;

    std::istringstream in("Once upon a time\nWhat happened next?\n\n/reset\nOnce upon a time\nAnd then?\nMore!\nAgain!\n/exit\nignored\n");
    std::ostringstream out;
    const std::vector<serve::ChatTurn> turns = serve::run_chat(engine, *tokenizer, chatml, in, out, options);
    REQUIRE(turns.size() == 6);
    for (const serve::ChatTurn& t : turns) CHECK(t.completion_tokens == 12);
    // The second turn re-reads only what the first did not already hold.
    CHECK(turns[1].cached_tokens >= turns[0].prompt_tokens);
    // After /reset the same first turn answers the same.
    CHECK(turns[2].reply == turns[0].reply);
    // Six 12-token replies and their questions do not fit 160 tokens with room for a reply.
    int64_t dropped = 0;
    for (const serve::ChatTurn& t : turns) {
        CHECK(t.prompt_tokens + 12 <= 160);
        dropped += t.dropped_messages;
    }
    CHECK(dropped > 0);
    // One line a reply.
    std::string expected;
    for (const serve::ChatTurn& t : turns) expected += t.reply + "\n";
    CHECK(out.str() == expected);
}

TEST_CASE("chat from a pipe prints each reply and a newline; no template is one line and exit 2", "[serve][chat-loop][cli]") {
    if (!testing::have_shared(kModel)) return;
    const std::string model = testing::quoted(testing::shared_path(kModel));
    const std::string dir = testing::temp_dir("chat-cli");
    {
        std::ofstream(dir + "/turns.txt") << "Once upon a time\nWhat next?\n";
    }
    const std::string cmd = std::string(DILMODELI_BINARY) + " chat -m " + model +
                            " --chat-template chatml --temp 0 -n 6 -c 128 <" + testing::quoted(dir + "/turns.txt") +
                            " >" + testing::quoted(dir + "/out.txt");
    CHECK(std::system(cmd.c_str()) == 0);
    const std::string out = testing::slurp(dir + "/out.txt");
    // Two replies, each ended by a newline (a reply may hold newlines of its own).
    CHECK(std::count(out.begin(), out.end(), '\n') >= 2);
    CHECK(out.back() == '\n');
    testing::CliResult r = testing::run_cli("chat -m " + model);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("no tokenizer.chat_template") && Catch::Contains("--chat-template"));
}
