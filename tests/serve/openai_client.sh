#!/usr/bin/env bash
# Runs tests/serve/openai_client.mjs with OpenAI's official npm package (installed once into
# NODE_DIR from npm) against `dilmodeli serve` on a free loopback port. The server stops itself
# after the requests the script makes (--max-requests), or at the latest when this script exits.
#   openai_client.sh DILMODELI_BINARY MODEL NODE_DIR
set -euo pipefail
binary=$1 model=$2 node_dir=$3
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  bash "$here/../../scripts/install-packages.sh" nodejs npm >&2
fi
if [ ! -f "$node_dir/node_modules/openai/package.json" ]; then
  mkdir -p "$node_dir"
  (cd "$node_dir" && npm install --no-audit --no-fund --silent openai@4.104.0 >&2)
fi
cp "$here/openai_client.mjs" "$node_dir/"

log=$(mktemp)
# Requests: models, chat, streamed chat, completion, the bad one and the unauthorised one.
"$binary" serve -m "$model" --port 0 --parallel 2 --ctx 128 --chat-template chatml --api-key test-key \
  --alias tiny --max-requests 6 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q 'listening on' "$log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$log")
for _ in $(seq 100); do curl -sf "$url/health" >/dev/null && break; sleep 0.1; done
node "$node_dir/openai_client.mjs" "$url/v1" test-key tiny
wait $pid  # the sixth request ends it, exit 0
