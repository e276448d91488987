CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    public_key BLOB NOT NULL,
    -- PKCS#8 document encrypted with the master key.
    private_key_encrypted BLOB NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT
) STRICT;
