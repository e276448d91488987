CREATE TABLE products (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36 AND id = lower(id)),
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    environment TEXT NOT NULL CHECK (environment IN ('staging', 'production')),
    product_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (organization_id, environment, product_name),
    -- Target of the product_models and recipient_products foreign keys, so
    -- both sides of a membership belong to one organization and environment.
    UNIQUE (id, organization_id, environment)
) STRICT;

-- Member models of each product. Deleting a product or a model removes its
-- memberships.
CREATE TABLE product_models (
    product_id TEXT NOT NULL,
    model_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    environment TEXT NOT NULL CHECK (environment IN ('staging', 'production')),
    PRIMARY KEY (product_id, model_id),
    FOREIGN KEY (product_id, organization_id, environment)
        REFERENCES products (id, organization_id, environment) ON DELETE CASCADE,
    FOREIGN KEY (model_id, organization_id, environment)
        REFERENCES models (id, organization_id, environment) ON DELETE CASCADE
) STRICT;

CREATE INDEX product_models_model ON product_models (model_id);
