-- Target of the transfers foreign key, so a transfer can only point at a
-- destination of its own organization, environment and recipient.
ALTER TABLE destinations
    ADD CONSTRAINT destinations_tenant_recipient_key
    UNIQUE (id, organization_id, environment, recipient_id);
