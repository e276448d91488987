CREATE TABLE products (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    environment text NOT NULL CHECK (environment IN ('staging', 'production')),
    -- The "C" collation orders names by bytes, as SQLite and Rust do.
    product_name text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (organization_id, environment, product_name),
    -- Target of the product_models and recipient_products foreign keys, so
    -- both sides of a membership belong to one organization and environment.
    UNIQUE (id, organization_id, environment)
);

-- Member models of each product. Deleting a product or a model removes its
-- memberships.
CREATE TABLE product_models (
    product_id uuid NOT NULL,
    model_id uuid NOT NULL,
    organization_id uuid NOT NULL,
    environment text NOT NULL CHECK (environment IN ('staging', 'production')),
    PRIMARY KEY (product_id, model_id),
    FOREIGN KEY (product_id, organization_id, environment)
        REFERENCES products (id, organization_id, environment) ON DELETE CASCADE,
    FOREIGN KEY (model_id, organization_id, environment)
        REFERENCES models (id, organization_id, environment) ON DELETE CASCADE
);

CREATE INDEX product_models_model ON product_models (model_id);
