package mcpgw

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// The SSE reader drops a byte order mark at the start of the stream (a client's reader does),
// ends lines at LF, CRLF and a lone CR, also when a CRLF is split between two reads, and hands
// on each block with its lines ended by LF.
func TestSSEReaderLineEnds(t *testing.T) {
	const stream = "\ufeffevent: message\r\ndata: a\rdata: b\n\r\nid: 7\rdata: c\r\r: comment\n\ndata: d\r\n\r\n"
	want := []struct{ raw, data, name string }{
		{"event: message\ndata: a\ndata: b\n", "a\nb", "message"},
		{"id: 7\ndata: c\n", "c", ""},
		{": comment\n", "", ""},
		{"data: d\n", "d", ""},
	}
	for name, rd := range map[string]io.Reader{
		"whole":       strings.NewReader(stream),
		"byte a read": iotest.OneByteReader(strings.NewReader(stream)),
	} {
		t.Run(name, func(t *testing.T) {
			r := newSSEReader(rd, 1<<20)
			var ev sseEvent
			for i, w := range want {
				if err := r.next(&ev); err != nil {
					t.Fatalf("block %d: %v", i, err)
				}
				if string(ev.raw) != w.raw || string(ev.data) != w.data || ev.name != w.name {
					t.Errorf("block %d: raw %q data %q name %q; want %q %q %q", i, ev.raw, ev.data, ev.name, w.raw, w.data, w.name)
				}
			}
			if err := r.next(&ev); err != io.EOF {
				t.Errorf("end: %v, want EOF", err)
			}
		})
	}
	// A block cut short, and one over the bound.
	r := newSSEReader(strings.NewReader("data: x\r"), 1<<20)
	var ev sseEvent
	if err := r.next(&ev); err != io.ErrUnexpectedEOF {
		t.Errorf("cut block: %v", err)
	}
	r = newSSEReader(strings.NewReader("data: "+strings.Repeat("x", 100)+"\n\n"), 50)
	if err := r.next(&ev); err != errEventTooLarge {
		t.Errorf("large block: %v", err)
	}
}
