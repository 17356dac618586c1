#!/usr/bin/env bash
# Browser suite: builds okno, serves the demo firm on a free port with a throwaway data
# directory, runs the Playwright tests (node's test runner, Debian's chromium), stops it.
# Usage: bash tests/e2e/run.sh [extra node --test arguments]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/okno-target}"
export OKNO_CHROMIUM="${OKNO_CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$OKNO_CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
  else
    echo "chromium is missing: sudo apt-get install -y chromium" >&2
    exit 1
  fi
fi

(cd "$root" && cargo build -p okno)
okno="$CARGO_TARGET_DIR/debug/okno"

if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi

work="$(mktemp -d)"
log="$work/serve.log"
"$okno" serve --demo --data "$work/data" --listen 127.0.0.1:0 >"$log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

url=""
for _ in $(seq 1 300); do
  if ! kill -0 "$server" 2>/dev/null; then
    echo "okno serve exited:" >&2
    cat "$log" >&2
    exit 1
  fi
  url="$(sed -n 's|^Okno is running at \(http://[^/]*\)/$|\1|p' "$log" | head -n 1)"
  if [ -n "$url" ] && curl -fsS "$url/healthz" >/dev/null 2>&1; then
    break
  fi
  url=""
  sleep 0.2
done
if [ -z "$url" ]; then
  echo "okno did not become healthy in 60 s:" >&2
  cat "$log" >&2
  exit 1
fi

echo "okno serving the demo firm at $url"
cd "$here"
OKNO_URL="$url" node --test --test-concurrency=1 "$@" ./*.test.mjs
