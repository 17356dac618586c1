-- Line leads (issue 5): a specialist who may assign the tickets of the lines they work in,
-- as a manager does, to the specialists of those lines.
ALTER TABLE users ADD COLUMN line_lead BOOLEAN NOT NULL DEFAULT FALSE;
