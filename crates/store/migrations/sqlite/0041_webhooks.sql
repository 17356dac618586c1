-- Outgoing webhooks (issue 20). A subscription lists the event codes it wants; its secret
-- signs each delivery (HMAC-SHA256, kept as given: the desk must sign with it).
CREATE TABLE webhooks (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    url              TEXT NOT NULL,
    events           TEXT NOT NULL,
    secret           TEXT NOT NULL,
    created_by       INTEGER NOT NULL REFERENCES users (id),
    created_at       INTEGER NOT NULL,
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    -- Failed deliveries in a row; past the limit the subscription is disabled.
    failures         INTEGER NOT NULL DEFAULT 0,
    disabled_at      INTEGER,
    deleted_at       INTEGER
);

-- One event for one subscription: its body is fixed when it is made, so every attempt
-- sends (and signs) the same bytes.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id       INTEGER NOT NULL REFERENCES webhooks (id),
    event            TEXT NOT NULL,
    body             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    locked_until     INTEGER,
    delivered_at     INTEGER,
    given_up_at      INTEGER,
    last_status      INTEGER,
    last_error       TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND given_up_at IS NULL;
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, id);

-- How far the dispatcher has read the ticket history (one row).
CREATE TABLE webhook_cursor (
    name     TEXT PRIMARY KEY,
    last_id  INTEGER NOT NULL
);
INSERT INTO webhook_cursor (name, last_id) SELECT 'history', COALESCE(MAX(id), 0) FROM history;
