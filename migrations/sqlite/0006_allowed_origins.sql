-- Browser origins that an API key named in a successful mint; CORS
-- preflights from these origins are answered.
CREATE TABLE allowed_origins (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    environment TEXT NOT NULL CHECK (environment IN ('staging', 'production')),
    origin TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (organization_id, environment, origin)
) STRICT;

CREATE INDEX allowed_origins_origin ON allowed_origins (origin);
