#pragma once
// Runs the dilmodeli binary as a user would, capturing stdout, stderr and the exit code.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

namespace dilmodeli::testing {

struct CliResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// `args` is appended to the command line as is (quote paths yourself).
inline CliResult run_cli(const std::string& args, const std::string& scratch = "/tmp") {
    static int counter = 0;
    std::string base = scratch + "/cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    std::string cmd = std::string(DILMODELI_BINARY) + " " + args + " >" + base + ".out 2>" + base + ".err </dev/null";
    int status = std::system(cmd.c_str());
    CliResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(base + ".out");
    r.err = slurp(base + ".err");
    std::remove((base + ".out").c_str());
    std::remove((base + ".err").c_str());
    return r;
}

inline std::string quoted(const std::string& s) { return "'" + s + "'"; }

inline size_t count_lines(const std::string& s) {
    size_t n = 0;
    for (char c : s) n += (c == '\n');
    return n;
}

}  // namespace dilmodeli::testing
