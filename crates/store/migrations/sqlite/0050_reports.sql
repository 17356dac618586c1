-- Reports (issue 21). The PostgreSQL migration of the same number mirrors this one column
-- for column. Instants are unix milliseconds (UTC).
--
-- A closed ticket's figures are settled once (by the reports job, or by a report that finds
-- it unsettled) with the norms and calendar in force then, so a past month's report never
-- changes when a contract or a norm changes later. A ticket closed again after a reopen is
-- settled again for its new closing.
CREATE TABLE report_tickets (
    ticket_id           INTEGER PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    client_id           INTEGER NOT NULL,
    service             TEXT NOT NULL,
    classification      TEXT,
    -- The highest line that had a task on it; the specialist of its last completed task.
    line                INTEGER,
    specialist_id       INTEGER,
    created_at          INTEGER NOT NULL,
    closed_at           INTEGER NOT NULL,
    -- Working minutes until the ticket first left `new` (NULL: it never did).
    reaction_minutes    INTEGER,
    -- Working minutes on our side (waits on the client left out).
    resolution_minutes  INTEGER NOT NULL,
    -- No deadline of the ticket was breached.
    deadline_met        BOOLEAN NOT NULL,
    stages_over         INTEGER NOT NULL,
    reopened            INTEGER NOT NULL,
    auto_closed         BOOLEAN NOT NULL,
    settled_at          INTEGER NOT NULL
);
CREATE INDEX report_tickets_closed ON report_tickets (closed_at);
CREATE INDEX report_tickets_client_closed ON report_tickets (client_id, closed_at);

-- Working minutes per stage of a settled ticket against the stage norm then in force.
CREATE TABLE report_stages (
    ticket_id      INTEGER NOT NULL REFERENCES report_tickets (ticket_id) ON DELETE CASCADE,
    stage          TEXT NOT NULL,
    position       INTEGER NOT NULL,
    spent_minutes  INTEGER NOT NULL,
    norm_minutes   INTEGER,
    closed_at      INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, stage)
);
CREATE INDEX report_stages_closed ON report_stages (closed_at, ticket_id);

-- Finds closed tickets to settle without reading every ticket.
CREATE INDEX tickets_closed_at ON tickets (closed_at) WHERE closed_at IS NOT NULL;
-- The flow report's events per period: a few rows of the history each.
CREATE INDEX history_registered ON history (at) WHERE kind = 'registered';
CREATE INDEX history_auto_closed ON history (at) WHERE kind = 'auto_closed';
CREATE INDEX history_reopened ON history (at)
    WHERE kind = 'status' AND before IN ('closed', 'resolved');
CREATE INDEX ticket_ratings_rated ON ticket_ratings (rated_at);
CREATE INDEX tasks_completed ON tasks (completed_at) WHERE completed_at IS NOT NULL;

-- A manager's subscription to a report by mail (XLSX attached), weekly or monthly.
CREATE TABLE report_subscriptions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    report        TEXT NOT NULL,
    cadence       TEXT NOT NULL CHECK (cadence IN ('weekly', 'monthly')),
    -- The report's filters as JSON (`{"client": "ALFA", "line": "2"}`).
    filters       TEXT NOT NULL DEFAULT '',
    next_run_at   INTEGER NOT NULL,
    last_sent_at  INTEGER,
    created_at    INTEGER NOT NULL
);
CREATE INDEX report_subscriptions_due ON report_subscriptions (next_run_at);
CREATE INDEX report_subscriptions_user ON report_subscriptions (user_id, id);
