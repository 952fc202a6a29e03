package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/warden-mcp/warden/models/resolver/gen"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// The benchmarks below run whole commands in-process on the document of issue 13
// (gen.Large(): 50 organizations, 2,000 teams, 100,000 keys, 200 servers × 30 tools, ≈ 13 MB of
// JSON; gen.Small() with -short), written as JSON files once per test binary. They measure the
// same code as the whole-process figures in README "Speed", without process start-up; run one
// with -cpuprofile or -memprofile to see where its time and memory go:
//
//	go test ./cmd/warden -run '^$' -bench 'Policy|Export|Import' -benchmem
//
// The Postgres ones need WARDEN_TEST_DATABASE_URL (or skip, and fail under CI).

var benchFiles struct {
	once        sync.Once
	dir         string
	doc, change string // the document, and the same with one organization changed
	err         error
}

// benchDocs writes the two documents once; they outlive any one benchmark, so they go in a
// directory of their own, which TestMain removes.
func benchDocs(b *testing.B) (doc, changed string) {
	b.Helper()
	benchFiles.once.Do(func() {
		cfg := gen.Large()
		if testing.Short() {
			cfg = gen.Small()
		}
		benchFiles.dir, benchFiles.err = os.MkdirTemp("", "warden-bench-")
		if benchFiles.err != nil {
			return
		}
		d := gen.Generate(cfg)
		benchFiles.doc = filepath.Join(benchFiles.dir, "doc.json")
		if benchFiles.err = writeDocFile(benchFiles.doc, func(w io.Writer) error { return gen.WriteJSON(w, d) }); benchFiles.err != nil {
			return
		}
		if benchFiles.err = gen.ChangeOrganization(d, gen.OrgName(7%cfg.Organizations)); benchFiles.err != nil {
			return
		}
		benchFiles.change = filepath.Join(benchFiles.dir, "changed.json")
		benchFiles.err = writeDocFile(benchFiles.change, func(w io.Writer) error { return gen.WriteJSON(w, d) })
	})
	if benchFiles.err != nil {
		b.Fatal(benchFiles.err)
	}
	return benchFiles.doc, benchFiles.change
}

func writeDocFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// benchRun runs `warden args...` b.N times, its output thrown away, failing on a non-zero exit.
func benchRun(b *testing.B, args ...string) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		if code := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard); code != 0 {
			b.Fatalf("warden %v: exit %d", args, code)
		}
	}
}

// benchDB is a database of kind holding the document, imported once.
func benchDB(b *testing.B, kind string) string {
	b.Helper()
	doc, _ := benchDocs(b)
	db := storetest.DSN(b, kind)
	if code := run(context.Background(), []string{"import", "-f", doc, "--db", db}, func(string) string { return "" }, io.Discard, io.Discard); code != 0 {
		b.Fatalf("import: exit %d", code)
	}
	return db
}

func BenchmarkPolicyValidate(b *testing.B) {
	doc, _ := benchDocs(b)
	benchRun(b, "policy", "validate", "-f", doc)
}

func BenchmarkPolicyDiff(b *testing.B) {
	doc, changed := benchDocs(b)
	benchRun(b, "policy", "diff", "--before", doc, "--after", changed)
}

func BenchmarkPolicyAccess(b *testing.B) {
	doc, _ := benchDocs(b)
	b.Run("file", func(b *testing.B) { benchRun(b, "policy", "access", "-f", doc) })
	b.Run("org", func(b *testing.B) { benchRun(b, "policy", "access", "-f", doc, "--org", gen.OrgName(1)) })
}

func BenchmarkExport(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			db := benchDB(b, kind)
			benchRun(b, "export", "--db", db)
		})
	}
}

// BenchmarkImport measures an import into an empty database ("empty": each iteration gets a
// fresh one, whose creation is not timed) and the re-import of the document with one
// organization changed, alternating with the original so that every iteration changes it.
func BenchmarkImport(b *testing.B) {
	doc, changed := benchDocs(b)
	for _, kind := range storetest.Kinds {
		b.Run(kind+"/empty", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				db := storetest.DSN(b, kind)
				// Migrating is not the import's cost.
				if code := run(context.Background(), []string{"migrate", "--db", db}, func(string) string { return "" }, io.Discard, io.Discard); code != 0 {
					b.Fatalf("migrate: exit %d", code)
				}
				b.StartTimer()
				if code := run(context.Background(), []string{"import", "-f", doc, "--db", db}, func(string) string { return "" }, io.Discard, io.Discard); code != 0 {
					b.Fatalf("import: exit %d", code)
				}
			}
		})
		b.Run(kind+"/one-org", func(b *testing.B) {
			db := benchDB(b, kind)
			files := []string{changed, doc}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if code := run(context.Background(), []string{"import", "-f", files[i%2], "--db", db}, func(string) string { return "" }, io.Discard, io.Discard); code != 0 {
					b.Fatalf("import: exit %d", code)
				}
				i++
			}
		})
	}
}
