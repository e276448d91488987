-- Products each recipient receives. Deleting a recipient or a product
-- removes its rows.
CREATE TABLE recipient_products (
    recipient_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    environment TEXT NOT NULL CHECK (environment IN ('staging', 'production')),
    PRIMARY KEY (recipient_id, product_id),
    FOREIGN KEY (recipient_id, organization_id, environment)
        REFERENCES recipients (id, organization_id, environment) ON DELETE CASCADE,
    FOREIGN KEY (product_id, organization_id, environment)
        REFERENCES products (id, organization_id, environment) ON DELETE CASCADE
) STRICT;

CREATE INDEX recipient_products_product ON recipient_products (product_id);
