package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/demo"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
	"github.com/warden-mcp/warden/web"
)

// Failure modes of failingState.
const (
	viewOK          int32 = iota
	viewUnavailable       // no view to trust: 503
	viewBroken            // an internal error: 500
	viewPanics            // a bug: 500 through the recovery
)

// failingState is the enforced state as the console reads it, with failures the test switches
// on: View answers live.ErrNoView, an internal error, or panics. afterRefresh, when set, is the
// mode the next Refresh switches to (the view fails right after a refresh).
type failingState struct {
	*live.State
	mode, afterRefresh atomic.Int32
}

func (s *failingState) View() (*live.View, error) {
	switch s.mode.Load() {
	case viewUnavailable:
		return nil, live.ErrNoView
	case viewBroken:
		return nil, errors.New("test: the view is broken")
	case viewPanics:
		panic("test: the view panics")
	}
	return s.State.View()
}

func (s *failingState) Refresh(ctx context.Context) error {
	err := s.State.Refresh(ctx)
	if m := s.afterRefresh.Swap(viewOK); m != viewOK {
		s.mode.Store(m)
	}
	return err
}

// syncBuffer is a bytes.Buffer the server may write while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// errorConsole serves the demo policy with a console whose view fails on demand, logging to
// the returned buffer; bodies are limited to 4 KiB.
func errorConsole(t *testing.T) (http.Handler, *failingState, *syncBuffer, *store.Store) {
	t.Helper()
	h, fs, logs, st := errorConsoleAt(t, "")
	return storetest.AsUser(h, storetest.Admin(t, st)), fs, logs, st
}

// errorConsoleAt is errorConsole listening on listen (for the loopback names a browser test's
// server is reached by; "": serve's default).
func errorConsoleAt(t *testing.T, listen string) (http.Handler, *failingState, *syncBuffer, *store.Store) {
	t.Helper()
	st := storetest.Open(t, store.KindSQLite)
	doc, err := demo.Document()
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustApply(t, st, doc)
	state := live.New(st, live.Options{})
	if err := state.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	fs := &failingState{State: state}
	logs := &syncBuffer{}
	h := web.NewWithConsole(web.Deps{PublicURL: &url.URL{Scheme: "http", Host: "example.com"}, ListenAddr: listen, Store: st, State: state, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Limits: web.Limits{MaxBodyBytes: 4 << 10}}, fs)
	return h, fs, logs, st
}

// answer is one console answer, checked to be the error page, partial or JSON it should be.
type answer struct {
	name   string
	method string
	path   string
	body   string
	header []string
	host   string // default example.com, the console's (see errorConsole)
}

