-- Every outbox row ends: with a message sent (`delivered_at`, a `mail_messages` row with
-- its id) or without one, for the reason in `ended` (never tried again).
ALTER TABLE outbox ADD COLUMN ended TEXT;
CREATE INDEX mail_messages_outbox ON mail_messages (outbox_id) WHERE outbox_id IS NOT NULL;
