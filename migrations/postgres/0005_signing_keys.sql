CREATE TABLE signing_keys (
    kid text PRIMARY KEY,
    public_key bytea NOT NULL,
    -- PKCS#8 document encrypted with the master key.
    private_key_encrypted bytea NOT NULL,
    created_at timestamptz NOT NULL,
    retired_at timestamptz
);
