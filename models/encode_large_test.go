package models_test

import (
	"bytes"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver/gen"
)

// On generated documents, whose entities are written without the YAML library's emitter (see
// writeSimple), the output is the bytes of the whole-tree encoding.
func TestWriteDocumentGenerated(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		cfg := gen.Small()
		cfg.Seed = seed
		d := gen.Generate(cfg)
		got, err := models.EncodeDocument(d)
		if err != nil {
			t.Fatal(err)
		}
		if want := models.EncodeWholeTree(d); !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Fatalf("seed %d: output differs at byte %d:\n%s\nwant\n%s", seed, i, got[max(0, i-200):min(len(got), i+200)], want[max(0, i-200):min(len(want), i+200)])
		}
	}
}
