#!/usr/bin/env bash
# Parallel expert execution: how much faster TBB runs a MoE layer's experts on all threads than
# the same code in a 1-thread arena (route-bench's expert_execution), at several batch sizes, on
# a moefied tinystories-5M (8 experts of 96 channels, top-2) and on route-bench's synthetic layer
# (64 experts of 256 x 256, top-2). Each figure is the median over --reps runs of route-bench,
# each of which already times the median of >= 7 calls. Prints one JSON document.
#   scripts/bench-moe.sh [--reps N] [--threads T]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=5
threads=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift ;;
    --threads) threads=$2; shift ;;
    *) echo "usage: scripts/bench-moe.sh [--reps N] [--threads T]" >&2; exit 1 ;;
  esac
  shift
done
B=build/apps/dilmodeli/dilmodeli
[ -x "$B" ] || bash scripts/setup.sh >&2
shared=../shared
mkdir -p bench-models
moe=bench-models/tinystories-5M-moe-e8-k2.gguf
if [ ! -f "$moe" ]; then
  echo "bench-moe: moefying tinystories-5M into $moe" >&2
  "$B" -q moefy "$shared/models/tinystories-5M/tinystories-5M-F32.gguf" "$moe" --experts 8 --top-k 2 \
    --calib "$shared/data/tinystories/train.txt" >&2
fi

# The value of "key": NUMBER in route-bench's JSON.
field() { sed -n "s/.*\"$1\": \([0-9.e+-]*\).*/\1/p" | head -1; }
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ms() { awk '{printf "%.4f", $1 * 1000}'; }

# One row: batch, then the medians of speedup, serial ms and parallel ms over the repetitions.
row() {
  local batch=$1; shift
  local speedups="" serials="" parallels=""
  for _ in $(seq "$reps"); do
    json=$("$B" -q route-bench "$@" --routers topk -t "$threads" --json)
    speedups+="$(echo "$json" | field speedup)"$'\n'
    serials+="$(echo "$json" | field serial_seconds)"$'\n'
    parallels+="$(echo "$json" | field parallel_seconds)"$'\n'
  done
  local list
  list=$(echo -n "$speedups" | paste -sd, -)
  printf '{"batch": %s, "speedup": %s, "serial_ms": %s, "parallel_ms": %s, "speedups": [%s]}' \
    "$batch" "$(echo -n "$speedups" | median)" "$(echo -n "$serials" | median | ms)" \
    "$(echo -n "$parallels" | median | ms)" "$list"
}

echo "{\"machine\": {\"cpu\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\", \"cores\": $(nproc)},"
echo "\"threads\": $threads, \"reps\": $reps,"
echo "\"model\": {\"file\": \"$moe\", \"rows\": ["
first=1
for batch in 32 64 128 256; do
  echo "bench-moe: model, batch $batch" >&2
  [ $first = 1 ] || echo ","
  first=0
  row "$batch" -m "$moe" -f "$shared/data/tinystories/heldout.txt" -c "$batch" --chunks 1
done
echo "]},"
echo "\"synthetic\": {\"experts\": 64, \"expert_ff\": 256, \"rows\": ["
first=1
for batch in 32 128 512; do
  echo "bench-moe: synthetic, batch $batch" >&2
  [ $first = 1 ] || echo ","
  first=0
  row "$batch" --synthetic --experts 64 --tokens 1024 --batch "$batch"
done
echo "]}}"
