#!/usr/bin/env bash
# TTFB p99 of the list pages with the demo firm plus 100,000 tickets (SQLite, debug build
# unless OKNO_BIN says otherwise): 200 requests per page, one at a time.
set -euo pipefail
bin="${OKNO_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/okno-target}/debug/okno}"
work="$(mktemp -d)"
start() {
  "$bin" serve --demo --data "$work/data" --listen 127.0.0.1:0 >"$work/log" 2>&1 &
  server=$!
  for _ in $(seq 1 300); do
    url="$(sed -n 's|^Okno is running at \(http://[^/]*\)/$|\1|p' "$work/log" | tail -n 1)"
    [ -n "$url" ] && curl -fsS "$url/healthz" >/dev/null 2>&1 && return
    sleep 0.2
  done
}
start; kill $server; wait $server 2>/dev/null || true
sqlite3 "$work/data/okno.db" <<'SQL'
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO tickets (service, subject, description, status, client_id, requester_id, created_at, updated_at)
SELECT 'question', 'Нагрузочное обращение ' || i, 'Описание',
       CASE i % 5 WHEN 0 THEN 'new' WHEN 1 THEN 'in_progress' WHEN 2 THEN 'waiting_client' WHEN 3 THEN 'resolved' ELSE 'closed' END,
       (SELECT id FROM clients WHERE code = CASE i % 2 WHEN 0 THEN 'ALFA' ELSE 'BETA' END),
       (SELECT id FROM users WHERE email = CASE i % 2 WHEN 0 THEN 'client@alfa.demo' ELSE 'client@beta.demo' END),
       CAST(strftime('%s', 'now') AS INTEGER) * 1000 - i * 60000,
       CAST(strftime('%s', 'now') AS INTEGER) * 1000 - i * 60000
FROM n;
SQL
echo "tickets $(sqlite3 "$work/data/okno.db" 'SELECT count(*) FROM tickets')"
start
trap 'kill $server; wait $server 2>/dev/null; rm -rf "$work"' EXIT
login() {
  local jar="$work/$1.jar" token
  token=$(curl -s -c "$jar" "$url/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
  curl -s -b "$jar" -c "$jar" -H "Origin: $url" -o /dev/null --data-urlencode "email=$1" --data-urlencode "password=demo" --data-urlencode "csrf=$token" "$url/login"
  echo "$jar"
}
p99() {
  local jar=$1 path=$2
  for _ in $(seq 1 200); do
    curl -s -o /dev/null -w '%{time_starttransfer}\n' -b "$jar" "$url$path"
  done | sort -n | sed -n '198p' | awk -v p="$path" -v w="$3" '{printf "figure ttfb_p99 %s %.1f ms (%s)\n", p, $1 * 1000, w}'
}
staff=$(login line1@demo.okno)
client=$(login client@alfa.demo)
manager=$(login manager@demo.okno)
cursor=$(curl -s -b "$staff" "$url/?status=closed" | sed -n 's/.*cursor=\([0-9]*\).*/\1/p' | head -1)
for path in "/" "/?status=new" "/?status=in_progress" "/?status=closed" "/?status=closed&cursor=$cursor" "/desk" "/search?q=%D1%81%D1%87%D1%91%D1%82"; do
  p99 "$staff" "$path" line1
done
for path in "/" "/?status=resolved"; do p99 "$client" "$path" client; done
p99 "$manager" "/manager" manager
