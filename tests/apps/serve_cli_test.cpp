// `dilmodeli serve` as a user runs it: a free port, curl, and SIGTERM ending it with exit 0.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "support/run_cli.h"
#include "support/shared_data.h"

using namespace dilmodeli::testing;

TEST_CASE("serve answers curl, then stops on SIGTERM with exit 0", "[cli][serve]") {
    const char* model = "models/tinystories-5M/tinystories-5M-Q8_0.gguf";
    if (!have_shared(model)) return;
    if (std::system("command -v curl >/dev/null") != 0) {
        WARN("skipped: curl is not installed");
        return;
    }
    const std::string dir = temp_dir("serve-cli");
    const std::string err = dir + "/serve.err", out = dir + "/reply.json", code = dir + "/code";
    // The port comes from the "listening on" line; the request loop is bounded by the timeouts.
    const std::string script =
        std::string(DILMODELI_BINARY) + " serve -m " + quoted(shared_path(model)) +
        " --port 0 --parallel 2 --ctx 128 --chat-template chatml 2>" + quoted(err) + " & pid=$!\n"
        "for i in $(seq 100); do grep -q 'listening on' " + quoted(err) + " && break; sleep 0.1; done\n"
        "url=$(grep -o 'http://[0-9.:]*' " + quoted(err) + ")\n"
        "for i in $(seq 100); do curl -sf $url/health >/dev/null && break; sleep 0.1; done\n"
        "curl -s --max-time 30 $url/v1/chat/completions -H 'Content-Type: application/json' "
        "-d '{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":4,\"temperature\":0}' >" + quoted(out) + "\n"
        "kill -TERM $pid; wait $pid; echo $? >" + quoted(code) + "\n";
    {
        std::ofstream(dir + "/run.sh") << script;
    }
    REQUIRE(std::system(("bash " + quoted(dir + "/run.sh")).c_str()) == 0);
    CHECK(slurp(code) == "0\n");
    CHECK_THAT(slurp(out), Catch::Contains("\"object\":\"chat.completion\"") && Catch::Contains("\"completion_tokens\":4"));
    CHECK_THAT(slurp(err), Catch::Contains("signal 15: stopping"));
}

TEST_CASE("serve refuses bad flags and models in one line", "[cli][serve]") {
    CliResult r = run_cli("serve -m /nonexistent.gguf --port 0");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("/nonexistent.gguf"));
    r = run_cli("serve -m x.gguf --port 70000");
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("--port 70000"));
    r = run_cli("serve -m x.gguf --parallel 0");
    CHECK(r.exit_code == 1);
    if (!have_shared("models/tinystories-5M/tinystories-5M-Q8_0.gguf")) return;
    r = run_cli("serve -m " + quoted(shared_path("models/tinystories-5M/tinystories-5M-Q8_0.gguf")) +
                " --port 0 --chat-template nosuch");
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("nosuch") && Catch::Contains("chatml"));
}
