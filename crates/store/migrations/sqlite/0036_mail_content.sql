-- Issue 22: a Message-ID is the same message only with the same content. Real mailers
-- reuse ids for different messages; those are taken in, only re-deliveries are not.
-- Rows from before carry '' (matched by any content: an old message is not taken twice).
ALTER TABLE mail_messages ADD COLUMN content_sha256 TEXT NOT NULL DEFAULT '';
DROP INDEX mail_messages_id;
CREATE UNIQUE INDEX mail_messages_id ON mail_messages (message_id, direction, content_sha256);
