CREATE TABLE transfers (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    environment text NOT NULL CHECK (environment IN ('staging', 'production')),
    destination_id uuid NOT NULL,
    recipient_id uuid NOT NULL,
    status text NOT NULL CHECK (status IN ('PENDING', 'RUNNING', 'SUCCESS', 'ERROR',
        'PARTIAL_FAILURE', 'CANCELLED', 'EXPIRED', 'ORPHANED')),
    -- JSON array of the model names the transfer covers.
    models jsonb NOT NULL,
    -- JSON array of per-model metrics.
    model_metrics jsonb NOT NULL,
    log text NOT NULL,
    submitted_at timestamptz NOT NULL,
    started_at timestamptz,
    ended_at timestamptz,
    rows_transferred bigint NOT NULL,
    volume_transferred_in_mb double precision NOT NULL,
    updated_at timestamptz NOT NULL,
    FOREIGN KEY (destination_id, organization_id, environment, recipient_id)
        REFERENCES destinations (id, organization_id, environment, recipient_id)
        ON DELETE CASCADE
);

-- Keyset pagination orders by (submitted_at, id), with or without a
-- destination filter.
CREATE INDEX transfers_destination_submitted
    ON transfers (organization_id, environment, destination_id, submitted_at, id);
CREATE INDEX transfers_submitted
    ON transfers (organization_id, environment, submitted_at, id);
