#!/usr/bin/env bash
# Redmine from Debian's packages (`redmine`, `redmine-sqlite`) on a fresh SQLite database
# of its own, served by WEBrick on a loopback port; a prepared data set made through its
# REST API (Cyrillic subjects, attachments, private notes, status changes, time entries,
# a user with no email); then `okno import from-redmine` with --plan, --dry-run, the
# import, a re-run, and checks of what arrived. Prints `figure …` lines: tickets per
# second and both sides' CPU seconds.
#
# Usage: redmine.sh WORKDIR OKNO_BINARY [TICKETS]
set -euo pipefail
work=$1
okno=$2
tickets=${3:-60}
port=${REDMINE_PORT:-3197}
url="http://127.0.0.1:$port"
root=/usr/share/redmine

mkdir -p "$work/gems"
# WEBrick is not in Redmine's Gemfile: a Gemfile of our own adds it.
printf 'eval_gemfile "%s/Gemfile"\ngem "webrick"\n' "$root" > "$work/gems/Gemfile"
export BUNDLE_GEMFILE="$work/gems/Gemfile" RAILS_ENV=production
export DATABASE_URL="sqlite3:$work/redmine.sqlite3"
export REDMINE_LANG=ru

cd "$root"
echo "redmine: creating its database in $work"
bundle exec rake db:migrate > "$work/migrate.log" 2>&1
bundle exec rake redmine:load_default_data > "$work/defaults.log" 2>&1
# The REST API on, the administrator's key, and a user with no email (the API refuses
# one, an old system's row has none).
key=$(bundle exec rails runner '
  Setting.rest_api_enabled = "1"
  admin = User.find_by_login("admin")
  admin.update_columns(must_change_passwd: false)
  u = User.new(firstname: "Пётр", lastname: "Безпочтов", status: User::STATUS_ACTIVE)
  u.login = "nomail"
  u.save(validate: false)
  puts admin.api_key
' 2> "$work/runner.log" | tail -1)
bundle exec rails server -u webrick -p "$port" -b 127.0.0.1 -P "$work/redmine.pid" > "$work/server.log" 2>&1 &
for _ in $(seq 1 120); do
  curl -fs -o /dev/null "$url/" && break
  sleep 1
done
curl -fs -o /dev/null "$url/" || { echo "redmine did not start: see $work/server.log"; exit 1; }
cd - > /dev/null
pid=$(cat "$work/redmine.pid")
trap 'kill "$pid" 2>/dev/null || true' EXIT

api() { # METHOD PATH [JSON] [--switch LOGIN]
  local method=$1 path=$2 body=${3:-}
  shift 3 || true
  local extra=()
  if [[ ${1:-} == --switch ]]; then extra=(-H "X-Redmine-Switch-User: $2"); fi
  curl -fsS -X "$method" -H "X-Redmine-API-Key: $key" -H 'Content-Type: application/json' \
    "${extra[@]}" ${body:+--data-binary "$body"} "$url$path"
}
json() { python3 -c "import json,sys; print(eval('json.load(sys.stdin)' + sys.argv[1]))" "$1"; }

echo "redmine: preparing $tickets issues through the API"
trackers=$(api GET /trackers.json | python3 -c "import json,sys; print(json.dumps([t['id'] for t in json.load(sys.stdin)['trackers']]))")
project=$(api POST /projects.json "{\"project\":{\"name\":\"ООО Ромашка\",\"identifier\":\"romashka\",\"is_public\":true,\"tracker_ids\":$trackers,\"enabled_module_names\":[\"issue_tracking\",\"time_tracking\"]}}" | json '["project"]["id"]')
client=$(api POST /users.json '{"user":{"login":"ivan","firstname":"Иван","lastname":"Клиентов","mail":"ivan@romashka.example","password":"secret-123456"}}' | json '["user"]["id"]')
nomail=$(sqlite3 "$work/redmine.sqlite3" "SELECT id FROM users WHERE login = 'nomail'")
role=$(api GET /roles.json | json '["roles"][0]["id"]')
api POST "/projects/$project/memberships.json" "{\"membership\":{\"user_id\":$client,\"role_ids\":[$role]}}" > /dev/null
api POST "/projects/$project/memberships.json" "{\"membership\":{\"user_id\":$nomail,\"role_ids\":[$role]}}" > /dev/null
activity=$(api GET /enumerations/time_entry_activities.json | json '["time_entry_activities"][0]["id"]')
statuses=$(api GET /issue_statuses.json)
status_of() { echo "$statuses" | python3 -c "import json,sys; print([s['id'] for s in json.load(sys.stdin)['issue_statuses'] if s['name']==sys.argv[1]][0])" "$1"; }
in_work=$(status_of "В работе")
closed=$(status_of "Закрыта")
head -c 20000 /dev/urandom > "$work/screen.png"
printf 'Лог ошибки: стек вызовов\n' > "$work/trace.txt"
upload() { curl -fsS -X POST -H "X-Redmine-API-Key: $key" -H 'Content-Type: application/octet-stream' \
  --data-binary "@$1" "$url/uploads.json?filename=$(basename "$1")" | json '["upload"]["token"]'; }
for n in $(seq 1 "$tickets"); do
  author=ivan
  if (( n % 10 == 0 )); then author=nomail; fi
  token=$(upload "$work/screen.png")
  id=$(api POST /issues.json "{\"issue\":{\"project_id\":$project,\"subject\":\"Ошибка печати счёта №$n\",\"description\":\"Не печатается счёт, 1С 8.3, случай $n\",\"uploads\":[{\"token\":\"$token\",\"filename\":\"скриншот-$n.png\",\"content_type\":\"image/png\"}]}}" --switch "$author" | json '["issue"]["id"]')
  api PUT "/issues/$id.json" "{\"issue\":{\"notes\":\"Здравствуйте! Пришлите, пожалуйста, версию платформы.\",\"status_id\":$in_work}}" > /dev/null
  token=$(upload "$work/trace.txt")
  api PUT "/issues/$id.json" "{\"issue\":{\"notes\":\"Внутреннее: ошибка в модуле печати\",\"private_notes\":true,\"uploads\":[{\"token\":\"$token\",\"filename\":\"trace.txt\",\"content_type\":\"text/plain\"}]}}" > /dev/null
  api POST /time_entries.json "{\"time_entry\":{\"issue_id\":$id,\"hours\":1.25,\"activity_id\":$activity,\"comments\":\"Разбор\"}}" > /dev/null
  if (( n % 2 == 0 )); then
    api PUT "/issues/$id.json" "{\"issue\":{\"notes\":\"Исправлено, проверьте.\",\"status_id\":$closed}}" > /dev/null
  fi
done

data="$work/okno"
echo "okno: plan, dry run, import"
"$okno" import from-redmine "$url" --key "$key" --data "$data" --plan "$work/plan.toml"
grep -q '"project:romashka"' "$work/plan.toml"
"$okno" import from-redmine "$url" --key "$key" --data "$data" --plan "$work/plan.toml" --dry-run | tee "$work/dry.txt"
grep -q "would create: 1 clients, .* $tickets tickets" "$work/dry.txt"

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks=$(getconf CLK_TCK)
redmine_before=$(cpu "$pid")
start=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$work/okno.time" \
  "$okno" import from-redmine "$url" --key "$key" --data "$data" --plan "$work/plan.toml" | tee "$work/import.txt"
end=$(date +%s.%N)
redmine_after=$(cpu "$pid")
grep -q "created: 1 clients, .* $tickets tickets" "$work/import.txt"
grep -q "note: user $nomail «Пётр Безпочтов» has no email" "$work/import.txt"

"$okno" import from-redmine "$url" --key "$key" --data "$data" --plan "$work/plan.toml" | tee "$work/again.txt"
grep -q "unchanged: $tickets tickets" "$work/again.txt"
grep -q "created: 0 clients, 0 staff, 0 contacts, 0 tickets" "$work/again.txt"

db="$data/okno.db"
q() { sqlite3 "$db" "$1"; }
check() { # WHAT EXPECTED ACTUAL
  if [[ "$2" != "$3" ]]; then echo "FAIL: $1: expected $2, got $3"; exit 1; fi
  echo "ok: $1 ($3)"
}
check "tickets" "$tickets" "$(q "SELECT COUNT(*) FROM tickets")"
check "Cyrillic subject kept" "Ошибка печати счёта №1" "$(q "SELECT subject FROM tickets t JOIN import_links l ON l.ticket_id = t.id AND l.kind = 'ticket' WHERE l.label = 'Redmine #1'")"
check "private notes internal" "$tickets" "$(q "SELECT COUNT(*) FROM comments WHERE internal AND body LIKE 'Внутреннее%'")"
check "public replies" "$((tickets + tickets / 2))" "$(q "SELECT COUNT(*) FROM comments WHERE NOT internal")"
check "files" "$((2 * tickets))" "$(q "SELECT COUNT(*) FROM attachments")"
# Redmine records a file added with a private note in a public journal of its own (the
# note is split off): the file is as visible there as here.
check "files on the ticket, as visible as in Redmine" "$((2 * tickets))" "$(q "SELECT COUNT(*) FROM attachments WHERE comment_id IS NULL")"
check "time entries (1.25 h each)" "$((tickets * 4500))" "$(q "SELECT SUM((stopped_at - started_at) / 1000) FROM time_entries")"
check "closed tickets" "$((tickets / 2))" "$(q "SELECT COUNT(*) FROM tickets WHERE status = 'closed'")"
check "review tasks of open tickets" "$((tickets - tickets / 2))" "$(q "SELECT COUNT(*) FROM tasks WHERE kind = 'review' AND state = 'open'")"
check "original dates kept" "0" "$(q "SELECT COUNT(*) FROM tickets t JOIN history h ON h.ticket_id = t.id AND h.kind = 'created' WHERE h.at <> t.created_at")"
check "contact without email" "1" "$(q "SELECT COUNT(*) FROM users WHERE email LIKE 'redmine-%@import.invalid'")"

seconds=$(echo "$end - $start" | bc -l)
read -r okno_user okno_sys < "$work/okno.time"
printf 'figure redmine_import_tickets_per_s %.1f 1/s\n' "$(echo "$tickets / $seconds" | bc -l)"
printf 'figure redmine_import_source_cpu_s %.2f s\n' "$(echo "($redmine_after - $redmine_before) / $ticks" | bc -l)"
printf 'figure redmine_import_okno_cpu_s %.2f s\n' "$(echo "$okno_user + $okno_sys" | bc -l)"
printf 'figure redmine_import_wall_s %.2f s\n' "$seconds"
