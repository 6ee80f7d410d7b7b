// The CLI's own flags: --version (what this binary is) and --help (an example for every
// subcommand; the top-level help when no subcommand is given).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <vector>

#include "support/run_cli.h"

using namespace dilmodeli::testing;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// The value of the line "KEY: value" of --version's output, or "" when there is none.
std::string field(const std::vector<std::string>& lines, const std::string& key) {
    for (const std::string& line : lines)
        if (line.rfind(key + ": ", 0) == 0) return line.substr(key.size() + 2);
    return "";
}

std::vector<std::string> words(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

// stdout and stderr of a shell command, together, as a terminal shows them.
std::string combined_output(const std::string& command) {
    std::string text;
    if (FILE* pipe = ::popen((command + " 2>&1").c_str(), "r")) {
        char buffer[4096];
        for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) text.append(buffer, n);
        ::pclose(pipe);
    }
    return text;
}

}  // namespace

TEST_CASE("the version flag prints the name and version and exits 0", "[cli]") {
    const CliResult r = run_cli("--version");
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("dilmodeli 0.") && Catch::EndsWith("\n"));
}

TEST_CASE("the version flag says which build this is and which SIMD kernels it holds, finds and uses", "[cli]") {
    const CliResult r = run_cli("--version");
    REQUIRE(r.exit_code == 0);
    const std::vector<std::string> lines = lines_of(r.out);
    REQUIRE(lines.size() >= 6);
    CHECK(lines[0].find(' ') == std::string("dilmodeli").size());
    CHECK(lines[0].find(' ', 10) == std::string::npos);  // "dilmodeli VERSION", nothing else

    // A git checkout (CI builds from a clone) gives a hash, maybe -dirty; elsewhere "unknown".
    const std::string revision = field(lines, "revision");
    INFO(r.out);
    CHECK_FALSE(revision.empty());
    CHECK(revision.find(' ') == std::string::npos);

    const std::vector<std::string> build = words(field(lines, "build"));
    REQUIRE_FALSE(build.empty());
    CHECK((contains({"Release,", "Debug,", "RelWithDebInfo,", "MinSizeRel,"}, build[0])));

    const std::vector<std::string> compiled = words(field(lines, "simd compiled"));
    const std::vector<std::string> detected = words(field(lines, "simd detected"));
    const std::vector<std::string> in_use = words(field(lines, "simd in use"));
    REQUIRE_FALSE(compiled.empty());
    REQUIRE_FALSE(detected.empty());
    REQUIRE_FALSE(in_use.empty());
    CHECK(compiled.back() == "scalar");
    CHECK(detected.back() == "scalar");
    for (const std::string& isa : detected) CHECK(contains(compiled, isa));
    CHECK(contains(detected, in_use[0]));

    // DILMODELI_ISA chooses the kernels in use, and --version says so.
    const std::string forced = combined_output("DILMODELI_ISA=scalar '" DILMODELI_BINARY "' --version");
    CHECK_THAT(forced, Catch::Contains("\nsimd in use: scalar (DILMODELI_ISA=scalar)\n"));
}

TEST_CASE("every subcommand's help shows an example", "[cli]") {
    const CliResult top = run_cli("--help");
    REQUIRE(top.exit_code == 0);
    // The subcommands, as the top-level help lists them: "  NAME   description" after "Subcommands:".
    std::vector<std::string> names;
    bool listing = false;
    for (const std::string& line : lines_of(top.out)) {
        if (line == "Subcommands:") listing = true;
        else if (line.empty()) listing = false;
        else if (listing && line.size() > 2 && line.compare(0, 2, "  ") == 0 && line[2] != ' ')
            names.push_back(words(line)[0]);
    }
    CHECK(names.size() >= 15);
    CHECK(contains(names, "bench"));
    for (const std::string& name : names) {
        const CliResult help = run_cli(name + " --help");
        INFO(name << " --help:\n" << help.out << help.err);
        CHECK(help.exit_code == 0);
        CHECK_THAT(help.out, Catch::Contains("Example") && Catch::Contains("dilmodeli " + name + " "));
    }
}

TEST_CASE("no subcommand: the help, then the complaint on a line of its own, exit code 1", "[cli]") {
    const CliResult r = run_cli("");
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.out, Catch::Contains("Subcommands:") && Catch::EndsWith("3 I/O error.\n"));
    CHECK(r.err == "dilmodeli: error: a subcommand is required (one of the commands above)\n");
    const std::string both = combined_output("'" DILMODELI_BINARY "'");
    CHECK_THAT(both, Catch::Contains("3 I/O error.\ndilmodeli: error: a subcommand is required"));
    // Flags alone are no subcommand either.
    CHECK(run_cli("-v").exit_code == 1);
}
