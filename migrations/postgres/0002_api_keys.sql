CREATE TABLE api_keys (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    environment text NOT NULL CHECK (environment IN ('staging', 'production')),
    name text,
    key_hash bytea NOT NULL UNIQUE,
    display_prefix text NOT NULL,
    created_at timestamptz NOT NULL,
    last_used_at timestamptz,
    expires_at timestamptz,
    revoked_at timestamptz
);

CREATE INDEX api_keys_organization ON api_keys (organization_id, created_at);