func (a answer) do(h http.Handler) *httptest.ResponseRecorder {
	// htmx names the target of the preview's requests, the preview panel.
	if strings.HasSuffix(a.path, "/settings/preview") && strings.Contains(strings.Join(a.header, " "), "HX-Request") {
		a.header = append(append([]string(nil), a.header...), "HX-Target", "preview-panel")
	}
	var req *http.Request
	if a.body != "" {
		req = httptest.NewRequest(a.method, a.path, strings.NewReader(a.body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(a.method, a.path, nil)
	}
	for i := 0; i < len(a.header); i += 2 {
		req.Header.Set(a.header[i], a.header[i+1])
	}
	if a.host != "" {
		req.Host = a.host
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// checkError checks that w is the console's error answer with status, in the form the request
// asked for (page, htmx partial or JSON), that its request id is the X-Request-Id header, and
// that the request's log line has that id and status.
func checkError(t *testing.T, a answer, w *httptest.ResponseRecorder, status int, logs *syncBuffer) {
	t.Helper()
	label := a.name + " (" + a.method + " " + a.path + " " + strings.Join(a.header, " ") + ")"
	if w.Code != status {
		t.Errorf("%s: %d, want %d: %.300s", label, w.Code, status, w.Body)
		return
	}
	id := w.Header().Get("X-Request-Id")
	if len(id) != 12 {
		t.Errorf("%s: X-Request-Id %q", label, id)
	}
	line := ""
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		if l := sc.Text(); strings.Contains(l, " msg=http ") && strings.Contains(l, "request_id="+id+" ") {
			line = l
		}
	}
	if !strings.Contains(line, " status="+strconv.Itoa(status)+" ") {
		t.Errorf("%s: the request's log line with id %s is %q", label, id, line)
	}
	ct := w.Header().Get("Content-Type")
	if strings.Contains(strings.Join(a.header, " "), "application/json") {
		var got struct {
			Error     string `json:"error"`
			Status    int    `json:"status"`
			RequestID string `json:"request_id"`
		}
		if ct != "application/json; charset=utf-8" || json.Unmarshal(w.Body.Bytes(), &got) != nil || got.Error == "" || got.Status != status || got.RequestID != id {
			t.Errorf("%s: JSON error %q %s", label, ct, w.Body)
		}
		return
	}
	if ct != "text/html; charset=utf-8" {
		t.Errorf("%s: Content-Type %q", label, ct)
		return
	}
	d, err := goquery.NewDocumentFromReader(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Find(`[data-testid=request-id]`).Text(); got != id {
		t.Errorf("%s: request id shown %q, header %q", label, got, id)
	}
	sel := `[data-testid=error-page][data-status="` + strconv.Itoa(status) + `"]`
	if strings.Contains(strings.Join(a.header, " "), "HX-Request") {
		sel = `[data-testid=error-partial][data-status="` + strconv.Itoa(status) + `"]`
		want := "#console-error"
		if strings.HasSuffix(a.path, "/settings/preview") { // asked with HX-Target: preview-panel (see do)
			want = "#preview-status"
		}
		if w.Header().Get("HX-Retarget") != want || w.Header().Get("HX-Reswap") != "innerHTML" {
			t.Errorf("%s: HX-Retarget %q HX-Reswap %q", label, w.Header().Get("HX-Retarget"), w.Header().Get("HX-Reswap"))
		}
		if strings.Contains(w.Body.String(), "<html") {
			t.Errorf("%s: an htmx request got a whole page", label)
		}
	}
	if d.Find(sel).Length() != 1 {
		t.Errorf("%s: no %s in %.500s", label, sel, w.Body)
	}
}

// consoleRoutes are the console's routes (not the gateway's, the API's, static files, health
// and metrics), from the engine itself, so a route added later is walked too.
func consoleRoutes(t *testing.T) []gin.RouteInfo {
	t.Helper()
	eng, ok := web.New(web.Deps{}).(*gin.Engine)
	if !ok {
		t.Fatal("web.New does not return the Gin engine")
	}
	var out []gin.RouteInfo
	for _, r := range eng.Routes() {
		switch {
		case r.Path == "/mcp", strings.HasPrefix(r.Path, "/mcp/"), strings.HasPrefix(r.Path, "/api/"),
			strings.HasPrefix(r.Path, "/static/"), r.Path == "/healthz", r.Path == "/metrics",
			r.Path == "/", r.Path == "/favicon.ico", // redirects
			// Sign-in, one's account and the users page read no policy view.
			r.Path == "/login", r.Path == "/logout", strings.HasPrefix(r.Path, "/account"),
			strings.HasPrefix(r.Path, "/users"), strings.HasPrefix(r.Path, "/auth/"):
			continue
		}
		out = append(out, r)
	}
	if len(out) < 10 {
		t.Fatalf("only %d console routes: %v", len(out), out)
	}
	return out
}

// fill puts names into a route's parameters.
func fill(path string, names map[string]string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = names[p[1:]]
		}
	}
	return strings.Join(parts, "/")
}

// The three ways to ask: a page, an htmx fragment, JSON.
var asks = []struct {
	name   string
	header []string
}{
	{"page", nil},
	{"htmx", []string{"HX-Request", "true"}},
	{"json", []string{"Accept", "application/json"}},
}

// Every console route, asked for a page, an htmx fragment or JSON, answers its errors — unknown
// names (404), no view to trust (503), an internal error (500), a panic (500) — as the error
// page, the retargeted partial or JSON, with the request id of its log line; and no console
// answer, failed or not, is text/plain.
func TestConsoleErrors(t *testing.T) {
	h, fs, logs, _ := errorConsole(t)
	doc, err := demo.Document()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]string{"org": "acme", "key": doc.Keys[0].Name, "name": doc.Toolsets[0].Name, "id": "1", "team": doc.Teams[0].Name, "user": doc.EndUsers[0].Name, "agent": doc.Agents[0].Name, "server": doc.Servers[0].Name, "guard": doc.Guards[0].Name}
	unknown := map[string]string{"org": "no-such-org", "key": "no-such-key", "name": "no-such-name", "id": "999999", "team": "no-such-team", "user": "no-such-user", "agent": "no-such-agent", "server": "no-such-server", "guard": "no-such-guard"}
	routes := consoleRoutes(t)

	for _, r := range routes {
		for _, ask := range asks {
			a := answer{name: "unknown names", method: r.Method, path: fill(r.Path, unknown), header: ask.header}
			if a.method == "POST" {
				a.body = "mode=none"
			}
			w := a.do(h)
			if strings.Contains(r.Path, ":") {
				checkError(t, a, w, http.StatusNotFound, logs)
			}
			// Known names: whatever the status, never plain text.
			a.name, a.path = "known names", fill(r.Path, known)
			if w := a.do(h); strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
				t.Errorf("%s %s (%s): text/plain %d %.200s", a.method, a.path, ask.name, w.Code, w.Body)
			}
			for _, m := range []struct {
				mode   int32
				name   string
				status int
			}{
				{viewUnavailable, "no view", http.StatusServiceUnavailable},
				{viewBroken, "broken view", http.StatusInternalServerError},
				{viewPanics, "panicking view", http.StatusInternalServerError},
			} {
				fs.mode.Store(m.mode)
				a.name = m.name
				checkError(t, a, a.do(h), m.status, logs)
				fs.mode.Store(viewOK)
			}
		}
	}

	// Bad requests the routes never see, and bad values they refuse.
	big := "mode=none&filter=" + strings.Repeat("x", 5000)
	for _, c := range []struct {
		a      answer
		status int
	}{
		{answer{name: "no such page", method: "GET", path: "/no-such-page"}, http.StatusNotFound},
		{answer{name: "no such static file", method: "GET", path: "/static/no-such.css"}, http.StatusNotFound},
		{answer{name: "GET of a POST route", method: "GET", path: "/orgs/acme/settings/preview"}, http.StatusNotFound},
		{answer{name: "body over the limit", method: "POST", path: "/orgs/acme/settings/preview", body: big}, http.StatusRequestEntityTooLarge},
		{answer{name: "cross-site post", method: "POST", path: "/orgs/acme/settings", body: "mode=none", header: []string{"Sec-Fetch-Site", "cross-site"}}, http.StatusForbidden},
		{answer{name: "a host not the console's", method: "GET", path: "/orgs", host: "rebind.example"}, http.StatusMisdirectedRequest},
		{answer{name: "bad why kind", method: "POST", path: "/orgs/acme/settings/why", body: "mode=none&kind=server&name=x"}, http.StatusUnprocessableEntity},
		{answer{name: "unknown audit kind", method: "GET", path: "/audit?kind=nonsense"}, http.StatusUnprocessableEntity},
	} {
		for _, ask := range asks {
			a := c.a
			a.header = append(append([]string(nil), a.header...), ask.header...)
			checkError(t, a, a.do(h), c.status, logs)
		}
	}
}

