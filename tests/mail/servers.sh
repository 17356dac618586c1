#!/usr/bin/env bash
# Real mail servers for the email channel's tests, on loopback, in a directory of their own:
# Dovecot (IMAP on 127.0.0.1:10143, plain; LMTP on a socket) and Postfix (SMTP on
# 127.0.0.1:10025) delivering every accepted message into Dovecot mailboxes. Installs the
# Debian packages when missing, without configuring the system's own instances.
#
#   tests/mail/servers.sh start DIR   # idempotent: restarts what runs under DIR
#   tests/mail/servers.sh stop DIR
# Every mailbox user has the password `test`; any address @okno.test, @alfa.demo,
# @1c.test or @unknown.test is a mailbox.
set -euo pipefail
action=${1:?start or stop}
dir=$(realpath -m "${2:?a directory}")
IMAP_PORT=${OKNO_TEST_IMAP_PORT:-10143}
SMTP_PORT=${OKNO_TEST_SMTP_PORT:-10025}
DOMAINS="okno.test alfa.demo 1c.test unknown.test"

stop() {
    if [ -f "$dir/dovecot/dovecot.conf" ]; then
        doveadm -c "$dir/dovecot/dovecot.conf" stop 2>/dev/null || true
    fi
    if [ -f "$dir/postfix/main.cf" ]; then
        postfix -c "$dir/postfix" stop 2>/dev/null || true
    fi
}

if [ "$action" = stop ]; then
    stop
    exit 0
fi

if ! command -v dovecot >/dev/null || ! command -v postfix >/dev/null; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dovecot-imapd dovecot-lmtpd postfix >/dev/null
fi
if ! command -v /usr/lib/dovecot/lmtp >/dev/null 2>&1 && [ ! -x /usr/lib/dovecot/lmtp ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dovecot-lmtpd >/dev/null
fi
id oknomail >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin oknomail

stop
mkdir -p "$dir/dovecot" "$dir/mail" "$dir/run" "$dir/postfix"
chown oknomail: "$dir/mail"
chmod 755 "$dir" "$dir/run"

cat > "$dir/dovecot/dovecot.conf" <<CONF
base_dir = $dir/run
state_dir = $dir/run/state
log_path = $dir/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$dir/mail/%u
first_valid_uid = 1
passdb {
  driver = static
  args = password=test
}
userdb {
  driver = static
  args = uid=oknomail gid=oknomail home=$dir/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
protocol lmtp {
  postmaster_address = postmaster@okno.test
}
CONF
mkdir -p "$dir/run/state"
dovecot -c "$dir/dovecot/dovecot.conf"

pf="$dir/postfix"
mkdir -p "$pf/queue" "$pf/data"
chown postfix: "$pf/data"
cp /etc/postfix/master.cf.proto "$pf/master.cf" 2>/dev/null || cp /usr/share/postfix/master.cf.dist "$pf/master.cf"
sed -i "s/^smtp      inet  n       -       y       -       -       smtpd/127.0.0.1:$SMTP_PORT inet n - n - - smtpd/" "$pf/master.cf"
sed -i 's/^\(\S\+\s\+\S\+\s\+\S\+\s\+\S\+\s\+\)y\(\s\)/\1n\2/' "$pf/master.cf"
cat > "$pf/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.okno.test
mydomain = okno.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
virtual_mailbox_domains = $DOMAINS
virtual_transport = lmtp:unix:$dir/run/lmtp
maillog_file = $dir/postfix.log
maillog_file_prefixes = $dir
smtputf8_enable = yes
biff = no
CONF
postfix -c "$pf" check >/dev/null 2>&1 || true
postfix -c "$pf" start >/dev/null 2>&1
for _ in $(seq 1 50); do
    if (exec 3<>/dev/tcp/127.0.0.1/$SMTP_PORT) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/$IMAP_PORT) 2>/dev/null; then
        echo "mail servers up: IMAP 127.0.0.1:$IMAP_PORT, SMTP 127.0.0.1:$SMTP_PORT (logs in $dir)"
        exit 0
    fi
    sleep 0.2
done
echo "mail servers did not start; see $dir/dovecot.log and $dir/postfix.log" >&2
exit 1
