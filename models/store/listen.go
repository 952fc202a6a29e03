package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrListenUnsupported is what ListenRevisions returns at once on SQLite: it has no
// LISTEN/NOTIFY, and needs none, since a SQLite database is served by a single process whose
// saves refresh its state directly (a periodic Revision check covers anything else, such as a
// `warden import` from another process).
var ErrListenUnsupported = errors.New("revision notifications need Postgres; SQLite has none (poll Revision instead)")

// ListenApplicationName names ListenRevisions' connection in pg_stat_activity (unless the DSN
// sets application_name).
const ListenApplicationName = "warden-listen"

// listenPing is how long ListenRevisions waits for a notification before checking the
// connection is still alive, so a silently dead connection is noticed (and reconnected by the
// caller) within about this long.
const listenPing = 15 * time.Second

// ListenRevisions announces committed policy revisions: it opens a dedicated pgx connection on
// the store's DSN, LISTENs on RevisionChannel, then calls fn once with the current revision (read
// after LISTEN took effect, so no commit can fall between that read and the first notification)
// and again with the revision of every notification, in order, on the calling goroutine. fn gets
// 0 for a notification whose payload is not a revision (someone ran NOTIFY by hand): re-read it.
//
// It returns ctx's error when ctx ends, or the error that broke the connection; it does not
// reconnect (the caller retries with backoff). On SQLite it returns ErrListenUnsupported at once.
func (s *Store) ListenRevisions(ctx context.Context, fn func(rev int64)) error {
	if s.kind != KindPostgres {
		return ErrListenUnsupported
	}
	cfg, err := pgx.ParseConfig(s.dsn)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if _, set := cfg.RuntimeParams["application_name"]; !set {
		cfg.RuntimeParams["application_name"] = ListenApplicationName
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("listen: connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{RevisionChannel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var rev int64
	if err := conn.QueryRow(ctx, "SELECT revision FROM policy_state WHERE id = 1").Scan(&rev); err != nil {
		return fmt.Errorf("listen: read revision: %w", err)
	}
	fn(rev)
	for {
		waitCtx, cancel := context.WithTimeout(ctx, listenPing)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed() {
				// Quiet for a while: make sure the server is still there.
				pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err = conn.Ping(pingCtx)
				cancel()
				if err == nil {
					continue
				}
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("listen: %w", err)
		}
		rev, err := strconv.ParseInt(n.Payload, 10, 64)
		if err != nil {
			rev = 0
		}
		fn(rev)
	}
}
