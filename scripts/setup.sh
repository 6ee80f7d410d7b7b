#!/usr/bin/env bash
# Installs the Debian packages dilmodeli needs (when missing), then configures and builds a
# Release build into build/ (or $BUILD_DIR). Extra arguments go to CMake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake g++ make pkg-config libcli11-dev nlohmann-json3-dev libspdlog-dev libxsimd-dev catch2 libtbb-dev libhwloc-dev libcpp-httplib-dev curl)
bash scripts/install-packages.sh "${packages[@]}"

build_dir="${BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
echo "setup: built $build_dir/apps/dilmodeli/dilmodeli" >&2
