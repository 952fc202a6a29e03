package main

import (
	"context"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

func TestKeySecret(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := storetest.DSN(t, kind)
			if code, _, errs := runCLI(t, "import", "--db", db, "-f", writeFile(t, doc)); code != 0 {
				t.Fatalf("import: %s", errs)
			}
			code, first, errs := runCLI(t, "key", "secret", "ci-bot", "--db", db)
			first = strings.TrimSpace(first)
			if code != 0 || !strings.HasPrefix(first, store.SecretPrefix) || strings.Count(first, "\n") != 0 || !strings.Contains(errs, "shown only this once") {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, first, errs)
			}
			// Flags may also come first; a new secret replaces the old one.
			code, second, _ := runCLI(t, "key", "secret", "--db", db, "--actor", "ops", "ci-bot")
			second = strings.TrimSpace(second)
			if code != 0 || second == first || !strings.HasPrefix(second, store.SecretPrefix) {
				t.Fatalf("second: exit %d %q", code, second)
			}
			st, err := store.Open(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			hashes, err := st.KeySecretHashes(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if hashes[models.HashSecret(second)] != "ci-bot" || hashes[models.HashSecret(first)] != "" {
				t.Errorf("hashes %v", hashes)
			}

			if code, _, errs := runCLI(t, "key", "secret", "nobody", "--db", db); code != exitUsage || !strings.Contains(errs, `unknown key "nobody"`) {
				t.Errorf("unknown key: exit %d %s", code, errs)
			}
		})
	}
	for _, args := range [][]string{{"key"}, {"key", "rotate", "x"}, {"key", "secret"}, {"key", "secret", "a", "b"}} {
		if code, _, _ := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}
