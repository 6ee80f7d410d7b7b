#!/usr/bin/env bash
# Speed of `run`'s forward pass as llama-bench measures it (pp128 and tg64, at 1 and 2 threads,
# medians of repetitions), on stories260K and on synthetic 110M and 1B models; and quantize wall
# time. Prints one JSON document on stdout; progress on stderr.
#   scripts/bench.sh [--quick] [--reps N] [--shapes "110M 1B"] [--types "F32 Q8_0 Q4_0 Q4_K"]
# Synthetic models are cached in bench-models/ (git-ignored; the 1B F32 file is 4.4 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
reps=5
shapes="110M 1B"
types="F32 Q8_0 Q4_0 Q4_K"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) reps=3; shapes="110M"; types="Q8_0 Q4_0" ;;
    --reps) reps=$2; shift ;;
    --shapes) shapes=$2; shift ;;
    --types) types=$2; shift ;;
    *) echo "usage: scripts/bench.sh [--quick] [--reps N] [--shapes S] [--types T]" >&2; exit 1 ;;
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

echo "{\"machine\": {\"cpu\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\", \"cores\": $(nproc)},"
echo "\"results\": ["
first=1
for m in "${models[@]}"; do
  echo "bench: $m" >&2
  [ $first = 1 ] || echo ","
  first=0
  "$B" -q bench -m "$m" -p 128 -n 64 -r "$reps" -t 1,2 --json
done
echo "]}"
