-- +goose Up
-- The decision log, compact, and its hourly rollup (see models/store/decisions.go).
--
-- Raw decisions are stored a segment a row: one row holds a batch the writer wrote at once,
-- encoded with its own table of the names it uses and small integers for everything else (about
-- 15 bytes a decision instead of ~130), so the log costs one INSERT a batch, not one a decision.
-- Times are BIGINT microseconds since the Unix epoch (UTC), the same on both databases.
-- On Postgres the table is partitioned by day of first_at (partitions decisions_dYYYYMMDD are
-- created by the writer as days come), so retention drops whole partitions; SQLite deletes rows.
--
-- The rollup counts the calls (tools/call and decision API checks, not tools/list) of each
-- (key, end user, agent, server, tool) per hour, so a replay reads tens of thousands of tuples
-- rather than millions of decisions. Tuples are numbered once in decision_tuples; names, not
-- ids of keys or servers, so a tuple stays readable after what it names is renamed or deleted.
--
-- The decision log of version 3 (one row a decision, names repeated) is kept, read-only, as
-- decisions_legacy until the raw retention has pruned it; its calls are counted into the rollup
-- here, so a replay sees them too. New decision ids (segment id << 16 | index) sort after the
-- legacy ones.
ALTER TABLE decisions RENAME TO decisions_legacy;

CREATE TABLE decision_tuples (
    id       BIGSERIAL PRIMARY KEY,
    key_name TEXT NOT NULL,
    end_user TEXT NOT NULL,
    agent    TEXT NOT NULL,
    server   TEXT NOT NULL,
    tool     TEXT NOT NULL,
    UNIQUE (key_name, end_user, agent, server, tool)
);

CREATE TABLE decision_rollup (
    hour      BIGINT NOT NULL, -- start of the hour, seconds since the epoch
    tuple_id  BIGINT NOT NULL,
    calls     BIGINT NOT NULL,
    last_seen BIGINT NOT NULL, -- microseconds since the epoch
    PRIMARY KEY (hour, tuple_id)
);
-- No index on tuple_id: SQLite would read a whole rollup through it to group by tuple rather
-- than the few hours asked for through the primary key.

-- The rollup summed per tuple over each replay window (24 h, 7 d, 30 d), refreshed every hour
-- by the decision log writer: a replay reads these tuples and the hours since, not every hour of
-- the window. decision_windows says which hours each window's totals count.
CREATE TABLE decision_window_totals (
    window_hours INTEGER NOT NULL,
    tuple_id     BIGINT NOT NULL,
    calls        BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    PRIMARY KEY (window_hours, tuple_id)
);
CREATE TABLE decision_windows (
    window_hours INTEGER PRIMARY KEY,
    until_hour   BIGINT NOT NULL -- the totals count the hours [until_hour - window, until_hour)
);

INSERT INTO decision_tuples (key_name, end_user, agent, server, tool)
SELECT DISTINCT key_name, end_user, agent, server, tool FROM decisions_legacy WHERE kind = 'call' AND tool <> '';

-- +warden postgres
CREATE TABLE decisions (
    id       BIGSERIAL NOT NULL,
    first_at BIGINT NOT NULL,
    last_at  BIGINT NOT NULL,
    n        INTEGER NOT NULL,
    data     BYTEA NOT NULL
) PARTITION BY RANGE (first_at);
CREATE INDEX decisions_segment_id ON decisions (id);
CREATE INDEX decisions_segment_last_at ON decisions (last_at);

SELECT setval(pg_get_serial_sequence('decisions', 'id'), (SELECT coalesce(max(id), 0) FROM decisions_legacy) / 65536 + 1, false);

INSERT INTO decision_rollup (hour, tuple_id, calls, last_seen)
SELECT floor(extract(epoch FROM d.at) / 3600)::bigint * 3600, t.id, count(*), max(floor(extract(epoch FROM d.at) * 1000000)::bigint)
FROM decisions_legacy d
JOIN decision_tuples t ON (t.key_name, t.end_user, t.agent, t.server, t.tool) = (d.key_name, d.end_user, d.agent, d.server, d.tool)
WHERE d.kind = 'call' AND d.tool <> ''
GROUP BY 1, 2;
-- +warden end

-- +warden sqlite
CREATE TABLE decisions (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    first_at BIGINT NOT NULL,
    last_at  BIGINT NOT NULL,
    n        INTEGER NOT NULL,
    data     BLOB NOT NULL
);
CREATE INDEX decisions_segment_last_at ON decisions (last_at);

INSERT INTO sqlite_sequence (name, seq) SELECT 'decisions', coalesce(max(id), 0) / 65536 FROM decisions_legacy;

INSERT INTO decision_rollup (hour, tuple_id, calls, last_seen)
SELECT CAST(strftime('%s', d.at) AS INTEGER) / 3600 * 3600, t.id, count(*),
       max(CAST(strftime('%s', d.at) AS INTEGER) * 1000000 + CAST(substr(strftime('%f', d.at), 4) AS INTEGER) * 1000) -- SQLite's dates keep milliseconds
FROM decisions_legacy d
JOIN decision_tuples t ON t.key_name = d.key_name AND t.end_user = d.end_user AND t.agent = d.agent AND t.server = d.server AND t.tool = d.tool
WHERE d.kind = 'call' AND d.tool <> ''
GROUP BY 1, 2;
-- +warden end

-- +goose Down
DROP TABLE decisions;
DROP TABLE decision_windows;
DROP TABLE decision_window_totals;
DROP TABLE decision_rollup;
DROP TABLE decision_tuples;
ALTER TABLE decisions_legacy RENAME TO decisions;
