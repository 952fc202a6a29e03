-- +goose Up
-- The permission model. Every level (organization, team, key, end user, agent) carries
-- mcp_restricted: FALSE = no mcp block (the level does not restrict), TRUE = restricts to exactly
-- its rows in mcp_entries, so TRUE with no rows means "no MCP access".
CREATE TABLE policy_state (
    id       BIGINT PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL
);
INSERT INTO policy_state (id, revision) VALUES (1, 0);

CREATE TABLE servers (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    url            TEXT NOT NULL DEFAULT '',
    public         BOOLEAN NOT NULL DEFAULT FALSE,
    last_synced_at TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE server_tools (
    id           BIGSERIAL PRIMARY KEY,
    server_id    BIGINT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    input_schema TEXT NOT NULL DEFAULT '',
    disabled     BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (server_id, name)
);

CREATE TABLE access_groups (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE access_group_servers (
    access_group_id BIGINT NOT NULL REFERENCES access_groups (id) ON DELETE CASCADE,
    server_id       BIGINT NOT NULL REFERENCES servers (id),
    PRIMARY KEY (access_group_id, server_id)
);

CREATE TABLE toolsets (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE toolset_tools (
    toolset_id BIGINT NOT NULL REFERENCES toolsets (id) ON DELETE CASCADE,
    server_id  BIGINT NOT NULL REFERENCES servers (id),
    tool       TEXT NOT NULL,
    PRIMARY KEY (toolset_id, server_id, tool)
);

CREATE TABLE organizations (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    blocked        BOOLEAN NOT NULL DEFAULT FALSE,
    mcp_restricted BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE teams (
    id              BIGSERIAL PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    organization_id BIGINT REFERENCES organizations (id),
    blocked         BOOLEAN NOT NULL DEFAULT FALSE,
    mcp_restricted  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX teams_organization_id ON teams (organization_id);

CREATE TABLE agents (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    mcp_restricted BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE end_users (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    mcp_restricted BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_keys (
    id              BIGSERIAL PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    team_id         BIGINT REFERENCES teams (id),
    organization_id BIGINT REFERENCES organizations (id),
    agent_id        BIGINT REFERENCES agents (id),
    blocked         BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at      TIMESTAMPTZ,
    secret_hash     TEXT UNIQUE,
    secret_prefix   TEXT NOT NULL DEFAULT '',
    mcp_restricted  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX api_keys_team_id ON api_keys (team_id);
CREATE INDEX api_keys_organization_id ON api_keys (organization_id);

-- One row per item of a level's MCP permission or deny list. principal_id points into the table
-- named by principal_kind; the store keeps the two in step inside its transactions.
CREATE TABLE mcp_entries (
    id              BIGSERIAL PRIMARY KEY,
    principal_kind  TEXT NOT NULL CHECK (principal_kind IN ('organization', 'team', 'key', 'end_user', 'agent')),
    principal_id    BIGINT NOT NULL,
    entry           TEXT NOT NULL CHECK (entry IN ('server', 'access_group', 'toolset', 'tool', 'deny')),
    server_id       BIGINT REFERENCES servers (id),
    access_group_id BIGINT REFERENCES access_groups (id),
    toolset_id      BIGINT REFERENCES toolsets (id),
    tool            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX mcp_entries_principal ON mcp_entries (principal_kind, principal_id);

CREATE TABLE audit_events (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity_kind TEXT NOT NULL,
    entity_name TEXT NOT NULL,
    before      TEXT NOT NULL DEFAULT '',
    after       TEXT NOT NULL DEFAULT '',
    summary     TEXT NOT NULL DEFAULT '',
    revision    BIGINT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE mcp_entries;
DROP TABLE api_keys;
DROP TABLE end_users;
DROP TABLE agents;
DROP TABLE teams;
DROP TABLE organizations;
DROP TABLE toolset_tools;
DROP TABLE toolsets;
DROP TABLE access_group_servers;
DROP TABLE access_groups;
DROP TABLE server_tools;
DROP TABLE servers;
DROP TABLE policy_state;
