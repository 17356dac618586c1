-- What an import from another system (Redmine, Request Tracker, OTRS/Znuny) brought in:
-- each source item once, by its source and id, with the row it became here. A re-run
-- finds its items here and updates instead of duplicating; a ticket's `stamp` is the
-- source's last change, so an unchanged ticket is not fetched again on resume.
CREATE TABLE import_links (
    source       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    okno_id      INTEGER NOT NULL,
    ticket_id    INTEGER REFERENCES tickets (id) ON DELETE CASCADE,
    label        TEXT NOT NULL DEFAULT '',
    stamp        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (source, kind, external_id)
);
-- A ticket's links: its original numbers (search, the ticket page) and its items (re-runs).
CREATE INDEX import_links_ticket ON import_links (ticket_id, kind);
