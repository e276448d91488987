CREATE TABLE transfers (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36 AND id = lower(id)),
    organization_id TEXT NOT NULL,
    environment TEXT NOT NULL CHECK (environment IN ('staging', 'production')),
    destination_id TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('PENDING', 'RUNNING', 'SUCCESS', 'ERROR',
        'PARTIAL_FAILURE', 'CANCELLED', 'EXPIRED', 'ORPHANED')),
    -- JSON array of the model names the transfer covers, as JSON text.
    models TEXT NOT NULL CHECK (json_valid(models)),
    -- JSON array of per-model metrics, as JSON text.
    model_metrics TEXT NOT NULL CHECK (json_valid(model_metrics)),
    log TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    rows_transferred INTEGER NOT NULL,
    volume_transferred_in_mb REAL NOT NULL,
    updated_at TEXT NOT NULL,
    FOREIGN KEY (destination_id, organization_id, environment, recipient_id)
        REFERENCES destinations (id, organization_id, environment, recipient_id)
        ON DELETE CASCADE
) STRICT;

-- Keyset pagination orders by (submitted_at, id), with or without a
-- destination filter.
CREATE INDEX transfers_destination_submitted
    ON transfers (organization_id, environment, destination_id, submitted_at, id);
CREATE INDEX transfers_submitted
    ON transfers (organization_id, environment, submitted_at, id);
