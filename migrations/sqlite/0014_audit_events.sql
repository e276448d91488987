CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36 AND id = lower(id)),
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    environment TEXT NOT NULL CHECK (environment IN ('staging', 'production')),
    action TEXT NOT NULL,
    -- The API key that acted, when one did.
    api_key_id TEXT,
    recipient_id TEXT,
    -- Action-specific facts as JSON text; never a key, token or secret.
    details TEXT NOT NULL CHECK (json_valid(details)),
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX audit_events_created
    ON audit_events (organization_id, environment, created_at, id);
