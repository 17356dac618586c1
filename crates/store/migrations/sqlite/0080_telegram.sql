-- The Telegram bot (issue 20). A contact (or a manager) links their Telegram account once;
-- the link remembers the chat, the ticket the contact writes into and the service they
-- chose for a new ticket.
CREATE TABLE telegram_links (
    telegram_user   INTEGER PRIMARY KEY,
    chat_id         INTEGER NOT NULL,
    user_id         INTEGER NOT NULL REFERENCES users (id),
    language        TEXT NOT NULL DEFAULT '',
    linked_at       INTEGER NOT NULL,
    current_ticket  INTEGER REFERENCES tickets (id),
    pending_service TEXT
);
CREATE UNIQUE INDEX telegram_links_user ON telegram_links (user_id);

-- One-time codes shown on the portal; a code links once and expires.
CREATE TABLE telegram_codes (
    code        TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);

-- Updates taken in (webhook retries and a restarted poller never take one twice); rows
-- older than a day are dropped.
CREATE TABLE telegram_updates (
    update_id  INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL
);

-- The bot's messages to send: replies, and the notices the dispatcher makes from the
-- outbox (`outbox_id`) and the alerts (`alert_id`). `message_id` is Telegram's id of the
-- sent message, so a reply to it finds its ticket.
CREATE TABLE telegram_messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id          INTEGER NOT NULL,
    ticket_id        INTEGER,
    outbox_id        INTEGER,
    text             TEXT NOT NULL,
    reply_markup     TEXT,
    created_at       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    locked_until     INTEGER,
    sent_at          INTEGER,
    message_id       INTEGER,
    given_up_at      INTEGER,
    last_error       TEXT
);
CREATE INDEX telegram_messages_due ON telegram_messages (next_attempt_at)
    WHERE sent_at IS NULL AND given_up_at IS NULL;
CREATE INDEX telegram_messages_sent ON telegram_messages (chat_id, message_id);
CREATE INDEX telegram_messages_outbox ON telegram_messages (outbox_id);

-- The bot's own state: the getUpdates offset, the dispatcher's cursors, the last update
-- and the last error (shown on Admin -> Channels).
CREATE TABLE telegram_state (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
INSERT INTO telegram_state (name, value) SELECT 'outbox_cursor', CAST(COALESCE(MAX(id), 0) AS TEXT) FROM outbox;
INSERT INTO telegram_state (name, value) SELECT 'alert_cursor', CAST(COALESCE(MAX(id), 0) AS TEXT) FROM alerts;
INSERT INTO telegram_state (name, value) VALUES ('offset', '0');
