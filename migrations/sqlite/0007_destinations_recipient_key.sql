-- Target of the transfers foreign key, so a transfer can only point at a
-- destination of its own organization, environment and recipient. SQLite
-- cannot add a constraint to an existing table, and a unique index serves
-- as a foreign key target just as well.
CREATE UNIQUE INDEX destinations_tenant_recipient_key
    ON destinations (id, organization_id, environment, recipient_id);
