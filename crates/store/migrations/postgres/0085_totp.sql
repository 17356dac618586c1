-- Issue 22: a second factor for staff (TOTP, RFC 6238), its single-use recovery codes, and
-- the logins that passed the password and wait for the code.

CREATE TABLE totp_factors (
    user_id       BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- base32, as the authenticator app was given it
    secret        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    -- NULL until a first code confirmed the enrolment
    confirmed_at  BIGINT,
    -- the step of the last code accepted: a code is good once
    last_step     BIGINT
);

CREATE TABLE totp_recovery_codes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- argon2, like passwords
    code_hash  TEXT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX totp_recovery_codes_user ON totp_recovery_codes (user_id);

CREATE TABLE login_challenges (
    id_hash     TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  BIGINT NOT NULL
);
