-- Issue 22: the audit log of administrative changes: who, when, what, before and after.
-- Append-only; read newest first by id (the primary key is the keyset).
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    actor_id  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    before_json  TEXT,
    after_json   TEXT
);
