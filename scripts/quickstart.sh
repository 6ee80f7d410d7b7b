#!/usr/bin/env bash
# The main job on a fresh machine: install, build, fetch the default model and run it.
# Arguments are passed to `dilmodeli run` (default prompt: "Once upon a time").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/get-model.sh
binary=build/apps/dilmodeli/dilmodeli
if "$binary" --help 2>/dev/null | grep -q "^  run"; then
  if [ $# -eq 0 ]; then set -- -p "Once upon a time"; fi
  "$binary" run -m models/default.gguf "$@"
else
  "$binary" inspect models/default.gguf "$@"
fi