// The gateway and the decision API keep their own answers: a cross-site POST gets
// http.CrossOriginProtection's plain 403 as before, an unknown API path a JSON 404 in the API's
// shape ({"error": ...}), neither the console's error page.
func TestGatewayErrorsUnchanged(t *testing.T) {
	h, _, _, _ := errorConsole(t)
	for _, path := range []string{"/mcp", "/api/v1/check"} {
		w := answer{method: "POST", path: path, body: "{}", header: []string{"Sec-Fetch-Site", "cross-site"}}.do(h)
		if w.Code != http.StatusForbidden || w.Body.String() != "cross-origin request detected from Sec-Fetch-Site header\n" {
			t.Errorf("cross-site POST %s: %d %q", path, w.Code, w.Body)
		}
	}
	w := answer{method: "GET", path: "/api/v1/no-such-endpoint"}.do(h)
	var got map[string]any
	if w.Code != http.StatusNotFound || json.Unmarshal(w.Body.Bytes(), &got) != nil || len(got) != 1 || got["error"] == nil {
		t.Errorf("unknown API path: %d %s", w.Code, w.Body)
	}
}

// After a refused save (409), the page shows the current settings; when the view cannot be
// read right then, the answer is that failure (503 here), not the 409 it could not show.
func TestSaveConflictWhenTheViewFails(t *testing.T) {
	h, fs, logs, st := errorConsole(t)
	doc, err := demo.Document()
	if err != nil {
		t.Fatal(err)
	}
	acme := *doc.Organization("acme")
	rev, err := st.Revision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	save := func(o models.OrganizationDoc) *httptest.ResponseRecorder {
		return answer{name: "save", method: "POST", path: "/orgs/acme/settings", body: settingsForm(o, rev).Encode()}.do(h)
	}
	// Another admin's save, from the same revision.
	other := acme
	other.DenyTools = append(append([]string(nil), acme.DenyTools...), "slack/post_message")
	if w := save(other); w.Code != http.StatusSeeOther {
		t.Fatalf("the first save: %d %s", w.Code, w.Body)
	}
	after, err := st.Revision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// This save is refused; the refresh before its 409 page leaves no view to trust.
	fs.afterRefresh.Store(viewUnavailable)
	mine := acme
	mine.Blocked = true
	a := answer{name: "conflicting save", method: "POST", path: "/orgs/acme/settings", body: settingsForm(mine, rev).Encode()}
	w := a.do(h)
	checkError(t, a, w, http.StatusServiceUnavailable, logs)
	if !strings.Contains(w.Body.String(), "Warden cannot show the policy now") {
		t.Errorf("the 503 does not say why: %s", w.Body)
	}
	if now, _ := st.Revision(context.Background()); now != after {
		t.Errorf("the refused save wrote: revision %d, was %d", now, after)
	}
}

// settingsForm is the settings form a person would post for o, loaded at rev.
func settingsForm(o models.OrganizationDoc, rev int64) url.Values {
	r := strconv.FormatInt(rev, 10)
	f := url.Values{"loaded_revision": {r}, "preview_revision": {r}, "deny_tools": o.DenyTools, "mode": {"none"}}
	if o.Blocked {
		f.Set("blocked", "1")
	}
	if o.MCP != nil {
		f.Set("mode", "limit")
		f["servers"], f["access_groups"], f["toolsets"] = o.MCP.Servers, o.MCP.AccessGroups, o.MCP.Toolsets
		for s, tools := range o.MCP.Tools {
			f.Add("limit_server", s)
			for _, t := range tools {
				f.Add("tool", s+"/"+t)
			}
		}
	}
	return f
}
