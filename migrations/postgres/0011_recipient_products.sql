-- Products each recipient receives. Deleting a recipient or a product
-- removes its rows.
CREATE TABLE recipient_products (
    recipient_id uuid NOT NULL,
    product_id uuid NOT NULL,
    organization_id uuid NOT NULL,
    environment text NOT NULL CHECK (environment IN ('staging', 'production')),
    PRIMARY KEY (recipient_id, product_id),
    FOREIGN KEY (recipient_id, organization_id, environment)
        REFERENCES recipients (id, organization_id, environment) ON DELETE CASCADE,
    FOREIGN KEY (product_id, organization_id, environment)
        REFERENCES products (id, organization_id, environment) ON DELETE CASCADE
);

CREATE INDEX recipient_products_product ON recipient_products (product_id);
