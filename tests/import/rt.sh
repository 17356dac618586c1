#!/usr/bin/env bash
# Request Tracker 5 from Debian's packages (`request-tracker5`, `rt5-db-sqlite`) on a copy
# of the packaged SQLite database, served by `rt-server` on a loopback port with a site
# configuration of its own; a REST2 token made through RT's own API (RT::AuthToken); a
# prepared data set made through REST2 (Cyrillic subjects, requestors with and without an
# email, internal comments with time taken, replies with files, resolved tickets); then
# `okno import from-rt` with --plan, --dry-run, the import, a re-run, and checks.
# Prints `figure …` lines: tickets per second and both sides' CPU seconds.
#
# Usage: rt.sh WORKDIR OKNO_BINARY [TICKETS]
set -euo pipefail
work=$1
okno=$2
tickets=${3:-60}
port=${RT_PORT:-8095}
url="http://127.0.0.1:$port"
base="$url/REST/2.0"
lib=/usr/share/request-tracker5/lib

mkdir -p "$work/RT_SiteConfig.d"
cp /var/lib/dbconfig-common/sqlite3/request-tracker5/rtdb "$work/rtdb"
cat > "$work/RT_SiteConfig.pm" <<EOF
Set(\$rtname, 'okno-import-test');
Set(\$Organization, 'okno-import-test');
Set(\$DatabaseType, 'SQLite');
Set(\$DatabaseName, '$work/rtdb');
Set(\$WebPath, '');
Set(\$WebDomain, '127.0.0.1');
Set(\$WebPort, $port);
Set(\$WebBaseURL, '$url');
Set(\$RestrictReferrer, 0);
Set(\$LogToSTDERR, 'error');
Set(\$Timezone, 'UTC');
Set(\$MailCommand, 'testfile');
1;
EOF
export RT_SITE_CONFIG="$work/RT_SiteConfig.pm" RT_SITE_CONFIG_DIR="$work/RT_SiteConfig.d"
token=$(perl -I"$lib" -e '
  use RT; RT::LoadConfig(); RT::Init();
  my $root = RT::User->new(RT->SystemUser); $root->Load("root");
  my ($ok, $msg, $auth) = RT::AuthToken->new(RT->SystemUser)->Create(Owner => $root->Id, Description => "okno import");
  die "token: $msg\n" unless $ok;
  print $auth;')
setsid /usr/share/request-tracker5/libexec/rt-server --port "$port" > "$work/server.log" 2>&1 &
server=$!
trap 'kill -- -"$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  curl -fs -o /dev/null -H "Authorization: token $token" "$base/queues/all" && break
  sleep 1
done
echo "rt: preparing $tickets tickets through REST2"
api() { # METHOD PATH [JSON]
  curl -fsS -X "$1" -H "Authorization: token $token" -H 'Content-Type: application/json' \
    ${3:+--data-binary "$3"} "$base$2"
}
json() { python3 -c "import json,sys; print(eval('json.load(sys.stdin)' + sys.argv[1]))" "$1"; }
api POST /user '{"Name":"ivan@romashka.example","EmailAddress":"ivan@romashka.example","RealName":"Иван Клиентов","Organization":"ООО Ромашка"}' > /dev/null
api POST /user '{"Name":"petr-nomail","RealName":"Пётр Безпочтов"}' > /dev/null
head -c 20000 /dev/urandom > "$work/скриншот.png"
for n in $(seq 1 "$tickets"); do
  requestor=ivan@romashka.example
  if (( n % 10 == 0 )); then requestor=petr-nomail; fi
  id=$(api POST /ticket "{\"Queue\":\"General\",\"Subject\":\"Не проводится документ №$n\",\"Requestor\":\"$requestor\",\"Content\":\"При проведении ошибка, случай $n\",\"ContentType\":\"text/plain\"}" | json '["id"]')
  api POST "/ticket/$id/comment" '{"Content":"Внутреннее: проверить регистр накоплений","ContentType":"text/plain","TimeTaken":"30"}' > /dev/null
  curl -fsS -X POST -H "Authorization: token $token" "$base/ticket/$id/correspond" \
    -F 'JSON={"Content":"Пришлите, пожалуйста, снимок экрана с ошибкой.","ContentType":"text/plain"};type=application/json' \
    -F "Attachments=@$work/скриншот.png;type=image/png" > /dev/null
  if (( n % 2 == 0 )); then
    api PUT "/ticket/$id" '{"Status":"resolved"}' > /dev/null
  fi
done

data="$work/okno"
echo "okno: plan, dry run, import"
"$okno" import from-rt "$url" --token "$token" --data "$data" --plan "$work/plan.toml"
grep -q '"org:ООО Ромашка"' "$work/plan.toml"
"$okno" import from-rt "$url" --token "$token" --data "$data" --plan "$work/plan.toml" --dry-run | tee "$work/dry.txt"
grep -q "would create: 2 clients, .* $tickets tickets" "$work/dry.txt"

# The server's CPU: the prefork server and its workers (one process group).
cpu() { ps -o times= -g "$server" | awk '{s += $1} END {print s}'; }
before=$(cpu)
start=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$work/okno.time" \
  "$okno" import from-rt "$url" --token "$token" --data "$data" --plan "$work/plan.toml" | tee "$work/import.txt"
end=$(date +%s.%N)
after=$(cpu)
grep -q "created: 2 clients, .* $tickets tickets" "$work/import.txt"
grep -q "note: user petr-nomail «Пётр Безпочтов» has no email" "$work/import.txt"
"$okno" import from-rt "$url" --token "$token" --data "$data" --plan "$work/plan.toml" | tee "$work/again.txt"
grep -q "unchanged: $tickets tickets" "$work/again.txt"

db="$data/okno.db"
q() { sqlite3 "$db" "$1"; }
check() {
  if [[ "$2" != "$3" ]]; then echo "FAIL: $1: expected $2, got $3"; exit 1; fi
  echo "ok: $1 ($3)"
}
check "tickets" "$tickets" "$(q "SELECT COUNT(*) FROM tickets")"
check "Cyrillic subject kept" "Не проводится документ №1" "$(q "SELECT subject FROM tickets t JOIN import_links l ON l.ticket_id = t.id AND l.kind = 'ticket' WHERE l.label = 'RT #1'")"
check "description from the Create transaction" "При проведении ошибка, случай 1" "$(q "SELECT description FROM tickets t JOIN import_links l ON l.ticket_id = t.id AND l.kind = 'ticket' WHERE l.label = 'RT #1'")"
check "comments internal" "$tickets" "$(q "SELECT COUNT(*) FROM comments WHERE internal AND body LIKE 'Внутреннее%'")"
check "replies public" "$tickets" "$(q "SELECT COUNT(*) FROM comments WHERE NOT internal")"
check "files on replies" "$tickets" "$(q "SELECT COUNT(*) FROM attachments a JOIN comments c ON c.id = a.comment_id WHERE NOT c.internal AND a.size = 20000")"
check "time taken (30 min each)" "$((tickets * 1800))" "$(q "SELECT SUM((stopped_at - started_at) / 1000) FROM time_entries")"
check "resolved tickets" "$((tickets / 2))" "$(q "SELECT COUNT(*) FROM tickets WHERE status = 'resolved'")"
check "contact without email" "1" "$(q "SELECT COUNT(*) FROM users WHERE email = 'rt-petr-nomail@import.invalid'")"

ticks=$(getconf CLK_TCK)
seconds=$(echo "$end - $start" | bc -l)
read -r okno_user okno_sys < "$work/okno.time"
printf 'figure rt_import_tickets_per_s %.1f 1/s\n' "$(echo "$tickets / $seconds" | bc -l)"
printf 'figure rt_import_source_cpu_s %.2f s\n' "$(echo "$after - $before" | bc -l)"
printf 'figure rt_import_okno_cpu_s %.2f s\n' "$(echo "$okno_user + $okno_sys" | bc -l)"
printf 'figure rt_import_wall_s %.2f s\n' "$seconds"
