-- +goose Up
-- Console sign-in. Users are not policy: changing them bumps no revision. Every secret here is
-- stored as a hash only (argon2id for passwords, SHA-256 for the 256-bit session ids and API
-- tokens, which leave nothing to brute-force).
CREATE TABLE users (
    id                  BIGSERIAL PRIMARY KEY,
    username            TEXT NOT NULL UNIQUE,
    role                TEXT NOT NULL CHECK (role IN ('admin', 'org_admin', 'viewer')),
    -- '' when the user has no password (signs in only by OIDC).
    password_hash       TEXT NOT NULL DEFAULT '',
    -- issuer + ' ' + subject of the OIDC identity the user signs in as; NULL: local only.
    oidc_subject        TEXT UNIQUE,
    password_changed_at TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);

-- The organizations an org_admin administers, by name (an organization's id changes when an
-- import recreates it; its name is how people and the OIDC group mapping name it).
CREATE TABLE user_orgs (
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization TEXT NOT NULL,
    PRIMARY KEY (user_id, organization)
);

CREATE TABLE sessions (
    id           BIGSERIAL PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    UNIQUE (user_id, name)
);

-- Failed sign-ins, by account ('user:NAME') and by client address ('addr:IP'), counted over a
-- window to slow and then refuse guessing; shared by every replica.
CREATE TABLE login_failures (
    id      BIGSERIAL PRIMARY KEY,
    subject TEXT NOT NULL,
    at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_failures_subject_at ON login_failures (subject, at);

-- A sign-in through OpenID Connect in progress: the state sent to the provider (hashed), with
-- the nonce and PKCE verifier the callback needs, for a few minutes. In the database, so the
-- callback may reach another replica than the one that began it.
CREATE TABLE oidc_flows (
    state_hash TEXT PRIMARY KEY,
    nonce      TEXT NOT NULL,
    verifier   TEXT NOT NULL,
    next_path  TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE oidc_flows;
DROP TABLE login_failures;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE user_orgs;
DROP TABLE users;
