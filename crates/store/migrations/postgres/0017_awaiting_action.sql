-- Tickets whose route waits for an automatic action (a key to generate, say): a handful
-- at any time, found by the job that resumes actions a stopped process left unrun.
CREATE INDEX tickets_awaiting_action ON tickets (updated_at)
    WHERE route LIKE '%"awaiting_action":"%';
