-- The manager dashboard's counters (issue 8), kept by a trigger in the same transaction as
-- every ticket write; mirrors the SQLite migration of the same number (see it for why).

CREATE TABLE ticket_status_counts (
    status  TEXT NOT NULL,
    shard   BIGINT NOT NULL,
    n       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (status, shard)
);

CREATE TABLE ticket_created_counts (
    slot    BIGINT NOT NULL,
    shard   BIGINT NOT NULL,
    n       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (slot, shard)
);

INSERT INTO ticket_status_counts (status, shard, n)
    SELECT status, id % 8, COUNT(*) FROM tickets GROUP BY status, id % 8;
INSERT INTO ticket_created_counts (slot, shard, n)
    SELECT created_at / 900000, id % 8, COUNT(*) FROM tickets WHERE status <> 'draft'
    GROUP BY created_at / 900000, id % 8;

-- The old row's share out (update, delete), the new row's in (insert, update).
CREATE FUNCTION ticket_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE ticket_status_counts SET n = n - 1
            WHERE status = OLD.status AND shard = OLD.id % 8;
        IF OLD.status <> 'draft' THEN
            UPDATE ticket_created_counts SET n = n - 1
                WHERE slot = OLD.created_at / 900000 AND shard = OLD.id % 8;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO ticket_status_counts (status, shard, n) VALUES (NEW.status, NEW.id % 8, 1)
            ON CONFLICT (status, shard) DO UPDATE SET n = ticket_status_counts.n + 1;
        IF NEW.status <> 'draft' THEN
            INSERT INTO ticket_created_counts (slot, shard, n)
                VALUES (NEW.created_at / 900000, NEW.id % 8, 1)
                ON CONFLICT (slot, shard) DO UPDATE SET n = ticket_created_counts.n + 1;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER ticket_counts_insert AFTER INSERT ON tickets
    FOR EACH ROW EXECUTE FUNCTION ticket_counts_follow();
CREATE TRIGGER ticket_counts_update AFTER UPDATE OF status, created_at ON tickets
    FOR EACH ROW WHEN (OLD.status <> NEW.status OR OLD.created_at <> NEW.created_at)
    EXECUTE FUNCTION ticket_counts_follow();
CREATE TRIGGER ticket_counts_delete AFTER DELETE ON tickets
    FOR EACH ROW EXECUTE FUNCTION ticket_counts_follow();

CREATE INDEX tickets_overdue ON tickets (next_step_at)
    WHERE status IN ('new', 'in_progress') AND clock_paused_at IS NULL;
CREATE INDEX tasks_open_development_due ON tasks (due_at) WHERE state = 'open' AND line >= 2;
