CREATE TABLE models (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    environment text NOT NULL CHECK (environment IN ('staging', 'production')),
    -- The "C" collation orders names by bytes, as SQLite and Rust do.
    model_name text COLLATE "C" NOT NULL,
    description text NOT NULL,
    -- JSON array of column definitions.
    columns jsonb NOT NULL,
    source_table text NOT NULL,
    source_schema text NOT NULL,
    organization_column text NOT NULL,
    source_name text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (organization_id, environment, model_name),
    -- Target of the product_models foreign key, so a product can only
    -- contain models of its own organization and environment.
    UNIQUE (id, organization_id, environment)
);
