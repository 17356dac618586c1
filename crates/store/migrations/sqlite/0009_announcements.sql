-- Workplaces (issue 8): the manager's announcements to clients, the client's rating of a
-- solved ticket, and the indexes behind the manager dashboard's figures. The PostgreSQL
-- migration of the same number mirrors this one column for column.

-- News for clients (a release, planned downtime): to everyone, or to the listed clients.
CREATE TABLE announcements (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    all_clients BOOLEAN NOT NULL DEFAULT TRUE,
    by_mail     BOOLEAN NOT NULL DEFAULT FALSE,
    author_id   INTEGER REFERENCES users (id),
    created_at  INTEGER NOT NULL
);
CREATE INDEX announcements_created ON announcements (created_at);

CREATE TABLE announcement_clients (
    announcement_id INTEGER NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    client_id       INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    PRIMARY KEY (announcement_id, client_id)
);
CREATE INDEX announcement_clients_client ON announcement_clients (client_id, announcement_id);

-- One rating per ticket (1–5), by the client who gave it; a second rating replaces it.
CREATE TABLE ticket_ratings (
    ticket_id   INTEGER PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    score       INTEGER NOT NULL,
    comment     TEXT NOT NULL DEFAULT '',
    rated_at    INTEGER NOT NULL
);

-- The dashboard counts by day: new tickets, tasks due, time logged.
CREATE INDEX tickets_created ON tickets (created_at);
CREATE INDEX tickets_classification_created ON tickets (classification, created_at);
CREATE INDEX tasks_due ON tasks (due_at);
CREATE INDEX time_entries_started ON time_entries (started_at);
