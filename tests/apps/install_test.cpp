// Installed like a real tool: `cmake --install` of this build into a fresh prefix gives a binary
// that runs from anywhere and finds the installed presets (an edited copy wins over the built-in
// one); `cpack -G DEB` packs the same files with the Debian packages of the libraries it needs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "support/run_cli.h"
#include "support/shared_data.h"

using namespace dilmodeli::testing;

namespace {

const char* kModel = "models/stories260K/stories260K.gguf";

// sh, given bin=BINARY: one line "PACKAGE PROVIDED, PROVIDED (= V), ..." per Debian package holding
// a shared library the binary needs (readelf: NEEDED; the sanitizers' runtimes aside), or a line
// "unpackaged ..." when a library is in none. One dpkg -S for all (each reads the whole database);
// a library is looked up by its real file's name and folder (/lib is /usr/lib, but dpkg knows one).
const char* kNeededPackages = R"sh(set -f
ldd_out=$(ldd "$bin")
patterns=""
n=0
for lib in $(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
  case "$lib" in libasan*|libubsan*|liblsan*|libtsan*) continue;; esac
  real=$(readlink -f "$(echo "$ldd_out" | awk -v l="$lib" '$1 == l {print $3}')")
  patterns="$patterns */$(basename "$(dirname "$real")")/$(basename "$real")"
  n=$((n + 1))
done
found=$(dpkg -S $patterns 2>/dev/null | grep -v '^diversion by')
[ "$(echo "$found" | grep -c .)" -eq "$n" ] || echo "unpackaged: $n libraries, found: $found"
dpkg-query -W -f='${Package} ${Provides}\n' $(echo "$found" | sed 's/: .*//' | sort -u)
)sh";

// Runs `command` with sh; its stdout in `output`. Returns the exit code.
int shell(const std::string& command, std::string* output = nullptr) {
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe);
    std::string text;
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) text.append(buffer, n);
    const int status = ::pclose(pipe);
    if (output) *output = text;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    REQUIRE(out.good());
}

std::string real_path(const std::string& path) {
    char resolved[PATH_MAX];
    REQUIRE(::realpath(path.c_str(), resolved));
    return resolved;
}

// A fresh folder of this process's own (test runs of several build folders may overlap).
std::string own_temp_dir(const std::string& name) { return real_path(temp_dir(name + "-" + std::to_string(::getpid()))); }

}  // namespace

TEST_CASE("cmake --install puts a binary that runs from anywhere, the presets and the docs under the prefix",
          "[cli][install]") {
    const std::string dir = own_temp_dir("install");
    const std::string prefix = dir + "/prefix";
    std::string log;
    const int installed_status = shell("cmake --install '" DILMODELI_BUILD_DIR "' --prefix '" + prefix + "' 2>&1", &log);
    INFO(log);
    REQUIRE(installed_status == 0);

    for (const char* name : {"low", "balanced", "high"})
        CHECK(read_text_file(prefix + "/share/dilmodeli/presets/" + name + ".json") ==
              read_text_file(std::string(DILMODELI_SOURCE_DIR) + "/configs/presets/" + name + ".json"));
    CHECK(read_text_file(prefix + "/share/doc/dilmodeli/README.md") ==
          read_text_file(DILMODELI_SOURCE_DIR "/README.md"));
    CHECK(read_text_file(prefix + "/share/doc/dilmodeli/LICENSE") == read_text_file(DILMODELI_SOURCE_DIR "/LICENSE"));

    // From a folder without configs/, as a user who installed it would run it.
    const std::string installed = "cd '" + dir + "' && '" + prefix + "/bin/dilmodeli'";
    std::string version;
    REQUIRE(shell(installed + " --version", &version) == 0);
    CHECK_THAT(version, Catch::StartsWith("dilmodeli 0.") && Catch::Contains("\nsimd in use: "));
    CHECK(version == run_cli("--version").out);

    // The administrator edits an installed preset: it takes the built-in one's place. A broken edit
    // is refused naming the installed file (before the model is read: no model needed)...
    const std::string preset = prefix + "/share/dilmodeli/presets/balanced.json";
    write_file(preset, "{\"description\": \"edited\", \"quantize\": {\"budget_bpw\": 16}, \"colour\": 1}");
    std::string refusal;
    CHECK(shell(installed + " quantize /nonexistent/in.gguf out.gguf --preset balanced 2>&1", &refusal) == 1);
    CHECK_THAT(refusal, Catch::Contains("preset " + preset + ": unknown key \"colour\""));
    // ...a good one is used, and the report names it.
    if (have_shared(kModel)) {
        write_file(preset, "{\"description\": \"edited by the admin\", \"quantize\": {\"budget_bpw\": 16}}");
        std::string report;
        REQUIRE(shell(installed + " -q quantize '" + shared_path(kModel) + "' q.gguf --preset balanced --json",
                      &report) == 0);
        const auto j = nlohmann::json::parse(report);
        CHECK(j["preset"]["path"] == preset);
        CHECK(j["preset"]["description"] == "edited by the admin");
    }
    // The other presets are still the shipped ones; a ./configs/presets copy beats the installed one.
    CHECK(shell(installed + " quantize /nonexistent/in.gguf out.gguf --preset nosuch 2>&1", &refusal) == 1);
    CHECK_THAT(refusal, Catch::Contains(prefix + "/share/dilmodeli/presets"));
    REQUIRE(shell("mkdir -p '" + dir + "/configs/presets'") == 0);
    write_file(dir + "/configs/presets/balanced.json", "{\"quantize\": {\"budget_bpw\": 16}, \"local\": 1}");
    CHECK(shell(installed + " quantize /nonexistent/in.gguf out.gguf --preset balanced 2>&1", &refusal) == 1);
    CHECK_THAT(refusal, Catch::Contains("preset configs/presets/balanced.json: unknown key \"local\""));
    CHECK(shell("rm -rf '" + dir + "'") == 0);
}

