package mcpgw

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// sseEvent is one server-sent event block as received: its bytes verbatim (every line up to the
// blank line that ends the block, terminators included) and the fields the gateway reads.
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
}

var errEventTooLarge = errors.New("server-sent event too large")

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

// readLine appends one line with its terminator to *buf and returns the line without it.
func (r *sseReader) readLine(buf *[]byte) ([]byte, error) {
	start := len(*buf)
	for {
		chunk, err := r.br.ReadSlice('\n')
		*buf = append(*buf, chunk...)
		if len(*buf) > r.max {
			return nil, errEventTooLarge
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if len(*buf) > start && err == io.EOF {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		line := (*buf)[start:]
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		return line, nil
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
