package mcpgw

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// sseEvent is one server-sent event block as received: its lines (every line up to the blank
// line that ends the block, each ended by "\n" whatever ended it in the stream) and the fields
// the gateway reads.
type sseEvent struct {
	raw     []byte
	data    []byte // the data lines joined with "\n"
	hasData bool
	name    string // the event field ("" means "message")
}

// sseReader reads event blocks from an SSE stream.
type sseReader struct {
	br  *bufio.Reader
	max int // largest block accepted, in bytes
	// skipLF: the last line ended with CR, so an LF right after it belongs to that line end.
	skipLF bool
	// started: the stream's first bytes were looked at for a byte order mark.
	started bool
}

var errEventTooLarge = errors.New("server-sent event too large")

const bom = "\xef\xbb\xbf"

func newSSEReader(r io.Reader, max int) *sseReader {
	return &sseReader{br: bufio.NewReaderSize(r, 32<<10), max: max}
}

// next reads the next block into ev (reusing its buffers). It returns io.EOF at the clean end of
// the stream; a block cut short by the end of the stream is returned with io.ErrUnexpectedEOF.
func (r *sseReader) next(ev *sseEvent) error {
	ev.raw, ev.data, ev.hasData, ev.name = ev.raw[:0], ev.data[:0], false, ""
	for {
		start := len(ev.raw)
		line, err := r.readLine(&ev.raw)
		if err != nil {
			if err == io.EOF && len(ev.raw) == 0 {
				return io.EOF
			}
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		if len(line) == 0 {
			// The blank line ends the block; it is not part of raw.
			ev.raw = ev.raw[:start]
			if len(ev.raw) == 0 {
				continue // stray blank line between blocks
			}
			return nil
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if ev.hasData {
				ev.data = append(ev.data, '\n')
			}
			ev.data = append(ev.data, value...)
			ev.hasData = true
		case "event":
			ev.name = string(value)
		}
	}
}

// readLine reads one line, appends it to *buf ended by "\n", and returns it without that. A
// line ends at LF, CRLF or a CR alone, as the SSE format has it and as every client's reader
// (the TypeScript SDK's eventsource-parser included) splits lines: a reader that ended lines at
// LF only would take "id: 5\rdata: {...}" for an id line, where a client reads a data line, and
// relay unread a message the client reads.
func (r *sseReader) readLine(buf *[]byte) ([]byte, error) {
	if !r.started {
		// A stream may begin with a UTF-8 byte order mark, which a client's reader drops (the
		// TypeScript SDK decodes the stream with TextDecoderStream): dropped here too, or the
		// first line would be a field "\ufeffdata" to the gateway and "data" to the client.
		r.started = true
		if b, err := r.br.Peek(1); err == nil && b[0] == bom[0] {
			if b, err := r.br.Peek(len(bom)); err == nil && string(b) == bom {
				r.br.Discard(len(bom))
			}
		}
	}
	start := len(*buf)
	for {
		if r.skipLF {
			// The next line needs its first byte anyway: if it is the LF of a CRLF, skip it.
			r.skipLF = false
			b, err := r.br.Peek(1)
			if err != nil {
				return nil, err
			}
			if b[0] == '\n' {
				r.br.Discard(1)
			}
		}
		n := r.br.Buffered()
		if n == 0 {
			if _, err := r.br.Peek(1); err != nil {
				if err == io.EOF && len(*buf) > start {
					return nil, io.ErrUnexpectedEOF
				}
				return nil, err
			}
			n = r.br.Buffered()
		}
		chunk, _ := r.br.Peek(n)
		i := lineEnd(chunk)
		if i < 0 {
			*buf = append(*buf, chunk...)
			r.br.Discard(n)
			if len(*buf) > r.max {
				return nil, errEventTooLarge
			}
			continue
		}
		*buf = append(*buf, chunk[:i]...)
		r.skipLF = chunk[i] == '\r'
		r.br.Discard(i + 1)
		if len(*buf) > r.max {
			return nil, errEventTooLarge
		}
		line := (*buf)[start:]
		*buf = append(*buf, '\n')
		return line[:len(line):len(line)], nil
	}
}

// appendEvent appends an event block to out. With data set, the block's data lines are replaced
// by one data line holding data (JSON has no raw newlines); every other line is kept in order.
func appendEvent(out []byte, ev *sseEvent, data []byte) []byte {
	if data == nil {
		out = append(out, ev.raw...)
		return append(out, '\n')
	}
	wrote := false
	rest := ev.raw
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		line := rest
		if i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		if bytes.HasPrefix(line, []byte("data")) && (len(line) == 4 || line[4] == ':' || line[4] == '\n' || line[4] == '\r') {
			if !wrote {
				out = append(out, "data: "...)
				out = append(out, data...)
				out = append(out, '\n')
				wrote = true
			}
			continue
		}
		out = append(out, line...)
	}
	return append(out, '\n')
}

// appendMessageEvent appends a message event carrying one JSON-RPC message.
func appendMessageEvent(out, msg []byte) []byte {
	out = append(out, "event: message\ndata: "...)
	out = append(out, msg...)
	return append(out, "\n\n"...)
}

// lineEnd is the index of the first CR or LF in b, -1 if none (two IndexByte scans, which are
// vectorised, rather than a byte-by-byte IndexAny: events can be megabytes).
func lineEnd(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		i = len(b)
	}
	if j := bytes.IndexByte(b[:i], '\r'); j >= 0 {
		return j
	}
	if i == len(b) {
		return -1
	}
	return i
}