TEST_CASE("cpack -G DEB packs the binary, presets and docs, depending on the packages of its libraries",
          "[cli][install]") {
    if (shell("command -v cpack && command -v dpkg-deb && command -v dpkg && command -v readelf") != 0) {
        WARN("skipped: cpack, dpkg-deb, dpkg or readelf is missing");
        return;
    }
    const std::string dir = own_temp_dir("cpack");
    std::string log;
    const int packed_status = shell(
        "cd '" + dir + "' && cpack -G DEB --config '" DILMODELI_BUILD_DIR "/CPackConfig.cmake' -B '" + dir + "' 2>&1",
        &log);
    INFO(log);
    REQUIRE(packed_status == 0);
    std::string deb;
    REQUIRE(shell("ls '" + dir + "'/dilmodeli_*.deb", &deb) == 0);
    deb = deb.substr(0, deb.find('\n'));
    auto field = [&](const std::string& name) {
        std::string value;
        REQUIRE(shell("dpkg-deb -f '" + deb + "' " + name, &value) == 0);
        return value.substr(0, value.find('\n'));
    };
    std::string architecture;
    REQUIRE(shell("dpkg --print-architecture", &architecture) == 0);
    CHECK(field("Package") == "dilmodeli");
    const std::string version = run_cli("--version").out;
    CHECK("dilmodeli " + field("Version") == version.substr(0, version.find('\n')));
    CHECK(field("Architecture") + "\n" == architecture);
    CHECK_THAT(field("Maintainer"), Catch::Contains("@"));
    CHECK_THAT(field("Description"), Catch::Contains("language models"));

    std::string contents;
    REQUIRE(shell("dpkg-deb -c '" + deb + "'", &contents) == 0);
    for (const char* path : {"./usr/bin/dilmodeli", "./usr/share/dilmodeli/presets/balanced.json",
                             "./usr/share/doc/dilmodeli/README.md", "./usr/share/doc/dilmodeli/LICENSE"})
        CHECK_THAT(contents, Catch::Contains(path));

    // Every shared library the binary needs (readelf: NEEDED; the sanitizers' runtimes aside) comes
    // from a package that Depends names, by its name or by one it provides (libspdlog1.10-fmt9).
    const std::string depends = field("Depends");
    std::string packages;
    REQUIRE(shell(std::string("bin='" DILMODELI_BINARY "'\n") + kNeededPackages, &packages) == 0);
    std::vector<std::string> depended;  // "libc6 (>= 2.34), libfoo1 | libbar1" -> libc6, libfoo1, libbar1
    std::istringstream alternatives(depends);
    for (std::string word; alternatives >> word;)
        if (word.find_first_of("()") == std::string::npos && word != "|")
            depended.push_back(word.back() == ',' ? word.substr(0, word.size() - 1) : word);
    std::istringstream needed(packages);
    int checked = 0;
    for (std::string line; std::getline(needed, line); ++checked) {  // "PACKAGE PROVIDED, PROVIDED (= V)"
        bool covered = false;
        std::istringstream names(line);
        for (std::string name; names >> name;) {
            if (!name.empty() && name.back() == ',') name.pop_back();
            covered = covered || std::find(depended.begin(), depended.end(), name) != depended.end();
        }
        INFO("needed: " << line << "; Depends: " << depends);
        CHECK(covered);
    }
    CHECK(checked >= 5);
    CHECK(shell("rm -rf '" + dir + "'") == 0);
}
