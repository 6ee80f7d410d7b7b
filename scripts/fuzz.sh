#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz/ and runs each for
# SECONDS (default 60) from tests/fuzz/<target>/, on a working copy of the corpus. Crashing
# inputs land in build-fuzz/crashes/<target>/; add them to tests/fuzz/<target>/ once fixed.
# Prints a JSON summary: executions and crashes per target.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
command -v clang++ >/dev/null || { echo "fuzz: clang++ is needed (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDILMODELI_FUZZ=ON \
  -DDILMODELI_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_gguf_reader fuzz_tokenizer >&2
echo "["
first=1
for target in gguf_reader tokenizer; do
  work=build-fuzz/corpus-$target crashes=build-fuzz/crashes/$target
  mkdir -p "$work" "$crashes"
  cp -n tests/fuzz/$target/* "$work/" 2>/dev/null || true
  log=build-fuzz/fuzz-$target.log
  set +e
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    build-fuzz/fuzz_$target "$work" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1
  status=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  found=$(ls "$crashes" | wc -l)
  [ $first = 1 ] || echo ","
  first=0
  echo "  {\"target\": \"$target\", \"seconds\": $seconds, \"executions\": ${runs:-0}, \"crashes\": $found, \"exit\": $status, \"corpus\": $(ls "$work" | wc -l)}"
  echo "fuzz: $target: ${runs:-0} executions, $found crashing inputs (log: $log)" >&2
done
echo "]"
