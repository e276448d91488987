CREATE TABLE destinations (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    environment text NOT NULL CHECK (environment IN ('staging', 'production')),
    recipient_id uuid NOT NULL,
    vendor text NOT NULL,
    name text NOT NULL,
    -- The destination document without identity fields and secrets.
    details jsonb NOT NULL,
    -- Secret fields, encrypted with the master key; NULL when there are none.
    secrets bytea,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    FOREIGN KEY (recipient_id, organization_id, environment)
        REFERENCES recipients (id, organization_id, environment) ON DELETE CASCADE
);

CREATE INDEX destinations_recipient
    ON destinations (organization_id, environment, recipient_id, created_at);
