#include <catch2/catch.hpp>

#include <cstdlib>

#include "support/run_cli.h"
#include "support/shared_data.h"

using namespace dilmodeli::testing;

TEST_CASE("SIGINT while writing a model leaves no file behind and exits 130", "[cli]") {
    if (!have_shared("models/tokenizers/ggml-vocab-llama-spm.gguf")) return;
    const std::string dir = temp_dir("interrupt");
    // A 1B-shape Q4_K model takes far longer than a second to write, so the signal lands mid-write.
    const std::string cmd = "( " + std::string(DILMODELI_BINARY) + " synth " + quoted(dir + "/out.gguf") +
                            " --shape 1B --type Q4_K --vocab " +
                            quoted(shared_path("models/tokenizers/ggml-vocab-llama-spm.gguf")) +
                            " 2>" + quoted(dir + "/../interrupt.err") + " & pid=$!; sleep 1.5; kill -INT $pid; wait $pid; echo $? > " +
                            quoted(dir + "/../interrupt.code") + " )";
    REQUIRE(std::system(cmd.c_str()) == 0);
    CHECK(slurp(dir + "/../interrupt.code") == "130\n");
    CHECK_THAT(slurp(dir + "/../interrupt.err"), Catch::Contains("interrupted"));
    CHECK(std::system(("test -z \"$(ls -A " + quoted(dir) + ")\"").c_str()) == 0);
}
