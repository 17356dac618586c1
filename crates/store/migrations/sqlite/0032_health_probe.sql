-- One row that `/healthz/ready` writes to: readiness means the database takes a write.
CREATE TABLE health_probe (
    id     INTEGER PRIMARY KEY,
    writes BIGINT NOT NULL
);
