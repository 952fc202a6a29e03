package mcpgw

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models/live"
)

func TestBodyBudgetReserve(t *testing.T) {
	b := NewBodyBudget(100, 150)
	r1, err := b.Reserve("a", 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Reserve("a", 41); !isBudget(err, true, 100) {
		t.Errorf("a past its share: %v", err)
	}
	r2, err := b.Reserve("a", 40)
	if err != nil {
		t.Fatalf("a up to its share: %v", err)
	}
	if _, err := b.Reserve("b", 51); !isBudget(err, false, 150) {
		t.Errorf("b past the total: %v", err)
	}
	r3, err := b.Reserve("b", 50)
	if err != nil {
		t.Fatalf("b up to the total: %v", err)
	}
	if n, k := b.inFlight(); n != 150 || k != 2 {
		t.Errorf("in flight %d bytes in %d buckets, want 150 in 2", n, k)
	}
	r1()
	r1() // a second call releases nothing more
	if n, k := b.inFlight(); n != 90 || k != 2 {
		t.Errorf("after one release: %d bytes in %d buckets, want 90 in 2", n, k)
	}
	r2()
	r3()
	if n, k := b.inFlight(); n != 0 || k != 0 {
		t.Errorf("after all releases: %d bytes in %d buckets, want none", n, k)
	}
	if _, err := b.Reserve("a", 0); err != nil {
		t.Errorf("nothing to reserve: %v", err)
	}
	if _, err := b.Reserve("a", 101); !isBudget(err, true, 100) {
		t.Errorf("more than a share at once: %v", err)
	}
	if n, k := b.inFlight(); n != 0 || k != 0 {
		t.Errorf("refusals reserved %d bytes in %d buckets", n, k)
	}
}

func isBudget(err error, bucket bool, limit int64) bool {
	var be *BudgetError
	return errors.As(err, &be) && be.Bucket == bucket && be.Limit == limit
}

// Under concurrent reservations neither a bucket nor the total ever holds more than its limit,
// and when every reservation is released nothing is left.
func TestBodyBudgetConcurrent(t *testing.T) {
	const perBucket, total = 1000, 2500
	b := NewBodyBudget(perBucket, total)
	buckets := []string{"a", "b", "c", "d"}
	var held [4]atomic.Int64
	var all atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(g), 1))
			for range 500 {
				i := rnd.IntN(len(buckets))
				n := int64(1 + rnd.IntN(400))
				release, err := b.Reserve(buckets[i], n)
				if err != nil {
					continue
				}
				if h := held[i].Add(n); h > perBucket {
					t.Errorf("bucket %s holds %d bytes", buckets[i], h)
				}
				if h := all.Add(n); h > total {
					t.Errorf("%d bytes held in all", h)
				}
				held[i].Add(-n)
				all.Add(-n)
				release()
			}
		})
	}
	wg.Wait()
	if n, k := b.inFlight(); n != 0 || k != 0 {
		t.Errorf("%d bytes in %d buckets left reserved", n, k)
	}
}

// stallBody is a request body that delivers head, then blocks until told how to go on: with nil
// it delivers tail and ends, with an error it fails with it. started is closed at the first read
// (a read attempt counts: the gateway reserved before it).
type stallBody struct {
	once    sync.Once
	started chan struct{}
	resume  chan error
	r       io.Reader
}

func newStallBody(head, tail string) *stallBody {
	b := &stallBody{started: make(chan struct{}), resume: make(chan error, 1)}
	b.r = io.MultiReader(strings.NewReader(head), (*stallPoint)(b), strings.NewReader(tail))
	return b
}

type stallPoint stallBody

func (p *stallPoint) Read([]byte) (int, error) {
	if err := <-p.resume; err != nil {
		return 0, err
	}
	return 0, io.EOF
}

func (b *stallBody) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.started) })
	return b.r.Read(p)
}

func (b *stallBody) Close() error { return nil }

// budgetCall is a tools/call of gosrv padded to exactly size bytes.
func budgetCall(size int) string {
	msg := `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}`
	return msg + strings.Repeat(" ", size-len(msg))
}

// gatewayRequest is a POST of body to /mcp/server ("" for /mcp) with the key's secret, declaring
// length (-1: none, as a chunked body).
func gatewayRequest(server, secret string, body io.ReadCloser, length int64) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/mcp/"+server, nil)
	req.Body, req.ContentLength = body, length
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	return req
}

func serve(h *harness, server string, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	if server == "" {
		h.gw.ServeAggregate(rec, req)
	} else {
		h.gw.ServeServer(rec, req, server)
	}
	return rec
}

