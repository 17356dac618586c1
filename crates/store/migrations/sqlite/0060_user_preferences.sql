-- A person's own settings (issue 19): the time zone their pages show times in. No row: the
-- default (a client's calendar zone, the browser's zone otherwise).
CREATE TABLE user_preferences (
    user_id   INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    time_zone TEXT
);
