-- Channels (issue 20): telephony. A contact's phone in its canonical digits (see
-- okno_domain::channels::PhoneNumber), indexed so a PBX's caller lookup is one index probe;
-- '' marks a phone that could not be read (it is never looked up).
ALTER TABLE users ADD COLUMN phone_key TEXT;
CREATE INDEX users_phone_key ON users (phone_key) WHERE phone_key IS NOT NULL;

-- Every call a PBX told the desk about, one row per (provider, call id), moved forward by
-- its events; `ticket_id` is the ticket it is logged on.
CREATE TABLE calls (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    provider       TEXT NOT NULL,
    call_id        TEXT NOT NULL,
    from_number    TEXT NOT NULL,
    to_number      TEXT NOT NULL,
    from_key       TEXT,
    contact_id     INTEGER REFERENCES users (id),
    client_id      INTEGER REFERENCES clients (id),
    state          TEXT NOT NULL,
    agent          TEXT,
    started_at     INTEGER NOT NULL,
    answered_at    INTEGER,
    ended_at       INTEGER,
    duration_s     INTEGER,
    recording_url  TEXT,
    ticket_id      INTEGER REFERENCES tickets (id),
    UNIQUE (provider, call_id)
);
CREATE INDEX calls_started ON calls (started_at);
CREATE INDEX calls_ticket ON calls (ticket_id) WHERE ticket_id IS NOT NULL;

-- Settings of the channels an admin edits on /admin/channels (PBX keys, form origins, bot).
CREATE TABLE channel_settings (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
