#include <catch2/catch.hpp>

#include "support/run_cli.h"

using namespace dilmodeli::testing;

TEST_CASE("the version flag prints the name and version and exits 0", "[cli]") {
    const CliResult r = run_cli("--version");
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("dilmodeli 0.") && Catch::EndsWith("\n"));
}
