-- Routes (issue 3): role pools of users, task summaries and co-assignees, workflow versions
-- published by admins, license-key allowances. The PostgreSQL migration of the same number
-- mirrors this one.

-- Role pools a user takes tasks from (`accounting,licensing`), beside the user's lines.
ALTER TABLE users ADD COLUMN pools TEXT NOT NULL DEFAULT '';

-- What the specialist wrote on finishing a task; carried into the next task when asked.
ALTER TABLE tasks ADD COLUMN summary TEXT;

CREATE TABLE task_coassignees (
    task_id  INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, user_id)
);
CREATE INDEX task_coassignees_user ON task_coassignees (user_id, task_id);

-- Workflow files published through the API, loaded at start after the shipped defaults.
CREATE TABLE workflow_files (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    code        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    file_name   TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_by  INTEGER REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    UNIQUE (code, version)
);

-- License keys: NULL quota means no limit until contracts say otherwise.
ALTER TABLE clients ADD COLUMN license_key_quota INTEGER;
ALTER TABLE clients ADD COLUMN license_keys_issued INTEGER NOT NULL DEFAULT 0;

CREATE TABLE license_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id   INTEGER NOT NULL REFERENCES clients (id),
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    license_key TEXT NOT NULL,
    issued_at   INTEGER NOT NULL
);
CREATE INDEX license_keys_client ON license_keys (client_id, id);
