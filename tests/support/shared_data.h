#pragma once
// Where tests find ../shared (models, golden outputs, text). Outside CI a missing ../shared
// skips the test with a message; in CI (CI=true) it fails, since CI always has it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <dirent.h>
#include <vector>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>

namespace dilmodeli::testing {

inline std::string shared_dir() {
    if (const char* env = std::getenv("DILMODELI_SHARED")) return env;
    return DILMODELI_SHARED_DIR;
}

inline std::string shared_path(const std::string& relative) { return shared_dir() + "/" + relative; }

inline bool path_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

inline bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci && std::string(ci) == "true";
}

// Use as: if (!have_shared("models/stories260K/stories260K.gguf")) return;
inline bool have_shared(const std::string& relative) {
    std::string path = shared_path(relative);
    if (path_exists(path)) return true;
    if (in_ci()) FAIL("missing shared data in CI: " << path);
    WARN("skipped: shared data not found at " << path);
    return false;
}

inline std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A fresh empty folder under $TMPDIR/dilmodeli-tests (or /tmp), for files a test writes. Each test case
// needs a name of its own: ctest runs test cases in parallel processes, and this empties the folder.
inline std::string temp_dir(const std::string& name) {
    std::string base = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                       "/dilmodeli-tests";
    ::mkdir(base.c_str(), 0755);
    std::string dir = base + "/" + name;
    std::string cmd = "rm -rf '" + dir + "' && mkdir -p '" + dir + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
    return dir;
}

// Names in a folder, sorted, "." and ".." included: what a test sees to prove nothing was left.
inline std::vector<std::string> directory_entries(const std::string& dir) {
    std::vector<std::string> names;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d)) names.push_back(e->d_name);
        ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace dilmodeli::testing
