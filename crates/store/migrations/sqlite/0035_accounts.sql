-- Issue 22: sessions a person can list, tokens with names, scopes and expiry that can be
-- listed and revoked, and login throttling that slows instead of locking out.

ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN agent TEXT NOT NULL DEFAULT '';
UPDATE sessions SET last_seen_at = created_at;
CREATE INDEX sessions_user_created ON sessions (user_id, created_at);
DROP INDEX sessions_user;

-- Tokens get a public id (AUTOINCREMENT: a revoked token's id is never reused).
CREATE TABLE api_tokens_named (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash    TEXT NOT NULL UNIQUE,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    scope         TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    expires_at    INTEGER
);
INSERT INTO api_tokens_named (token_hash, user_id, name, scope, created_at, expires_at)
    SELECT token_hash, user_id, 'token', 'write', created_at, expires_at FROM api_tokens ORDER BY created_at;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_named RENAME TO api_tokens;
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

-- Recent failed logins per key (`account:<email>`, `source:<address>`), shared by every
-- server process on the database.
CREATE TABLE login_throttle (
    key              TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL,
    last_failure_at  INTEGER NOT NULL
);
DROP TABLE login_failures;
