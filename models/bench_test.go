package models_test

import (
	"bytes"
	"io"
	"sync"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver/gen"
)

// Benchmarks of reading and writing the document of issue 13 (gen.Large(); gen.Small() with
// -short). The whole commands are benchmarked in cmd/warden.

var benchDoc struct {
	once sync.Once
	doc  *models.Document
	json []byte
}

func largeDoc(b *testing.B) (*models.Document, []byte) {
	benchDoc.once.Do(func() {
		cfg := gen.Large()
		if testing.Short() {
			cfg = gen.Small()
		}
		benchDoc.doc = gen.Generate(cfg)
		var buf bytes.Buffer
		if err := gen.WriteJSON(&buf, benchDoc.doc); err != nil {
			b.Fatal(err)
		}
		benchDoc.json = buf.Bytes()
	})
	return benchDoc.doc, benchDoc.json
}

func BenchmarkLoadDocumentJSON(b *testing.B) {
	_, data := largeDoc(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := models.LoadDocument(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadDocumentYAML(b *testing.B) {
	doc, _ := largeDoc(b)
	data, err := models.EncodeDocument(doc)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := models.LoadDocument(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	doc, _ := largeDoc(b)
	b.ReportAllocs()
	for b.Loop() {
		if probs := doc.Validate(); probs != nil {
			b.Fatal(probs)
		}
	}
}

func BenchmarkWriteDocument(b *testing.B) {
	doc, _ := largeDoc(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := models.WriteDocument(io.Discard, doc); err != nil {
			b.Fatal(err)
		}
	}
}
