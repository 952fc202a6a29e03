package mcpsync_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/warden-mcp/warden/handlers/internal/mcpsync"
	"github.com/warden-mcp/warden/handlers/mcpgw/mcppeers"
)

func TestFetch(t *testing.T) {
	up := mcppeers.NewGoServer(t)
	up.Tool("b", "second")
	up.Tool("a", "first")
	tools, err := mcpsync.Fetch(context.Background(), up.URL, map[string]string{"Authorization": "Bearer t"}, mcpsync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tools) != 2 || up.Authorization() != "Bearer t" {
		t.Fatalf("tools %+v, Authorization %q", tools, up.Authorization())
	}
	for _, tl := range tools {
		if !strings.HasPrefix(tl.InputSchema, `{"`) || tl.Description == "" {
			t.Errorf("tool %+v", tl)
		}
	}
}

func TestFetchFails(t *testing.T) {
	done := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(done) }) // runs first: the hanging handler returns, Close can end

	up := mcppeers.NewGoServer(t)
	up.Tool("a", strings.Repeat("x", 4096))
	for _, c := range []struct {
		name, url string
		o         mcpsync.Options
		want      string
	}{
		{"no answer", hang.URL, mcpsync.Options{Timeout: 300 * time.Millisecond}, "no answer within the time limit"},
		{"too much", up.URL, mcpsync.Options{MaxBytes: 1024}, "more than 1024 bytes"},
		{"not http", "ftp://example.com/mcp", mcpsync.Options{}, "is not an http(s) URL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := mcpsync.Fetch(context.Background(), c.url, nil, c.o)
			var se *mcpsync.Error
			if !errors.As(err, &se) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}
