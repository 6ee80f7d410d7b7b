#!/usr/bin/env bash
# Reproduces the compression evidence table (docs/results/quantize.md, docs/RESULTS.md): for one
# F32 model, every variant's file size, bits per weight, held-out perplexity (the whole text,
# llama-perplexity's chunking) and its change against F32, and generation tok/s (tg64, 1 thread,
# median of 3).
#   scripts/results-compression.sh [--model F32.gguf] [--calib TEXT] [--eval TEXT] [--ctx N]
#                                  [--out DIR] [--only "uniform nash equal prune presets"]
# Prints a Markdown table on stdout and writes DIR/results.json; progress on stderr.
# Calibration text and evaluation text must differ: the defaults calibrate on train.txt and
# evaluate on heldout.txt, which the model never saw.
set -euo pipefail
cd "$(dirname "$0")/.."
model=../shared/models/tinystories-5M/tinystories-5M-F32.gguf
calib=../shared/data/tinystories/train.txt
evaltext=../shared/data/tinystories/heldout.txt
ctx=256
out=build/results-compression
only="uniform nash equal prune presets"
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift ;;
    --calib) calib=$2; shift ;;
    --eval) evaltext=$2; shift ;;
    --ctx) ctx=$2; shift ;;
    --out) out=$2; shift ;;
    --only) only=$2; shift ;;
    *) echo "usage: scripts/results-compression.sh [--model F] [--calib T] [--eval T] [--ctx N] [--out DIR] [--only GROUPS]" >&2
       exit 1 ;;
  esac
  shift
done
B=build/apps/dilmodeli/dilmodeli
[ -x "$B" ] || bash scripts/setup.sh >&2
mkdir -p "$out"
want() { [[ " $only " == *" $1 "* ]]; }

parameters=$("$B" -q inspect "$model" --json | jq .parameters)
# llama.cpp's own Q4_K_M of the same model, when ../shared has it (NAME-F32.gguf or NAME.gguf).
llama_q4km=${model%-F32.gguf}-Q4_K_M.gguf
[ -f "$llama_q4km" ] || llama_q4km=${model%.gguf}-Q4_K_M.gguf
rows=()

# measure NAME GROUP FILE: one JSON row.
measure() {
  local name=$1 group=$2 file=$3
  echo "results: eval $name" >&2
  local ppl tg bytes
  ppl=$("$B" -q eval -m "$file" -f "$evaltext" --ctx "$ctx" --json 2>/dev/null | jq .perplexity)
  tg=$("$B" -q bench -m "$file" -p 0 -n 64 -r 3 -t 1 --json | jq '.runs[0].tg_tok_per_s')
  bytes=$(stat -c %s "$file")
  rows+=("$(jq -n --arg name "$name" --arg group "$group" --argjson bytes "$bytes" --argjson ppl "$ppl" \
    --argjson tg "$tg" --argjson params "$parameters" \
    '{name: $name, group: $group, file_bytes: $bytes, bpw: ($bytes * 8 / $params), perplexity: $ppl, tg_tok_per_s: $tg}')")
}

quantize() {  # quantize OUT ARGS...: quietly, the report kept beside the file
  local dest=$1; shift
  echo "results: quantize $(basename "$dest") $*" >&2
  "$B" -q quantize "$model" "$dest" "$@" --json > "$dest.json"
}

measure F32 reference "$model"

uniform_types="Q8_0 Q5_1 Q4_0 Q4_K Q3_K Q2_K"
if want uniform; then
  for t in $uniform_types; do
    quantize "$out/$t.gguf" --type "$t"
    measure "$t" uniform "$out/$t.gguf"
  done
  [ -f "$llama_q4km" ] && measure "llama.cpp Q4_K_M" llama.cpp "$llama_q4km"
fi

if want nash; then
  for bpw in 6.5 4.5 3.5 2.5; do
    # A budget below what the model's shapes allow (stories260K's 172-wide rows only fit F16)
    # is reported and skipped.
    if quantize "$out/nash-$bpw.gguf" --budget-bpw "$bpw" --calib "$calib"; then
      measure "nash $bpw bpw" nash "$out/nash-$bpw.gguf"
    fi
  done
fi

# Nash-swarm at exactly the size of each uniform file (and of llama.cpp's Q4_K_M): the
# equal-size comparison the issue asks for.
if want equal; then
  references=()
  for t in $uniform_types; do [ -f "$out/$t.gguf" ] && references+=("$t=$out/$t.gguf"); done
  [ -f "$llama_q4km" ] && references+=("llama.cpp Q4_K_M=$llama_q4km")
  for ref in "${references[@]}"; do
    name=${ref%%=*}; file=${ref#*=}
    size=$(stat -c %s "$file")
    tag=$(echo "$name" | tr ' .' '__')
    quantize "$out/nash-size-$tag.gguf" --target-size "$size" --calib "$calib"
    measure "nash at size of $name" equal-size "$out/nash-size-$tag.gguf"
  done
fi

if want prune; then
  for s in 0.1 0.3 0.5; do
    for method in magnitude wanda nash; do
      dest="$out/prune-$method-$s.gguf"
      echo "results: prune $method $s" >&2
      calib_args=()
      [ "$method" = magnitude ] || calib_args=(--calib "$calib")
      "$B" -q prune "$model" "$dest" --sparsity "$s" --method "$method" --structured ffn "${calib_args[@]}" \
        --json > "$dest.json"
      measure "prune $method $s" prune "$dest"
    done
  done
fi

if want presets; then
  for p in low balanced high; do
    quantize "$out/preset-$p.gguf" --preset "$p" --calib "$calib"
    measure "preset $p" preset "$out/preset-$p.gguf"
  done
fi

printf '%s\n' "${rows[@]}" | jq -s --arg model "$model" --arg calib "$calib" --arg eval "$evaltext" \
  --argjson ctx "$ctx" --argjson params "$parameters" \
  '{model: $model, calibration: $calib, evaluation: $eval, ctx: $ctx, parameters: $params, variants: .}' \
  > "$out/results.json"

jq -r '
  (.variants[0].perplexity) as $f32 |
  "| variant | file bytes | bits/weight | perplexity | vs F32 | tg64 tok/s (1 thread) |",
  "|---|---:|---:|---:|---:|---:|",
  (.variants[] | "| \(.name) | \(.file_bytes) | \(.bpw * 100 | round / 100) | \(.perplexity * 10000 | round / 10000) | \(((.perplexity / $f32 - 1) * 10000 | round) / 100)% | \(.tg_tok_per_s | round) |")
' "$out/results.json"
echo "results: $out/results.json" >&2
