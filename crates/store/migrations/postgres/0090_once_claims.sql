-- Things several `okno serve` processes must do once between them (issue 24): a form's
-- submit (the ticket it opened), the demo firm's loading. The first process to insert a
-- key owns it; the others read its result, or wait while it has none. A claim whose
-- holder went away is taken over after its lease; one with `expires_at` is forgotten then.
CREATE TABLE once_claims (
    key         TEXT PRIMARY KEY,
    result      BIGINT,
    claimed_at  BIGINT NOT NULL,
    expires_at  BIGINT
);
CREATE INDEX once_claims_expiry ON once_claims (expires_at);
