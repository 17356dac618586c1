#!/usr/bin/env bash
# The email channel against real servers: starts Dovecot and Postfix on loopback
# (tests/mail/servers.sh) in a fresh directory, runs the tests that need them (ignored by
# plain `cargo test`), and stops the servers whatever happens:
# - okno-desk's mail_servers: the poller, the outbox sender and a failing store;
# - okno's mail_serve: `okno serve` running the mail loop by itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=$(mktemp -d /tmp/okno-mail-servers.XXXXXX)
trap 'bash tests/mail/servers.sh stop "$dir"; rm -rf "$dir"' EXIT
bash tests/mail/servers.sh start "$dir"
cargo test --workspace --locked --test it -- --ignored mail_servers:: mail_serve::
