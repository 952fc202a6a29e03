package handlers

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/handlers/mcpgw"
	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/enforce"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
)

// heldBody is a check request body that records reads, delivers head, then blocks until told
// how to go on (nil: the rest, then the end; an error: that error).
type heldBody struct {
	read    atomic.Bool
	once    sync.Once
	started chan struct{}
	resume  chan error
	head    io.Reader
	tail    io.Reader
	resumed bool
}

// trappedBody is a body that records whether anything read from it.
type trappedBody struct {
	read atomic.Bool
	r    io.Reader
}

func (b *trappedBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.r.Read(p)
}

func (b *trappedBody) Close() error { return nil }

func newHeldBody(body string) *heldBody {
	return &heldBody{started: make(chan struct{}), resume: make(chan error, 1),
		head: strings.NewReader(body[:len(body)/2]), tail: strings.NewReader(body[len(body)/2:])}
}

func (b *heldBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	b.once.Do(func() { close(b.started) })
	if n, err := b.head.Read(p); err != io.EOF {
		return n, err
	}
	if !b.resumed {
		b.resumed = true
		if err := <-b.resume; err != nil {
			return 0, err
		}
	}
	return b.tail.Read(p)
}

func (b *heldBody) Close() error { return nil }

// Finding 5 on the decision API: its bodies are read before anything authenticates them, so
// they share one bucket of the body budget. Beyond it a check gets 429 without being read; every
// reservation is released when its read ends, completed, failed or over the limit.
func TestAPICheckBodyBudget(t *testing.T) {
	const size = 1024
	doc, _ := models.LoadDocument([]byte(apiPolicy))
	v := &live.View{Revision: 1, Snapshot: resolver.Build(doc), Doc: doc, KeysByHash: map[string]string{models.HashSecret("wdn_ci"): "ci-bot"}}
	budget := mcpgw.NewBodyBudget(2*size, 4*size)
	api := &API{Enforcer: enforce.NewEnforcer(enforce.StaticViews{V: v}, time.Now), MaxBodyBytes: size, Bodies: budget}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/api/v1/check", api.Check)
	check := `{"key":"wdn_ci","server":"github","tool":"list_issues"}`
	check += strings.Repeat(" ", size-len(check))
	do := func(body io.ReadCloser, length int64) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/check", nil)
		req.Body, req.ContentLength = body, length
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec
	}

	var wg sync.WaitGroup
	hold := func(length int64, want int) *heldBody {
		t.Helper()
		b := newHeldBody(check)
		done := make(chan struct{})
		wg.Go(func() {
			defer close(done)
			if rec := do(b, length); rec.Code != want {
				t.Errorf("held check: %d %s, want %d", rec.Code, rec.Body, want)
			}
		})
		select {
		case <-b.started:
		case <-done:
			t.Fatal("a held check body was never read")
		}
		return b
	}
	completes, fails := hold(size, 200), hold(-1, 400)

	for _, length := range []int64{size, -1, 1} {
		b := &trappedBody{r: strings.NewReader(check)}
		rec := do(b, length)
		if rec.Code != 429 || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "retry") {
			t.Errorf("a third check (length %d): %d %s, want 429", length, rec.Code, rec.Body)
		}
		if b.read.Load() {
			t.Errorf("a third check (length %d) was read", length)
		}
	}
	// The bucket is the decision API's only: a gateway key still has its share.
	if release, err := budget.Reserve("ci-bot", 2*size); err != nil {
		t.Errorf("a key beside the held checks: %v", err)
	} else {
		release()
	}

	completes.resume <- nil
	fails.resume <- errors.New("connection reset by peer")
	wg.Wait()

	// Over the limit: declared (refused unread, nothing reserved) or found while reading.
	if b := (&trappedBody{r: strings.NewReader(check + " ")}); do(b, size+1).Code != 413 || b.read.Load() {
		t.Errorf("declared too large: not refused unread")
	}
	if rec := do(io.NopCloser(strings.NewReader(check+" ")), -1); rec.Code != 413 {
		t.Errorf("too large, chunked: %d %s", rec.Code, rec.Body)
	}
	// Everything is released: the whole bucket, and the whole total, can be reserved again.
	r1, err1 := budget.Reserve(mcpgw.CheckAPIBucket, 2*size)
	r2, err2 := budget.Reserve("ci-bot", 2*size)
	if err1 != nil || err2 != nil {
		t.Errorf("after the reads ended the budget is not empty: %v, %v", err1, err2)
	} else {
		r1()
		r2()
	}
}
