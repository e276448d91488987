CREATE TABLE models (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36 AND id = lower(id)),
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    environment TEXT NOT NULL CHECK (environment IN ('staging', 'production')),
    model_name TEXT NOT NULL,
    description TEXT NOT NULL,
    -- JSON array of column definitions, as JSON text.
    columns TEXT NOT NULL CHECK (json_valid(columns)),
    source_table TEXT NOT NULL,
    source_schema TEXT NOT NULL,
    organization_column TEXT NOT NULL,
    source_name TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (organization_id, environment, model_name),
    -- Target of the product_models foreign key, so a product can only
    -- contain models of its own organization and environment.
    UNIQUE (id, organization_id, environment)
) STRICT;
