package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/seal"
	"github.com/warden-mcp/warden/models/store"
)

const serverUsage = `usage: warden server set-headers NAME [--db URL] [--actor NAME] [--no-migrate] < headers

  set-headers  replace the headers the gateway adds to every request it relays to server NAME
               (its upstream credentials) with the "Name: value" lines read from standard input;
               empty input clears them. They are stored encrypted under WARDEN_SECRET_KEY, which
               must be set; values are never printed.
`

// runServer runs `warden server SUBCOMMAND`.
func runServer(ctx context.Context, e env, args []string) int {
	return runSubcommand(ctx, e, "server", serverUsage, args, map[string]func(context.Context, env, []string) int{
		"set-headers": runServerSetHeaders,
	})
}

// maxHeaderInput bounds what set-headers reads from standard input.
const maxHeaderInput = 64 << 10

// runServerSetHeaders reads a server's upstream headers from standard input and stores them
// sealed. Input is checked whole before the database is opened: a bad line writes nothing.
func runServerSetHeaders(ctx context.Context, e env, args []string) int {
	fs := newFlags(e, "server set-headers")
	db := dbFlag(fs, e)
	actor := fs.String("actor", "cli", "who the audit log names as setting the headers")
	name, code, ok := parseNamed(e, fs, args, serverUsage)
	if !ok {
		return code
	}
	key, err := e.secretKey()
	if err != nil {
		return fail(e, "server set-headers", err)
	}
	if f, ok := e.stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintln(e.stderr, `reading "Name: value" lines from standard input; end with Ctrl-D (no lines clear the headers)`)
		}
	}
	in, err := io.ReadAll(io.LimitReader(e.stdin, maxHeaderInput+1))
	if err != nil {
		return fail(e, "server set-headers", models.Errorf(models.EInvalid, "read standard input: %v", err))
	}
	if len(in) > maxHeaderInput {
		return fail(e, "server set-headers", models.Errorf(models.EInvalid, "standard input is over %d bytes", maxHeaderInput))
	}
	headers, err := models.ParseHeaderLines(strings.NewReader(string(in)))
	if err != nil {
		return fail(e, "server set-headers", err)
	}
	if len(headers) > 0 && key == nil {
		return fail(e, "server set-headers", models.Errorf(models.EInvalid, "refusing to store upstream headers: %v", seal.ErrNoKey))
	}
	st, err := e.openStore(ctx, *db)
	if err != nil {
		return fail(e, "server set-headers", err)
	}
	defer st.Close()
	if err := st.SetServerAuthHeaders(ctx, name, headers, *actor); err != nil {
		return fail(e, "server set-headers", err)
	}
	if len(headers) == 0 {
		fmt.Fprintf(e.stderr, "cleared the upstream headers of server %q\n", name)
		return exitOK
	}
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	slices.Sort(names)
	fmt.Fprintf(e.stderr, "set %d upstream header(s) of server %q, stored encrypted: %s\n", len(names), name, strings.Join(names, ", "))
	return exitOK
}

// secretKey parses WARDEN_SECRET_KEY: nil when unset, an EInvalid error saying how to make a
// good one when it is malformed or weak.
func (e env) secretKey() (*seal.Key, error) {
	v := e.getenv(seal.EnvVar)
	if v == "" {
		return nil, nil
	}
	k, err := seal.ParseKey(v)
	if err != nil {
		return nil, models.Errorf(models.EInvalid, "%v", err)
	}
	return k, nil
}

// sealPlaintextHeaders encrypts, at start-up and in one transaction, the upstream headers an
// older Warden stored in plain text, when a key is set; without one they stay unused (the live
// view logs each such server with what to do).
func sealPlaintextHeaders(ctx context.Context, logger *slog.Logger, st *store.Store) error {
	if !st.HasSecretKey() {
		return nil
	}
	names, err := st.SealPlaintextHeaders(ctx, "warden serve")
	if err != nil {
		return fmt.Errorf("encrypt upstream headers stored in plain text: %w", err)
	}
	if len(names) > 0 {
		logger.Info("encrypted the upstream headers an older Warden stored in plain text", "servers", names)
	}
	return nil
}
