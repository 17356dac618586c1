-- The specialist's day (issue 5): queue rank, distribution, time tracking, planning. The
-- other backend's migration of the same number mirrors this one column for column.

-- The task's place in queues, packed from its priority rule (lower goes first; see
-- okno_domain::priority). Recomputed when the task or its ticket changes; new tasks wait
-- after every ranked one until their rule ran.
ALTER TABLE tasks ADD COLUMN rank BIGINT NOT NULL DEFAULT 999999999999999999;
-- Planning: when the assignee means to work on it and for how long.
ALTER TABLE tasks ADD COLUMN planned_at BIGINT;
ALTER TABLE tasks ADD COLUMN planned_minutes INTEGER;
-- One index per source of a queue, each already in queue order: a page reads a few rows.
CREATE INDEX tasks_queue_assignee ON tasks (assignee_id, rank, id) WHERE state = 'open';
CREATE INDEX tasks_queue_line ON tasks (line, rank, id) WHERE state = 'open' AND assignee_id IS NULL;
CREATE INDEX tasks_queue_pool ON tasks (pool, rank, id) WHERE state = 'open' AND assignee_id IS NULL;
CREATE INDEX tasks_planned ON tasks (assignee_id, planned_at) WHERE planned_at IS NOT NULL;
CREATE INDEX tasks_unranked ON tasks (id) WHERE rank = 999999999999999999 AND state = 'open';
CREATE INDEX tasks_done_by ON tasks (assignee_id, completed_at) WHERE completed_at IS NOT NULL;

-- Time entries: typed in by hand (not from the timer), with a note; one running timer
-- per person.
ALTER TABLE time_entries ADD COLUMN manual BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE time_entries ADD COLUMN note TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX time_entries_running ON time_entries (user_id) WHERE stopped_at IS NULL;

-- Every correction of a time entry, with what it was before.
CREATE TABLE time_entry_changes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id        BIGINT NOT NULL REFERENCES time_entries (id) ON DELETE CASCADE,
    changed_by      BIGINT NOT NULL REFERENCES users (id),
    changed_at      BIGINT NOT NULL,
    before_started  BIGINT,
    before_stopped  BIGINT,
    after_started   BIGINT NOT NULL,
    after_stopped   BIGINT NOT NULL,
    reason          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX time_entry_changes_entry ON time_entry_changes (entry_id, id);

-- Distribution (seed 003): the skills a service needs, and a specialist's priority for a
-- service (1 first) with a comment shown to whoever assigns.
CREATE TABLE service_skills (
    service  TEXT NOT NULL,
    skill    TEXT NOT NULL,
    PRIMARY KEY (service, skill)
);
CREATE TABLE specialist_priorities (
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    service   TEXT NOT NULL,
    priority  INTEGER NOT NULL,
    comment   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, service)
);
CREATE INDEX specialist_priorities_service ON specialist_priorities (service, priority);

-- A specialist's iCalendar feed: the URL carries a secret, stored as its SHA-256.
CREATE TABLE calendar_feeds (
    token_hash  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL
);
