-- SQLite form of the Postgres schema with the same version number. UUIDs are
-- lowercase hyphenated TEXT, and timestamps are RFC 3339 TEXT in UTC with a
-- "+00:00" offset, as sqlx writes chrono values. That form sorts in time
-- order, so ORDER BY created_at works on the text.
CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36 AND id = lower(id)),
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
) STRICT;
