package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
)

// openStore opens the database for a command that writes (serve, import, key secret). It
// migrates the schema first, so the first `warden` or a `warden import` into a new SQLite file
// just works; with --no-migrate it instead refuses a missing database or one whose schema is
// older than the binary's, for deployments that migrate as a step of their own.
//
// WARDEN_SECRET_KEY, when set, is parsed here and handed to the store (store.WithSecretKey): a
// malformed or weak key is refused before the database is opened.
func (e env) openStore(ctx context.Context, dsn string) (*store.Store, error) {
	key, err := e.secretKey()
	if err != nil {
		return nil, err
	}
	opt := store.WithSecretKey(key)
	if e.noMigrate != nil && *e.noMigrate {
		st, err := store.OpenExisting(ctx, dsn, opt)
		if err != nil {
			return nil, fmt.Errorf("%w (not migrated here: --no-migrate or WARDEN_NO_MIGRATE is set)", err)
		}
		return st, nil
	}
	st, err := store.Open(ctx, dsn, opt)
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func runMigrate(ctx context.Context, e env, args []string) int {
	fs := newFlags(e, "migrate")
	db := dbOnlyFlag(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	st, err := store.Open(ctx, *db)
	if err != nil {
		return fail(e, "migrate", err)
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return fail(e, "migrate", err)
	}
	current, _, err := st.SchemaVersion(ctx)
	if err != nil {
		return fail(e, "migrate", err)
	}
	fmt.Fprintf(e.stdout, "applied %d migration(s); %s schema is at version %d\n", len(applied), st.Kind(), current)
	return exitOK
}

func runImport(ctx context.Context, e env, args []string) int {
	fs := newFlags(e, "import")
	db := dbFlag(fs, e)
	file := fs.String("f", "", "policy document to apply (YAML or JSON; - for standard input)")
	actor := fs.String("actor", "cli", "who the audit log names as making the change")
	rem := remoteFlags(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if err := notBoth(fs, rem); err != nil {
		return fail(e, "import", err)
	}
	doc, err := readDocument(*file)
	if err != nil {
		return fail(e, "import", err)
	}
	if rem.set() {
		// What is sent is what was validated here; the server validates it again, and its
		// audit log names the token's user (--actor is for the database path only).
		data, err := models.EncodeDocument(doc)
		if err != nil {
			return fail(e, "import", err)
		}
		sum, err := rem.importDocument(ctx, data)
		if err != nil {
			return fail(e, "import", err)
		}
		fmt.Fprint(e.stdout, sum.String())
		return exitOK
	}
	st, err := e.openStore(ctx, *db)
	if err != nil {
		return fail(e, "import", err)
	}
	defer st.Close()
	sum, err := st.ApplyDocument(ctx, doc, *actor)
	if err != nil {
		return fail(e, "import", err)
	}
	fmt.Fprint(e.stdout, sum.String())
	return exitOK
}

func runExport(ctx context.Context, e env, args []string) int {
	fs := newFlags(e, "export")
	db := dbOnlyFlag(fs, e)
	rem := remoteFlags(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if err := notBoth(fs, rem); err != nil {
		return fail(e, "export", err)
	}
	if rem.set() {
		out, err := rem.exported(ctx)
		if err != nil {
			return fail(e, "export", err)
		}
		if _, err := e.stdout.Write(out); err != nil {
			return fail(e, "export", err)
		}
		return exitOK
	}
	// Export only reads: a newer binary run against production must not change its schema.
	st, err := store.OpenReadOnly(ctx, *db)
	if err != nil {
		return fail(e, "export", err)
	}
	defer st.Close()
	doc, _, err := st.LoadDocument(ctx)
	if err != nil {
		return fail(e, "export", err)
	}
	out, err := models.EncodeDocument(doc)
	if err != nil {
		return fail(e, "export", err)
	}
	_, err = e.stdout.Write(out)
	if err != nil {
		return fail(e, "export", err)
	}
	return exitOK
}

// readDocument reads and fully validates a policy document from a file or standard input.
func readDocument(path string) (*models.Document, error) {
	if path == "" {
		return nil, models.Errorf(models.EInvalid, "-f FILE is required")
	}
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, models.Errorf(models.EInvalid, "read policy document: %v", err)
	}
	return models.LoadDocument(data)
}
