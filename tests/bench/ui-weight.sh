#!/usr/bin/env bash
# First-load weight (gzip) of each page as each role: HTML + okno.css + okno.js + htmx.
set -euo pipefail
work="$(mktemp -d)"
"${OKNO_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/okno-target}/debug/okno}" serve --demo --data "$work/data" --listen 127.0.0.1:0 >"$work/log" 2>&1 &
server=$!
trap 'kill $server; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do
  url="$(sed -n 's|^Okno is running at \(http://[^/]*\)/$|\1|p' "$work/log" | head -n 1)"
  [ -n "$url" ] && curl -fsS "$url/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
size() { curl -s -o /dev/null -w '%{size_download}' -H 'Accept-Encoding: gzip' -b "$1" "$url$2"; }
assets=0
for a in /static/okno.css /static/okno.js /static/htmx.min.js; do assets=$((assets + $(size "" $a))); done
echo "assets_gzip $assets"
for who in client@alfa.demo line1@demo.okno manager@demo.okno admin@demo.okno; do
  jar="$work/$who.jar"
  token=$(curl -s -c "$jar" "$url/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
  curl -s -b "$jar" -c "$jar" -H "Origin: $url" -o /dev/null --data-urlencode "email=$who" --data-urlencode "password=demo" --data-urlencode "csrf=$token" "$url/login"
  for p in / /desk /manager /admin /kb /profile "/search?q=%D1%81%D1%87%D1%91%D1%82"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" "$url$p")
    [ "$code" = 200 ] || continue
    html=$(size "$jar" "$p")
    echo "first_load $who $p $((html + assets))"
  done
done