// Finding 5, with a valid key: bodies of one key being read at once beyond its share of the
// body budget, and beyond the total, get 429 at once without a byte of them read, on both
// endpoints; another key is unaffected; every reservation is released when its read ends —
// completed, failed or timed out.
func TestBodyBudgetStalledBodies(t *testing.T) {
	const size = 1024
	gs := goServer(t, true)
	h := newHarnessWith(t, map[string]live.Upstream{"gosrv": {URL: gs.URL}},
		Config{MaxBodyBytes: size, MaxBodyInflightPerKey: 2 * size, MaxBodyInflight: 3 * size}, nil)
	call := budgetCall(size)

	// stall starts a request whose body stops halfway, and waits until the gateway reads it.
	var wg sync.WaitGroup
	stall := func(secret string, length int64, want int) *stallBody {
		t.Helper()
		b := newStallBody(call[:size/2], call[size/2:])
		done := make(chan struct{})
		wg.Go(func() {
			defer close(done)
			rec := serve(h, "gosrv", gatewayRequest("gosrv", secret, b, length))
			if rec.Code != want {
				t.Errorf("stalled body of %s: %d, want %d: %s", secret, rec.Code, want, rec.Body)
			}
		})
		select {
		case <-b.started:
		case <-done:
			t.Fatalf("the body of %s was never read", secret)
		}
		return b
	}
	refused := func(what, server, secret string, length int64, scope string) {
		t.Helper()
		body := &trapBody{r: strings.NewReader(call)}
		rec := serve(h, server, gatewayRequest(server, secret, body, length))
		if rec.Code != 429 || !strings.Contains(rec.Body.String(), `"code":-32037`) ||
			!strings.Contains(rec.Body.String(), `"scope":"`+scope+`"`) || rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s: %d %v %s, want 429 (%s)", what, rec.Code, rec.Header(), rec.Body, scope)
		}
		if body.read.Load() {
			t.Errorf("%s: the refused body was read", what)
		}
	}

	// Key dev fills its share with two stalled bodies, one declared and one chunked.
	devDone := stall(secretDev, size, 200)
	devFailed := stall(secretDev, -1, 400)
	if n, k := h.gw.bodies.inFlight(); n != 2*size || k != 1 {
		t.Errorf("in flight: %d bytes in %d buckets, want %d in 1", n, k, 2*size)
	}
	refused("dev, a third body on /mcp/gosrv", "gosrv", secretDev, size, "key")
	refused("dev, a third body, chunked", "gosrv", secretDev, -1, "key")
	refused("dev, a third body on /mcp", "", secretDev, size, "key")
	refused("dev, a body of one byte", "gosrv", secretDev, 1, "key")

	// Key later is unaffected by dev's share...
	rec := serve(h, "gosrv", gatewayRequest("gosrv", secretLater, io.NopCloser(strings.NewReader(call)), size))
	if rec.Code != 200 { // read and relayed (the upstream answers outside a session with an error)
		t.Fatalf("later, beside dev's stalled bodies: %d %s", rec.Code, rec.Body)
	}
	// ...until the total is used up: then it is refused too, on the total.
	laterTimedOut := stall(secretLater, size, 400)
	refused("later, past the total", "gosrv", secretLater, size, "total")

	// The reads end: one completes, one fails, one times out (what the connection's read
	// deadline gives the body reader). Everything is released.
	devDone.resume <- nil
	devFailed.resume <- errors.New("connection reset by peer")
	laterTimedOut.resume <- os.ErrDeadlineExceeded
	wg.Wait()
	if n, k := h.gw.bodies.inFlight(); n != 0 || k != 0 {
		t.Errorf("after the reads ended: %d bytes in %d buckets still reserved", n, k)
	}
	// And the key may send its whole share again.
	rec = serve(h, "gosrv", gatewayRequest("gosrv", secretDev, io.NopCloser(strings.NewReader(call)), size))
	if rec.Code != 200 {
		t.Errorf("dev after release: %d %s", rec.Code, rec.Body)
	}
}

// The budget is released after every way a read ends: completed (200), failed (400), over the
// limit (413, a chunked body; a declared one reserves nothing), and cut by the http.Server's
// read timeout on a real connection.
func TestBodyBudgetReleased(t *testing.T) {
	const size = 1024
	gs := goServer(t, true)
	h := newHarnessWith(t, map[string]live.Upstream{"gosrv": {URL: gs.URL}},
		Config{MaxBodyBytes: size, MaxBodyInflightPerKey: size, MaxBodyInflight: size},
		func(s *http.Server) { s.ReadTimeout = time.Second })
	call := budgetCall(size)
	for _, c := range []struct {
		name   string
		server string
		body   io.Reader
		length int64
		want   int
	}{
		{"completed", "gosrv", strings.NewReader(call), size, 200},
		{"completed, /mcp", "", strings.NewReader(call), size, 200}, // read (the SDK answers outside a session with an error)
		{"failed", "gosrv", io.MultiReader(strings.NewReader(call[:10]), errReader{}), size, 400},
		{"failed, /mcp", "", io.MultiReader(strings.NewReader(call[:10]), errReader{}), -1, 400},
		{"oversized, chunked", "gosrv", strings.NewReader(call + " "), -1, 413},
		{"oversized, chunked, /mcp", "", strings.NewReader(call + " "), -1, 413},
		{"oversized, declared", "gosrv", strings.NewReader(call + " "), size + 1, 413},
	} {
		rec := serve(h, c.server, gatewayRequest(c.server, secretDev, io.NopCloser(c.body), c.length))
		if rec.Code != c.want {
			t.Errorf("%s: %d, want %d: %s", c.name, rec.Code, c.want, rec.Body)
		}
		if n, k := h.gw.bodies.inFlight(); n != 0 || k != 0 {
			t.Errorf("%s: %d bytes in %d buckets still reserved", c.name, n, k)
		}
	}

	// A body that stalls on a real connection is cut at the server's read timeout: the gateway
	// answers 400 (it was reading it, so it had reserved it) and releases the reservation.
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /mcp/gosrv HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
		"Accept: application/json, text/event-stream\r\nContent-Length: %d\r\n\r\n%s", secretDev, size, call[:size/2])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("stalled body: no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !bytes.Contains(body, []byte("reading the request body failed")) {
		t.Errorf("stalled body: %d %s", resp.StatusCode, body)
	}
	if n, k := h.gw.bodies.inFlight(); n != 0 || k != 0 {
		t.Errorf("after the read timeout: %d bytes in %d buckets still reserved", n, k)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }
