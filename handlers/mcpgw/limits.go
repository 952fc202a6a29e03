package mcpgw

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// DefaultMaxBodyBytes bounds a POST body when Config.MaxBodyBytes is not set.
const DefaultMaxBodyBytes = 4 << 20

// DefaultStreamWriteTimeout bounds each write of a relayed answer or event stream when
// Config.StreamWriteTimeout is not set.
const DefaultStreamWriteTimeout = 60 * time.Second

// readBody reads the POST body of a request that is already authenticated and allowed, bounded
// by MaxBodyBytes: a larger body gets 413, never a truncated read; a body that cannot be read
// (the client stalled past the server's read timeout, or went away) gets 400. The answer names
// no address: the error of the client's own connection would show Warden's.
func (x *exchange) readBody() ([]byte, bool) {
	tooLarge := func() {
		x.fail(http.StatusRequestEntityTooLarge, jsonrpc.CodeInvalidRequest,
			fmt.Sprintf("request body larger than %d bytes", x.g.maxBody), map[string]any{"limit": x.g.maxBody})
	}
	if x.r.ContentLength > x.g.maxBody {
		tooLarge() // declared too large: refused without reading it
		return nil, false
	}
	raw, err := io.ReadAll(http.MaxBytesReader(x.w, x.r.Body, x.g.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			tooLarge()
		} else {
			x.g.log.Info("mcp request body unreadable", "server", x.server, "err", err)
			x.fail(http.StatusBadRequest, jsonrpc.CodeParseError, "reading the request body failed: "+category(err), nil)
		}
		return nil, false
	}
	return raw, true
}

// streamWriter is the response writer of an exchange whose request has been read: it lifts the
// http.Server's read and write deadlines (a relayed call waits as long as the upstream takes, an
// event stream lasts as long as its session) and bounds each write instead, so a client that
// stops reading is still cut after the stream write timeout.
//
// The read deadline has to go too: once the body is read, net/http keeps a background read on
// the connection to notice a client going away, and that read failing at the server's
// ReadTimeout cancels the request's context, which would end the upstream exchange mid-stream.
type streamWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

// liftDeadlines returns w wrapped as a streamWriter. Call it only once the request is
// authenticated and its body read: unauthenticated and half-sent requests stay under the
// server's timeouts.
func (g *Gateway) liftDeadlines(w http.ResponseWriter) http.ResponseWriter {
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		g.log.Debug("mcp: lifting the read deadline failed", "err", err)
	}
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		g.log.Debug("mcp: lifting the write deadline failed", "err", err)
	}
	return &streamWriter{ResponseWriter: w, rc: rc, timeout: g.streamWrite}
}

func (s *streamWriter) arm() {
	s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
}

func (s *streamWriter) WriteHeader(code int) {
	s.arm()
	s.ResponseWriter.WriteHeader(code)
}

func (s *streamWriter) Write(p []byte) (int, error) {
	s.arm()
	return s.ResponseWriter.Write(p)
}

func (s *streamWriter) FlushError() error {
	s.arm()
	return s.rc.Flush()
}

func (s *streamWriter) Flush() { s.FlushError() }

func (s *streamWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
