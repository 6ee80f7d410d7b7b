#!/usr/bin/env bash
# The NEON kernels on an x86-64 machine: builds the tests for AArch64 with Debian's cross compiler
# and runs them under qemu-user, where the instruction sets are NEON and scalar, so every NEON
# kernel is checked against the scalar reference. Installs what it needs (adds arm64 to dpkg's
# architectures). About 4 minutes to build on two cores and 1-2 to run the kernel tests.
#   scripts/test-arm64.sh [TEST_SPEC]   (Catch2 test spec; default "[kernels]")
set -euo pipefail
cd "$(dirname "$0")/.."
spec=${1:-"[kernels]"}
# The header-only libraries and the build tools come from the host; the compiled ones for arm64.
bash scripts/install-packages.sh cmake make pkg-config libcli11-dev nlohmann-json3-dev libxsimd-dev catch2 \
  g++-aarch64-linux-gnu qemu-user libtbb-dev:arm64 libspdlog-dev:arm64 libhwloc-dev:arm64
# xsimd is header-only, but Debian installs its CMake files under the host's multiarch folder.
# -fno-tree-vectorize: GCC 12's AArch64 vectorizer stops with an internal compiler error (in
# vect_transform_reduction) on tests/kernels/matmul_test.cpp; the kernels are intrinsics.
cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=scripts/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS=-fno-tree-vectorize -Dxsimd_DIR=/usr/lib/x86_64-linux-gnu/cmake/xsimd > /dev/null
cmake --build build-arm64 -j"$(nproc)" --target dilmodeli_tests
# On one CPU: under qemu-user 7.2 a oneTBB parallel_for with a worker thread never returns (even a
# ten-line program), so the tests run without TBB workers; the products still take their
# parallel code paths, on the calling thread.
taskset -c 0 qemu-aarch64 -L /usr/aarch64-linux-gnu build-arm64/tests/dilmodeli_tests "$spec" 2>&1 |
  grep -v "^TBB Warning: The number of workers is currently limited to 0"
