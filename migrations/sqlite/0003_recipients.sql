CREATE TABLE recipients (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36 AND id = lower(id)),
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    environment TEXT NOT NULL CHECK (environment IN ('staging', 'production')),
    id_in_provider_system TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (organization_id, environment, id_in_provider_system),
    -- Target of the destinations foreign key, so a destination can only
    -- point at a recipient of its own organization and environment.
    UNIQUE (id, organization_id, environment)
) STRICT;
