CREATE TABLE destinations (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36 AND id = lower(id)),
    organization_id TEXT NOT NULL,
    environment TEXT NOT NULL CHECK (environment IN ('staging', 'production')),
    recipient_id TEXT NOT NULL,
    vendor TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The destination document without identity fields and secrets, as JSON
    -- text.
    details TEXT NOT NULL CHECK (json_valid(details)),
    -- Secret fields, encrypted with the master key; NULL when there are none.
    secrets BLOB,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    FOREIGN KEY (recipient_id, organization_id, environment)
        REFERENCES recipients (id, organization_id, environment) ON DELETE CASCADE
) STRICT;

CREATE INDEX destinations_recipient
    ON destinations (organization_id, environment, recipient_id, created_at);
