// `dilmodeli --version`: the version on the first line (scripts read it), then what this binary
// is: its git revision, build type and compiler, and the SIMD kernels it holds, finds on this CPU
// and uses.
#include <cstdlib>
#include <string>
#include <vector>

#include "command.h"
#include "git_revision.h"  // generated at build time by cmake/version_info.cmake
#include "kernels/matmul.h"

namespace dilmodeli::app {
namespace {

// The kernel files this architecture compiles (lib/CMakeLists.txt; lib/kernels/dispatch.cpp
// registers the same ones), best first.
std::vector<std::string> compiled_isas() {
#if defined(__x86_64__) || defined(_M_X64)
    return {"avx512", "avx2", "scalar"};
#elif defined(__aarch64__) && defined(__ARM_NEON)
    return {"neon", "scalar"};
#else
    return {"scalar"};
#endif
}

std::string joined(const std::vector<std::string>& names) {
    std::string text;
    for (const std::string& name : names) text += (text.empty() ? "" : " ") + name;
    return text;
}

const char* architecture() {
#if defined(__x86_64__) || defined(_M_X64)
    return "x86-64";
#elif defined(__aarch64__)
    return "arm64";
#else
    return "other";
#endif
}

}  // namespace

std::string version_text() {
    std::string chosen;  // why the kernels in use are not the best detected ones
    if (const char* env = std::getenv("DILMODELI_ISA"); env && *env)
        chosen = std::string(" (DILMODELI_ISA=") + env + ")";
    return std::string("dilmodeli ") + DILMODELI_VERSION + "\n" +
           "revision: " + DILMODELI_GIT_REVISION + "\n" +
           "build: " + DILMODELI_BUILD_TYPE + ", " + DILMODELI_COMPILER + ", " + architecture() + "\n" +
           "simd compiled: " + joined(compiled_isas()) + "\n" +
           "simd detected: " + joined(kernels::available_isas()) + "\n" +
           "simd in use: " + kernels::active_isa() + chosen;
}

}  // namespace dilmodeli::app
