-- +goose Up
-- Headers the gateway adds to every request it relays to this server (e.g. an upstream bearer
-- token), as a JSON object. Kept out of policy documents: they are credentials.
ALTER TABLE servers ADD COLUMN auth_headers TEXT NOT NULL DEFAULT '';
-- When the key's current secret was issued; NULL while it has none.
ALTER TABLE api_keys ADD COLUMN secret_issued_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE api_keys DROP COLUMN secret_issued_at;
ALTER TABLE servers DROP COLUMN auth_headers;
