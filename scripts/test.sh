#!/usr/bin/env bash
# Builds (via setup.sh) and runs the whole test suite with CTest.
#   scripts/test.sh             Release build in build/, every test but the [slow] ones
#   scripts/test.sh --slow      also the slow-labelled end-to-end tests
#   scripts/test.sh --sanitize  ASan+UBSan build in build-sanitize/, every test but the slow ones
set -euo pipefail
cd "$(dirname "$0")/.."

slow=0
sanitize=0
for arg in "$@"; do
  case "$arg" in
    --slow) slow=1 ;;
    --sanitize) sanitize=1 ;;
    *) echo "usage: scripts/test.sh [--slow] [--sanitize]" >&2; exit 1 ;;
  esac
done

if [ "$sanitize" = 1 ]; then
  export BUILD_DIR=build-sanitize
  bash scripts/setup.sh -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDILMODELI_SANITIZE=ON
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
  export BUILD_DIR=build
  bash scripts/setup.sh
fi

filter=(-LE slow)
[ "$slow" = 1 ] && filter=()
cd "$BUILD_DIR"
ctest --output-on-failure -j"$(nproc)" "${filter[@]}"
