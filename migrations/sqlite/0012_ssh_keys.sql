-- SSH key pairs generated for customers' tunnels and key-pair logins. They
-- belong to no organization: a key is found by its public form alone.
CREATE TABLE ssh_keys (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36 AND id = lower(id)),
    public_key_openssh TEXT NOT NULL UNIQUE,
    public_key_pkcs8 TEXT NOT NULL UNIQUE,
    -- PKCS#8 private key encrypted with the master key.
    private_key_encrypted BLOB NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

-- Lookups compare the public forms without surrounding ASCII white space
-- (tab, LF, VT, FF, CR, space). The store repeats these expressions
-- verbatim so the planner uses the indexes.
CREATE UNIQUE INDEX ssh_keys_openssh_trimmed
    ON ssh_keys (trim(public_key_openssh, char(9, 10, 11, 12, 13, 32)));
CREATE UNIQUE INDEX ssh_keys_pkcs8_trimmed
    ON ssh_keys (trim(public_key_pkcs8, char(9, 10, 11, 12, 13, 32)));
