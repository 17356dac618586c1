-- Jobs, alerts and deadline bookkeeping (issue 4). The PostgreSQL migration of the same
-- number mirrors this one column for column. Instants are unix milliseconds (UTC).

-- One row per recurring job. A server process runs a job only after claiming it with a
-- lease (`locked_until`), so several processes sharing the database never run it at once;
-- a process that dies mid-run loses the lease when it expires.
CREATE TABLE jobs (
    name          TEXT PRIMARY KEY,
    run_at        INTEGER NOT NULL,
    locked_until  INTEGER,
    locked_by     TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    last_run_at   INTEGER
);

-- Something the manager must see, raised once per cause (`cause_key`), with the manager
-- task that carries it.
CREATE TABLE alerts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,
    ticket_id        INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    task_id          INTEGER REFERENCES tasks (id) ON DELETE SET NULL,
    cause_key        TEXT NOT NULL UNIQUE,
    detail           TEXT NOT NULL DEFAULT '',
    raised_at        INTEGER NOT NULL,
    resolved_at      INTEGER,
    manager_task_id  INTEGER REFERENCES tasks (id) ON DELETE SET NULL
);
CREATE INDEX alerts_open ON alerts (resolved_at, raised_at);
CREATE INDEX alerts_ticket ON alerts (ticket_id, id);
CREATE INDEX alerts_task ON alerts (task_id, kind);

-- The daily review: one per day of the desk's calendar, a task for the manager pool
-- listing every open ticket with its status and whose side the ball is on.
CREATE TABLE daily_reviews (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    day         TEXT NOT NULL UNIQUE,
    pool        TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    done_at     INTEGER,
    done_by     INTEGER REFERENCES users (id)
);

-- Specialists' time on tickets and tasks (start/stop); a running entry has no stop.
CREATE TABLE time_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    task_id     INTEGER REFERENCES tasks (id) ON DELETE SET NULL,
    started_at  INTEGER NOT NULL,
    stopped_at  INTEGER
);
CREATE INDEX time_entries_ticket ON time_entries (ticket_id, started_at);
CREATE INDEX time_entries_user ON time_entries (user_id, started_at);
CREATE INDEX time_entries_task ON time_entries (task_id);

-- The calendar a ticket's deadlines count in when it is not its client's (NULL: the
-- client's, else the support level's), and when its deadline clock stopped (the ball went
-- to the client's side; NULL while it runs).
ALTER TABLE tickets ADD COLUMN calendar TEXT;
ALTER TABLE tickets ADD COLUMN clock_paused_at INTEGER;

CREATE INDEX tasks_state_due ON tasks (state, due_at);
CREATE INDEX tickets_clock_paused ON tickets (clock_paused_at);
CREATE INDEX tickets_status_next_step ON tickets (status, next_step_at);
CREATE INDEX history_ticket_kind ON history (ticket_id, kind, at);
