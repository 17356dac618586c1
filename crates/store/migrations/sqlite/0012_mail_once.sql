-- The email channel, taken in once (issue 7). The PostgreSQL migration of the same number
-- mirrors this one column for column.

-- An inbound message's record is now written in the transaction that takes the message in,
-- with the raw message itself: its unique key (message_id, direction) is what keeps two
-- pollers from taking one message in twice, and nothing is stored outside that transaction.
ALTER TABLE mail_messages ADD COLUMN raw BLOB;

-- Tickets created before this migration found their message by a `mail_in` history event
-- when the record was missing (a crash between the two writes): give them their record.
INSERT INTO mail_messages (direction, message_id, ticket_id, address, subject, created_at)
SELECT 'in', h.after, h.ticket_id, '', '', MIN(h.at) FROM history h
WHERE h.kind = 'mail_in' AND h.after IS NOT NULL
GROUP BY h.after, h.ticket_id
ON CONFLICT (message_id, direction) DO NOTHING;
DROP INDEX history_mail_in;

-- The per-sender rate limit counts inbound messages only: from the index alone.
DROP INDEX mail_messages_address;
CREATE INDEX mail_messages_address_in ON mail_messages (address, created_at) WHERE direction = 'in';

-- A quarantined message keeps its mailbox's service and default client for its retry.
ALTER TABLE mail_quarantine ADD COLUMN service TEXT;
ALTER TABLE mail_quarantine ADD COLUMN default_client TEXT;
