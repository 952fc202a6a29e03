-- +goose Up
-- Guards: invariants every draft must keep (models.GuardDoc). A guard is either forbid (a JSON
-- array of server/tool patterns) or tool with at_most; scope is the JSON of its `for` mapping,
-- '' for every key. Guards name principals and tools by name, as documents do.
CREATE TABLE guards (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    forbid      TEXT NOT NULL DEFAULT '',
    tool        TEXT NOT NULL DEFAULT '',
    at_most     BIGINT CHECK (at_most >= 0),
    scope       TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE guards;
