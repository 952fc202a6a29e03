package handlers_test

import (
	"context"
	"strings"
	"testing"
)

// The server page names the upstream headers and never shows a value; a server whose stored
// headers cannot be used says so.
func TestServerPageShowsHeaderNamesOnly(t *testing.T) {
	a := newDemoApp(t)
	ctx := context.Background()
	_, d := a.get(t, "/servers/github", false, 200)
	if got := text(d, "server-headers"); got != "none" {
		t.Errorf("headers before any are set: %q", got)
	}
	if err := a.st.SetServerAuthHeaders(ctx, "github", map[string]string{"Authorization": "Bearer page-s3cret", "X-Api-Key": "page-k3y"}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := a.state.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	_, d = a.get(t, "/servers/github", false, 200)
	if got := text(d, "server-headers"); !strings.HasPrefix(got, "Authorization, X-Api-Key values stored encrypted") {
		t.Errorf("headers %q", got)
	}
	for _, path := range []string{"/servers", "/servers/github", "/audit"} {
		w := a.do(t, "GET", path, nil, false)
		if b := w.Body.String(); strings.Contains(b, "page-s3cret") || strings.Contains(b, "page-k3y") {
			t.Errorf("%s shows a header value", path)
		}
	}
}
