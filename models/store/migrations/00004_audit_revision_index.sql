-- +goose Up
-- Saves look up the changes committed since the revision their preview was computed at.
CREATE INDEX audit_events_revision ON audit_events (revision);

-- +goose Down
DROP INDEX audit_events_revision;
