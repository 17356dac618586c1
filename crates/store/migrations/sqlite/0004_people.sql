-- People and registration columns several capabilities read (issues 5, 6, 7); each is
-- wired up by the capability that owns it. The other backend's migration of the same
-- number mirrors this one column for column.

-- A client whose tickets go first (the contract's priority flag, issue 5's sort key).
ALTER TABLE clients ADD COLUMN vip BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN time_zone TEXT;
-- Shown to staff only: what the client is about, and how line 1 reaches its systems.
ALTER TABLE clients ADD COLUMN notes TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN access_notes TEXT NOT NULL DEFAULT '';
-- The accounting system's key (1C): imports upsert by it.
ALTER TABLE clients ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX clients_external_id ON clients (external_id);

-- The client's director: their tickets are always urgent (seed 004).
ALTER TABLE users ADD COLUMN director BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN phone TEXT;
ALTER TABLE users ADD COLUMN telegram_id TEXT;
ALTER TABLE users ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX users_external_id ON users (external_id);

-- The client's own URGENT mark on the ticket.
ALTER TABLE tickets ADD COLUMN urgent BOOLEAN NOT NULL DEFAULT FALSE;
-- FALSE: the ticket waits in line 1's "to register" list (no known client or no active
-- contract); its reaction clock runs all the same.
ALTER TABLE tickets ADD COLUMN registered BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX tickets_to_register ON tickets (registered, id);
