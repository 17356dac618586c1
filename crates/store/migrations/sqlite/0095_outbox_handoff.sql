-- When a row's message was handed to the mail server (cleared when the server refused
-- it). A row leased again with this set was interrupted between the handoff and the
-- record of its outcome: it may have been delivered, so it is never sent again by itself;
-- an admin decides (Admin → Outbox).
ALTER TABLE outbox ADD COLUMN handed_at INTEGER;
-- Rows that need an admin's eye: failing or given up.
CREATE INDEX outbox_problems ON outbox (id) WHERE delivered_at IS NULL AND last_error IS NOT NULL;
