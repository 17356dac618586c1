-- A specialist's own open tasks only: with the unassigned ones in it (one NULL key holding
-- most of the open queue), SQLite's planner took this index for the line and pool sources
-- of the queue (`assignee_id IS NULL AND line = ?`) and walked every unassigned open task
-- in rank order filtering by line: 0.2-0.5 s cold on the 3,000,000-task bench. Without
-- them, those sources read tasks_queue_line and tasks_queue_pool as intended, and
-- `assignee_id = ?` still implies this index's condition.
DROP INDEX tasks_queue_assignee;
CREATE INDEX tasks_queue_assignee ON tasks (assignee_id, rank, id)
    WHERE state = 'open' AND assignee_id IS NOT NULL;
