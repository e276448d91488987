-- Browser origins that an API key named in a successful mint; CORS
-- preflights from these origins are answered.
CREATE TABLE allowed_origins (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    environment text NOT NULL CHECK (environment IN ('staging', 'production')),
    origin text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (organization_id, environment, origin)
);

CREATE INDEX allowed_origins_origin ON allowed_origins (origin);
