CREATE TABLE recipients (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    environment text NOT NULL CHECK (environment IN ('staging', 'production')),
    id_in_provider_system text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (organization_id, environment, id_in_provider_system),
    -- Target of the destinations foreign key, so a destination can only
    -- point at a recipient of its own organization and environment.
    UNIQUE (id, organization_id, environment)
);
