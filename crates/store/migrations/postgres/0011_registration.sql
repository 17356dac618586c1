-- Registration particulars (issue 6; seed 003): a ticket needs only the client, and our
-- side's company and department, its owner, category, priority, line and support level
-- fill from the configured defaults (config/contracts.toml) when it is created. The
-- SQLite migration of the same number mirrors this one column for column.
ALTER TABLE tickets ADD COLUMN company TEXT;
ALTER TABLE tickets ADD COLUMN department TEXT;
ALTER TABLE tickets ADD COLUMN owner_id BIGINT REFERENCES users (id);
ALTER TABLE tickets ADD COLUMN category TEXT;
ALTER TABLE tickets ADD COLUMN priority TEXT;
ALTER TABLE tickets ADD COLUMN line BIGINT;
ALTER TABLE tickets ADD COLUMN support_level TEXT;
