-- Admin keys may manage API keys and signing keys; standard keys may not.
ALTER TABLE api_keys
    ADD COLUMN role TEXT NOT NULL DEFAULT 'standard' CHECK (role IN ('admin', 'standard'));
