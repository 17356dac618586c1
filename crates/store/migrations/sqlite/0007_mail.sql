-- The email channel (issue 7). The PostgreSQL migration of the same number mirrors this one
-- column for column.

-- Every message in and out that belongs to a ticket, by Message-ID: threading looks replies
-- up here, a message taken in twice is recognised, the per-sender rate limit counts here.
CREATE TABLE mail_messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    direction    TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    -- The Message-ID without brackets; for inbound mail without one, `sha256:<raw hash>`.
    message_id   TEXT NOT NULL,
    ticket_id    INTEGER REFERENCES tickets (id) ON DELETE CASCADE,
    address      TEXT NOT NULL,
    subject      TEXT NOT NULL,
    -- The raw message under the data directory's files (inbound only).
    raw_sha256   TEXT,
    outbox_id    INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX mail_messages_id ON mail_messages (message_id, direction);
CREATE INDEX mail_messages_address ON mail_messages (address, created_at);
CREATE INDEX mail_messages_ticket ON mail_messages (ticket_id, id);

-- Messages that could not be parsed or stored, kept raw with the reason, for the admin.
CREATE TABLE mail_quarantine (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox      TEXT NOT NULL,
    reason       TEXT NOT NULL,
    sender       TEXT,
    subject      TEXT,
    raw          BLOB NOT NULL,
    received_at  INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    resolved_at  INTEGER,
    resolution   TEXT
);
CREATE INDEX mail_quarantine_open ON mail_quarantine (resolved_at, id);

-- Line 4: vendors' support addresses.
CREATE TABLE vendors (
    code           TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    support_email  TEXT NOT NULL UNIQUE
);

-- The vendor a ticket was handed to (its replies come back as internal comments).
CREATE TABLE ticket_vendors (
    ticket_id    INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    vendor_code  TEXT NOT NULL REFERENCES vendors (code),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, vendor_code)
);

-- Outbox delivery: a worker leases a row while sending; the idempotency key keeps one row
-- per event however often the event is reported.
ALTER TABLE outbox ADD COLUMN locked_until INTEGER;
ALTER TABLE outbox ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX outbox_idempotency ON outbox (idempotency_key);

-- Crash recovery: a ticket created from a mail carries a `mail_in` history event with the
-- message's key, written in the ticket's own transaction.
CREATE INDEX history_mail_in ON history (after) WHERE kind = 'mail_in';
