-- SSH key pairs generated for customers' tunnels and key-pair logins. They
-- belong to no organization: a key is found by its public form alone.
CREATE TABLE ssh_keys (
    id uuid PRIMARY KEY,
    public_key_openssh text NOT NULL UNIQUE,
    public_key_pkcs8 text NOT NULL UNIQUE,
    -- PKCS#8 private key encrypted with the master key.
    private_key_encrypted bytea NOT NULL,
    created_at timestamptz NOT NULL
);

-- Lookups compare the public forms without surrounding ASCII white space
-- (tab, LF, VT, FF, CR, space). The store repeats these expressions
-- verbatim so the planner uses the indexes.
CREATE UNIQUE INDEX ssh_keys_openssh_trimmed
    ON ssh_keys (btrim(public_key_openssh, E'\t\n\x0B\f\r '));
CREATE UNIQUE INDEX ssh_keys_pkcs8_trimmed
    ON ssh_keys (btrim(public_key_pkcs8, E'\t\n\x0B\f\r '));
