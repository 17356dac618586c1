-- The web form's posts (issue 20), per sender address and per email, for its rate limit;
-- kept in the database so several processes count together. Old rows of a key are
-- dropped as new ones come.
CREATE TABLE form_posts (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    key    TEXT NOT NULL,
    at     INTEGER NOT NULL
);
CREATE INDEX form_posts_key ON form_posts (key, at);
