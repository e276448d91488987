CREATE TABLE audit_events (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    environment text NOT NULL CHECK (environment IN ('staging', 'production')),
    action text NOT NULL,
    -- The API key that acted, when one did.
    api_key_id uuid,
    recipient_id uuid,
    -- Action-specific facts; never a key, token or secret.
    details jsonb NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE INDEX audit_events_created
    ON audit_events (organization_id, environment, created_at, id);
