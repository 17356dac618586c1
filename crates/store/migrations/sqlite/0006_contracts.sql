-- Contracts, limits, lifecycle, invoices and client equipment (issue 6). The PostgreSQL
-- migration of the same number mirrors this one column for column. Days are ISO dates
-- ('YYYY-MM-DD', both ends inclusive) so they compare as text; money is in kopecks.

CREATE TABLE contracts (
    id                        INTEGER PRIMARY KEY AUTOINCREMENT,
    number                    TEXT NOT NULL UNIQUE,
    client_id                 INTEGER NOT NULL REFERENCES clients (id),
    starts_on                 TEXT NOT NULL,
    ends_on                   TEXT NOT NULL,
    support_level             TEXT,
    -- Service codes the contract covers, comma-separated; empty: every service.
    services                  TEXT NOT NULL DEFAULT '',
    tariff                    INTEGER NOT NULL DEFAULT 0,
    hourly_rate               INTEGER NOT NULL DEFAULT 0,
    after_hours_rate          INTEGER NOT NULL DEFAULT 0,
    rounding_minutes          INTEGER NOT NULL DEFAULT 0,
    -- Services whose time is billed, comma-separated; empty: every service.
    billable_services         TEXT NOT NULL DEFAULT '',
    -- Limits; NULL is no limit.
    tickets_per_contact_day   INTEGER,
    tickets_per_month         INTEGER,
    hours_per_month           INTEGER,
    license_keys              INTEGER,
    limit_reaction            TEXT NOT NULL DEFAULT 'accept_and_flag'
        CHECK (limit_reaction IN ('accept_and_flag', 'offer_extension', 'defer', 'refuse')),
    external_id               TEXT UNIQUE,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
);
CREATE INDEX contracts_client_period ON contracts (client_id, ends_on, starts_on);
CREATE INDEX contracts_ends ON contracts (ends_on);
CREATE INDEX contracts_starts ON contracts (starts_on);

-- Usage counted as tickets arrive, per contract and counter (`contact:<user>:<day>`,
-- `month:<yyyy-mm>`); a changed contract keeps what was counted.
CREATE TABLE contract_usage (
    contract_id  INTEGER NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    counter      TEXT NOT NULL,
    used         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (contract_id, counter)
);

-- Lifecycle steps done once per contract (`starts_notice`, `ends_notice`, `ended`,
-- `no_successor`, `invoice`), so a job run twice does nothing twice.
CREATE TABLE contract_events (
    contract_id  INTEGER NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (contract_id, kind)
);

CREATE TABLE invoices (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    number         TEXT NOT NULL UNIQUE,
    client_id      INTEGER NOT NULL REFERENCES clients (id),
    contract_id    INTEGER NOT NULL REFERENCES contracts (id),
    period_start   TEXT NOT NULL,
    period_end     TEXT NOT NULL,
    tariff_amount  INTEGER NOT NULL,
    extra_minutes  INTEGER NOT NULL DEFAULT 0,
    extra_amount   INTEGER NOT NULL DEFAULT 0,
    amount         INTEGER NOT NULL,
    status         TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'sent', 'paid')),
    created_at     INTEGER NOT NULL,
    sent_at        INTEGER,
    paid_at        INTEGER,
    UNIQUE (contract_id, period_start)
);
CREATE INDEX invoices_client ON invoices (client_id, id);
CREATE INDEX invoices_status ON invoices (status, id);

CREATE TABLE equipment (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id       INTEGER NOT NULL REFERENCES clients (id),
    site            TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL,
    model           TEXT NOT NULL DEFAULT '',
    serial          TEXT NOT NULL DEFAULT '',
    warranty_until  TEXT,
    notes           TEXT NOT NULL DEFAULT '',
    external_id     TEXT UNIQUE,
    created_at      INTEGER NOT NULL
);
CREATE INDEX equipment_client ON equipment (client_id, id);

-- The equipment a ticket is about (seed 002), and whether it was over a limit on arrival.
ALTER TABLE tickets ADD COLUMN equipment_id INTEGER REFERENCES equipment (id);
ALTER TABLE tickets ADD COLUMN over_limit TEXT;
CREATE INDEX tickets_equipment ON tickets (equipment_id, id);
CREATE INDEX tickets_requester_created ON tickets (requester_id, created_at);
CREATE INDEX tickets_client_created ON tickets (client_id, created_at);
