-- +goose Up
-- The decision log: every tools/call decision and every filtered tools/list the gateway made,
-- written in batches off the request path and pruned after the retention period. Names, not ids:
-- a row must stay readable after the key or server it names is renamed or deleted.
CREATE TABLE decisions (
    id         BIGSERIAL PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    kind       TEXT NOT NULL, -- 'call' (tools/call, decision API) or 'list' (filtered tools/list)
    key_name   TEXT NOT NULL DEFAULT '',
    end_user   TEXT NOT NULL DEFAULT '',
    agent      TEXT NOT NULL DEFAULT '',
    server     TEXT NOT NULL DEFAULT '',
    tool       TEXT NOT NULL DEFAULT '',
    allowed    BOOLEAN NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    revision   BIGINT NOT NULL
);
CREATE INDEX decisions_at ON decisions (at);

-- +goose Down
DROP TABLE decisions;
