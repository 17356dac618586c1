-- Knowledge base and search (issue 9). The other backend's migration of the same number
-- mirrors this one column for column.

-- Articles: Markdown source, rendered and sanitized when shown. `slug` is the stable URL.
-- audience: public (anyone, no login), client, staff or both (client and staff).
-- status: draft, published or archived. `shipped`: loaded from the configuration.
CREATE TABLE kb_articles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    slug        TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    category    TEXT NOT NULL DEFAULT '',
    tags        TEXT NOT NULL DEFAULT '',
    services    TEXT NOT NULL DEFAULT '',
    audience    TEXT NOT NULL,
    status      TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    shipped     BOOLEAN NOT NULL DEFAULT FALSE,
    created_by  INTEGER REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- The search indexer catches up by `updated_at`; the category listing by category.
CREATE INDEX kb_articles_updated ON kb_articles (updated_at, id);
CREATE INDEX kb_articles_category ON kb_articles (status, category, title);

-- An article limited to chosen clients (files and release notes published for them).
CREATE TABLE kb_article_clients (
    article_id  INTEGER NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    client_id   INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    PRIMARY KEY (article_id, client_id)
);
CREATE INDEX kb_article_clients_client ON kb_article_clients (client_id, article_id);

-- Every saved version, the current one included.
CREATE TABLE kb_versions (
    article_id  INTEGER NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    status      TEXT NOT NULL,
    edited_by   INTEGER REFERENCES users (id),
    edited_at   INTEGER NOT NULL,
    PRIMARY KEY (article_id, version)
);

-- Articles attached to tickets (seed 003), looked up from both sides.
CREATE TABLE kb_ticket_links (
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    article_id  INTEGER NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    linked_by   INTEGER REFERENCES users (id),
    linked_at   INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, article_id)
);
CREATE INDEX kb_ticket_links_article ON kb_ticket_links (article_id, ticket_id);

-- Files attached to an article (stored by content hash like ticket attachments).
CREATE TABLE kb_attachments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id    INTEGER NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX kb_attachments_article ON kb_attachments (article_id, id);

-- "This solved my question": a client's draft closed by an article.
CREATE TABLE kb_deflections (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id  INTEGER NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    client_id   INTEGER REFERENCES clients (id),
    at          INTEGER NOT NULL
);
CREATE INDEX kb_deflections_article ON kb_deflections (article_id, at);

-- Tickets changed since the search index's watermark.
CREATE INDEX tickets_updated ON tickets (updated_at, id);
