#!/usr/bin/env bash
# Imports from the real systems (issue 23): Redmine and Request Tracker 5 from Debian's
# packages, each started here on a loopback port with a data set of its own, then
# `okno import from-redmine|from-rt` and checks of what arrived (tests/import/redmine.sh,
# tests/import/rt.sh). Installs the packages when missing; when they cannot be installed,
# says that step is skipped and why, and goes on (exit 0). Znuny has no Debian package:
# its importer is tested against recorded GenericInterface answers in `cargo test`.
#
# IMPORT_TICKETS sets the data set's size (default 60); the `figure` lines are the
# measurements for docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
tickets=${IMPORT_TICKETS:-60}
target=${CARGO_TARGET_DIR:-target}
cargo build --locked --bin okno
okno="$(pwd)/$target/debug/okno"
[[ "$target" = /* ]] && okno="$target/debug/okno"

have() { dpkg-query -W -f='${Status}' "$@" 2>/dev/null | grep -c "install ok installed" | grep -qx "$#"; }
install() { # PACKAGE...
  have "$@" && return 0
  if ! command -v apt-get > /dev/null; then
    echo "SKIPPED: $* not installed and there is no apt-get"; return 1
  fi
  for _ in 1 2 3 4 5; do
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" > /tmp/okno-import-apt.log 2>&1 && return 0
    sleep 10 # another install may hold the dpkg lock
  done
  echo "SKIPPED: cannot install $* (see /tmp/okno-import-apt.log)"; return 1
}

status=0
if install redmine redmine-sqlite sqlite3 bc time; then
  dir=$(mktemp -d /tmp/okno-import-redmine.XXXXXX)
  echo "== Redmine ($dir)"
  bash tests/import/redmine.sh "$dir" "$okno" "$tickets" || status=1
else
  echo "SKIPPED: the Redmine import test (packages unavailable)"
fi
if install request-tracker5 rt5-db-sqlite sqlite3 bc time; then
  dir=$(mktemp -d /tmp/okno-import-rt.XXXXXX)
  echo "== Request Tracker ($dir)"
  bash tests/import/rt.sh "$dir" "$okno" "$tickets" || status=1
else
  echo "SKIPPED: the Request Tracker import test (packages unavailable)"
fi
exit $status
