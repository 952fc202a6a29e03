package mcpgw

import (
	"bytes"
	"errors"
	"fmt"
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
// no address: the error of the client's own connection would show Warden's. Before a byte is
// read the body is reserved in the body budget under the key; a body that does not fit gets
// 429, unread, and the reservation is released when the read ends, however it ends.
func (x *exchange) readBody() ([]byte, bool) {
	tooLarge := func() {
		x.fail(http.StatusRequestEntityTooLarge, jsonrpc.CodeInvalidRequest,
			fmt.Sprintf("request body larger than %d bytes", x.g.maxBody), map[string]any{"limit": x.g.maxBody})
	}
	if x.r.ContentLength > x.g.maxBody {
		tooLarge() // declared too large: refused without reading it
		return nil, false
	}
	release, err := x.g.bodies.ReserveBody(x.pr.Key, x.r, x.g.maxBody)
	if err != nil {
		x.refuseBudget(err)
		return nil, false
	}
	defer release()
	// A declared body is read into a buffer of its size (it was reserved, and is at most
	// maxBody): growing one by doubling would leave up to as much again as garbage per read,
	// which the budget does not count.
	var buf bytes.Buffer
	if n := x.r.ContentLength; n > 0 {
		buf.Grow(int(n) + bytes.MinRead) // ReadFrom wants MinRead free to read the end
	}
	_, err = buf.ReadFrom(http.MaxBytesReader(x.w, x.r.Body, x.g.maxBody))
	raw := buf.Bytes()
	// Released before answering: what the budget bounds is reads under way (a stalled body
	// holds its reservation until the read timeout), and the next request may come right after.
	release()
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

// refuseBudget answers 429 to a request whose body does not fit in the body budget.
func (x *exchange) refuseBudget(err error) {
	x.g.log.Info("mcp request body refused: body budget", "server", x.server, "key", x.pr.Key, "err", err)
	msg, data := err.Error(), map[string]any{"key": x.pr.Key}
	var be *BudgetError
	if errors.As(err, &be) {
		data["limit"] = be.Limit
		if be.Bucket {
			data["scope"] = "key"
			msg = fmt.Sprintf("the request bodies key %q is sending at once would exceed %d bytes, the most allowed: retry once one of them has been read", x.pr.Key, be.Limit)
		} else {
			data["scope"] = "total"
			msg = fmt.Sprintf("the request bodies Warden is reading at once would exceed %d bytes, the most allowed: retry shortly", be.Limit)
		}
	}
	x.w.Header().Set("Retry-After", "1")
	x.fail(http.StatusTooManyRequests, CodeBodyBudget, msg, data)
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
