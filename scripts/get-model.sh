#!/usr/bin/env bash
# Puts the default model at models/default.gguf: Karpathy's stories260K (a real, tiny llama).
# Copied from ../shared/models when that exists; otherwise the llama2.c checkpoint and its
# tokenizer are downloaded from their public source and converted with `dilmodeli import`.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p models
target=models/default.gguf
[ -f "$target" ] && { echo "get-model: $target already present" >&2; exit 0; }

shared=../shared/models/stories260K/stories260K.gguf
if [ -f "$shared" ]; then
  cp "$shared" "$target.tmp" && mv "$target.tmp" "$target"
  echo "get-model: copied $shared to $target" >&2
  exit 0
fi

binary=${DILMODELI:-build/apps/dilmodeli/dilmodeli}
[ -x "$binary" ] || bash scripts/setup.sh
base=https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "get-model: downloading stories260K from $base" >&2
curl -fsSL -o "$tmp/stories260K.bin" "$base/stories260K.bin"
curl -fsSL -o "$tmp/tok512.bin" "$base/tok512.bin"
"$binary" import llama2c "$tmp/stories260K.bin" --tokenizer "$tmp/tok512.bin" -o "$target" --name stories260K
