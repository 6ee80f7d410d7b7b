#!/usr/bin/env bash
# Speed of `run`'s forward pass as llama-bench measures it (pp128 and tg64, at 1 and 2 threads,
# medians of repetitions), on stories260K and on synthetic 110M and 1B models; and quantize wall
# time. Prints one JSON document on stdout; progress on stderr. `scripts/bench-ratios.py` sets it
# against llama.cpp's figures in ../shared/golden/perf.md.
#   scripts/bench.sh [--quick] [--reps N] [--shapes "110M 1B"] [--types "F32 Q8_0 Q4_0 Q4_K"] [--mmap|--no-mmap]
# Models are held as `bench` holds them by default (copied into huge pages where that is safe);
# --mmap / --no-mmap force one way, and each result's "mmap" says which was used.
# Synthetic models are cached in bench-models/ (git-ignored; the 1B F32 file is 4.4 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
reps=5
shapes="110M 1B"
types="F32 Q8_0 Q4_0 Q4_K"
load_flags=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) reps=3; shapes="110M"; types="Q8_0 Q4_0" ;;
    --reps) reps=$2; shift ;;
    --shapes) shapes=$2; shift ;;
    --types) types=$2; shift ;;
    --mmap) load_flags=(--mmap) ;;
    --no-mmap) load_flags=(--no-mmap) ;;
    *) echo "usage: scripts/bench.sh [--quick] [--reps N] [--shapes S] [--types T] [--mmap|--no-mmap]" >&2; exit 1 ;;
  esac
  shift
done
B=build/apps/dilmodeli/dilmodeli
[ -x "$B" ] || bash scripts/setup.sh >&2
vocab=../shared/models/tokenizers/ggml-vocab-llama-spm.gguf
mkdir -p bench-models

models=()
[ -f ../shared/models/stories260K/stories260K.gguf ] && models+=(../shared/models/stories260K/stories260K.gguf)
for shape in $shapes; do
  for type in $types; do
    f=bench-models/$shape-$type.gguf
    if [ ! -f "$f" ]; then
      echo "bench: synthesizing $f" >&2
      "$B" -q synth "$f" --shape "$shape" --type "$type" --vocab "$vocab" --seed 1 >&2
    fi
    models+=("$f")
  done
done

# Memory bandwidth now (STREAM triad at 1 and 2 threads, from `profile`): the machine drifts, so
# the run carries its own roofline, taken before and after the timings.
bandwidth() {
  if [ -f ../shared/models/stories260K/stories260K.gguf ]; then
    "$B" -q profile -m ../shared/models/stories260K/stories260K.gguf -n 1 --ladder-max 16K --no-thread-scaling \
      --json 2>/dev/null | tr -d '\n ' | grep -o '"stream":\[[^]]*\]' | sed 's/^"stream"://'
  else
    echo "null"
  fi
}
echo "{\"machine\": {\"cpu\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\", \"cores\": $(nproc)},"
# Taken between models too: the machine can halve its bandwidth within one run, so each result
# carries the figures measured just before and just after it.
bw=$(bandwidth)
echo "\"bandwidth_before\": $bw,"
echo "\"results\": ["
first=1
for m in "${models[@]}"; do
  echo "bench: $m" >&2
  [ $first = 1 ] || echo ","
  first=0
  result=$("$B" -q bench -m "$m" -p 128 -n 64 -r "$reps" -t 1,2 "${load_flags[@]}" --json)
  bw_after=$(bandwidth)
  echo "{\"bandwidth_before\": $bw, \"bandwidth_after\": $bw_after, ${result#\{}"
  bw=$bw_after
done
echo "],"
echo "\"bandwidth_after\": $bw,"

# Quantize wall time: the F32 model to Q4_0 and Q4_K, all threads, median of 3 runs.
quant_inputs=()
[ -f ../shared/models/tinystories-5M/tinystories-5M-F32.gguf ] && quant_inputs+=(../shared/models/tinystories-5M/tinystories-5M-F32.gguf)
if [[ " $shapes " == *" 110M "* ]]; then
  f=bench-models/110M-F32.gguf
  if [ ! -f "$f" ]; then
    echo "bench: synthesizing $f" >&2
    "$B" -q synth "$f" --shape 110M --type F32 --vocab "$vocab" --seed 1 >&2
  fi
  quant_inputs+=("$f")
fi
echo "\"quantize\": ["
first=1
for m in "${quant_inputs[@]}"; do
  for type in Q4_0 Q4_K; do
    echo "bench: quantize $m -> $type" >&2
    times=()
    for _ in 1 2 3; do
      start=$(date +%s.%N)
      "$B" -q quantize "$m" bench-models/quantize-scratch.gguf --type "$type" > /dev/null
      times+=("$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')")
    done
    median=$(printf '%s\n' "${times[@]}" | sort -g | sed -n 2p)
    [ $first = 1 ] || echo ","
    first=0
    printf '{"model": "%s", "type": "%s", "input_bytes": %s, "seconds_median": %.3f, "seconds": [%s]}\n' \
      "$m" "$type" "$(stat -c %s "$m")" "$median" "$(IFS=,; echo "${times[*]}")"
  done
done
rm -f bench-models/quantize-scratch.gguf
echo "]}"
