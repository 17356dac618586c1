-- Okno's first schema (SQLite). Instants are unix milliseconds (UTC); the PostgreSQL
-- migration of the same number mirrors this one column for column.

CREATE TABLE clients (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    code          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    mail_domain   TEXT UNIQUE,
    calendar      TEXT,
    created_at    INTEGER NOT NULL
);

-- Staff and client contacts alike; a contact has a client_id and may have no password
-- (a person known only by mail).
CREATE TABLE users (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    email              TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    role               TEXT NOT NULL CHECK (role IN ('client', 'specialist', 'manager', 'admin')),
    client_id          INTEGER REFERENCES clients (id),
    lines              TEXT NOT NULL DEFAULT '',
    skills             TEXT NOT NULL DEFAULT '',
    sees_organization  BOOLEAN NOT NULL DEFAULT FALSE,
    locale             TEXT NOT NULL DEFAULT 'ru',
    password_hash      TEXT,
    active             BOOLEAN NOT NULL DEFAULT TRUE,
    created_at         INTEGER NOT NULL
);
CREATE INDEX users_client ON users (client_id);

CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    token_hash    TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE login_failures (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    email   TEXT NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX login_failures_email_at ON login_failures (email, at);

CREATE TABLE services (
    code            TEXT PRIMARY KEY,
    name_ru         TEXT NOT NULL,
    name_en         TEXT NOT NULL,
    description_ru  TEXT NOT NULL DEFAULT '',
    description_en  TEXT NOT NULL DEFAULT '',
    workflow        TEXT NOT NULL,
    definition      TEXT NOT NULL DEFAULT '{}',
    sort_order      INTEGER NOT NULL DEFAULT 0,
    active          BOOLEAN NOT NULL DEFAULT TRUE
);

-- A ticket's number is its id (OK-000123).
CREATE TABLE tickets (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    service           TEXT NOT NULL REFERENCES services (code),
    subject           TEXT NOT NULL,
    description       TEXT NOT NULL,
    status            TEXT NOT NULL,
    classification    TEXT,
    client_id         INTEGER NOT NULL REFERENCES clients (id),
    requester_id      INTEGER NOT NULL REFERENCES users (id),
    shared            BOOLEAN NOT NULL DEFAULT FALSE,
    next_step_at      INTEGER,
    route             TEXT NOT NULL DEFAULT '{}',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    closed_at         INTEGER
);
CREATE INDEX tickets_client ON tickets (client_id, id);
CREATE INDEX tickets_client_status ON tickets (client_id, status, id);
CREATE INDEX tickets_status ON tickets (status, id);
CREATE INDEX tickets_requester ON tickets (requester_id, id);

CREATE TABLE ticket_watchers (
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (ticket_id, user_id)
);
CREATE INDEX ticket_watchers_user ON ticket_watchers (user_id, ticket_id);

CREATE TABLE tasks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id     INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    line          INTEGER,
    pool          TEXT,
    assignee_id   INTEGER REFERENCES users (id),
    due_at        INTEGER,
    priority      INTEGER NOT NULL DEFAULT 0,
    state         TEXT NOT NULL DEFAULT 'open',
    outcome       TEXT,
    stage         TEXT,
    created_at    INTEGER NOT NULL,
    completed_at  INTEGER
);
CREATE INDEX tasks_ticket ON tasks (ticket_id, id);
CREATE INDEX tasks_open_assignee ON tasks (state, assignee_id, priority, due_at);
CREATE INDEX tasks_open_line ON tasks (state, line, priority, due_at);
CREATE INDEX tasks_open_pool ON tasks (state, pool, priority, due_at);

CREATE TABLE comments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author_id   INTEGER REFERENCES users (id),
    body        TEXT NOT NULL,
    internal    BOOLEAN NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX comments_ticket ON comments (ticket_id, id);

-- Files live under the data directory by content hash; this is their catalogue.
CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id     INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    comment_id    INTEGER REFERENCES comments (id) ON DELETE CASCADE,
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    uploaded_by   INTEGER REFERENCES users (id),
    created_at    INTEGER NOT NULL
);
CREATE INDEX attachments_ticket ON attachments (ticket_id, id);

-- Append-only: rows are inserted, never updated or deleted.
CREATE TABLE history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    actor_id    INTEGER REFERENCES users (id),
    kind        TEXT NOT NULL,
    before      TEXT,
    after       TEXT,
    public      BOOLEAN NOT NULL
);
CREATE INDEX history_ticket ON history (ticket_id, id);

-- Side effects (mail, notifications) written in the same transaction as the change.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    delivered_at     INTEGER,
    last_error       TEXT
);
CREATE INDEX outbox_pending ON outbox (delivered_at, next_attempt_at);
