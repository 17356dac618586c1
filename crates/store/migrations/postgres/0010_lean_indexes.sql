-- Fewer, narrower indexes on the two tables every ticket creation writes to: each index is
-- a page written per commit, and an index led by `state` misled SQLite's planner into
-- reading every open task where a ticket's few tasks were wanted.

-- Superseded by the rank-ordered queue indexes of 0005.
DROP INDEX tasks_open_assignee;
DROP INDEX tasks_open_line;
DROP INDEX tasks_open_pool;
-- Open tasks by deadline (the deadline watch); tasks_due serves plan/fact over all tasks.
DROP INDEX tasks_state_due;
CREATE INDEX tasks_open_due ON tasks (due_at) WHERE state = 'open';

-- Only the few rows each list looks for.
DROP INDEX tickets_clock_paused;
CREATE INDEX tickets_clock_paused ON tickets (clock_paused_at) WHERE clock_paused_at IS NOT NULL;
DROP INDEX tickets_equipment;
CREATE INDEX tickets_equipment ON tickets (equipment_id, id) WHERE equipment_id IS NOT NULL;
DROP INDEX tickets_to_register;
CREATE INDEX tickets_to_register ON tickets (id) WHERE registered = FALSE;
