-- The manager dashboard's counters (issue 8), kept by triggers in the same transaction as
-- every ticket write, so the dashboard reads a few rows instead of counting every open
-- ticket or every ticket of the last 14 days on each request. The PostgreSQL migration of
-- the same number mirrors this one column for column.
--
-- Each counter is split over 8 shards (ticket id % 8): on PostgreSQL, concurrent ticket
-- writes then rarely wait on one counter row. A reader sums the shards.

-- Tickets in each status.
CREATE TABLE ticket_status_counts (
    status  TEXT NOT NULL,
    shard   INTEGER NOT NULL,
    n       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (status, shard)
);

-- Tickets (drafts aside) created in each quarter of an hour (`created_at / 900000`): any
-- time zone whose offset is a whole number of quarter hours sums them into its own days.
CREATE TABLE ticket_created_counts (
    slot    INTEGER NOT NULL,
    shard   INTEGER NOT NULL,
    n       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (slot, shard)
);

INSERT INTO ticket_status_counts (status, shard, n)
    SELECT status, id % 8, COUNT(*) FROM tickets GROUP BY status, id % 8;
INSERT INTO ticket_created_counts (slot, shard, n)
    SELECT created_at / 900000, id % 8, COUNT(*) FROM tickets WHERE status <> 'draft'
    GROUP BY created_at / 900000, id % 8;

CREATE TRIGGER ticket_counts_insert AFTER INSERT ON tickets
BEGIN
    INSERT INTO ticket_status_counts (status, shard, n) VALUES (NEW.status, NEW.id % 8, 1)
        ON CONFLICT (status, shard) DO UPDATE SET n = n + 1;
    INSERT INTO ticket_created_counts (slot, shard, n)
        SELECT NEW.created_at / 900000, NEW.id % 8, 1 WHERE NEW.status <> 'draft'
        ON CONFLICT (slot, shard) DO UPDATE SET n = n + 1;
END;

-- The old row's share out, the new row's in (only when status or creation time changed).
CREATE TRIGGER ticket_counts_update AFTER UPDATE OF status, created_at ON tickets
WHEN OLD.status <> NEW.status OR OLD.created_at <> NEW.created_at
BEGIN
    UPDATE ticket_status_counts SET n = n - 1 WHERE status = OLD.status AND shard = OLD.id % 8;
    UPDATE ticket_created_counts SET n = n - 1
        WHERE OLD.status <> 'draft' AND slot = OLD.created_at / 900000 AND shard = OLD.id % 8;
    INSERT INTO ticket_status_counts (status, shard, n) VALUES (NEW.status, NEW.id % 8, 1)
        ON CONFLICT (status, shard) DO UPDATE SET n = n + 1;
    INSERT INTO ticket_created_counts (slot, shard, n)
        SELECT NEW.created_at / 900000, NEW.id % 8, 1 WHERE NEW.status <> 'draft'
        ON CONFLICT (slot, shard) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER ticket_counts_delete AFTER DELETE ON tickets
BEGIN
    UPDATE ticket_status_counts SET n = n - 1 WHERE status = OLD.status AND shard = OLD.id % 8;
    UPDATE ticket_created_counts SET n = n - 1
        WHERE OLD.status <> 'draft' AND slot = OLD.created_at / 900000 AND shard = OLD.id % 8;
END;

-- Overdue tickets and overdue development tasks: the indexes hold only the rows each
-- figure can count, so a count reads the overdue ones and nothing else.
CREATE INDEX tickets_overdue ON tickets (next_step_at)
    WHERE status IN ('new', 'in_progress') AND clock_paused_at IS NULL;
CREATE INDEX tasks_open_development_due ON tasks (due_at) WHERE state = 'open' AND line >= 2;
