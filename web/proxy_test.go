package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/demo"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
	"github.com/warden-mcp/warden/web"
)

// http.CrossOriginProtection guards every state-changing request under the public URL, and
// behind a trusted proxy too: a cross-site save gets 403 and writes nothing, a same-origin one
// saves, with and without htmx. A browser that sends Origin but not Sec-Fetch-Site is judged
// by Origin against Host; behind a proxy that passes its own Host, that works only because the
// trusted X-Forwarded-Host stands in for Host.
func TestCrossOriginUnderPublicURL(t *testing.T) {
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
	// The public URL is https: the session cookie is the __Host- one.
	cookie := storetest.Admin(t, st)
	cookie.Name = models.SecureSessionCookie
	h := storetest.AsUser(web.New(web.Deps{Store: st, State: state, PublicURL: &url.URL{Scheme: "https", Host: "warden.corp.example"},
		ListenAddr: "0.0.0.0:8080", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}), cookie)
	acme := doc.Organization("acme")
	direct := []string{} // the browser reaches Warden itself (at a TLS terminator passing Host on)
	proxied := []string{"X-Forwarded-Host", "warden.corp.example", "X-Forwarded-Proto", "https"}
	for _, tc := range []struct {
		name    string
		via     []string // forwarded headers; with them the peer is the trusted proxy and Host its own
		browser []string // what the browser says of the request's origin
		saves   bool
	}{
		{"same-origin", direct, []string{"Sec-Fetch-Site", "same-origin", "Origin", "https://warden.corp.example"}, true},
		{"same-origin, Origin only", direct, []string{"Origin", "https://warden.corp.example"}, true},
		{"cross-site", direct, []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, false},
		{"cross-site, Origin only", direct, []string{"Origin", "https://evil.example"}, false},
		{"same-site, other origin", direct, []string{"Sec-Fetch-Site", "same-site", "Origin", "https://other.corp.example"}, false},
		{"proxied same-origin", proxied, []string{"Sec-Fetch-Site", "same-origin", "Origin", "https://warden.corp.example"}, true},
		{"proxied same-origin, Origin only", proxied, []string{"Origin", "https://warden.corp.example"}, true},
		{"proxied cross-site", proxied, []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, false},
		{"proxied cross-site, Origin only", proxied, []string{"Origin", "https://evil.example"}, false},
	} {
		for _, htmx := range []bool{false, true} {
			name := tc.name
			if htmx {
				name += ", htmx"
			}
			t.Run(name, func(t *testing.T) {
				before, err := st.Revision(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				rev := strconv.FormatInt(before, 10)
				form := url.Values{"loaded_revision": {rev}, "preview_revision": {rev},
					"deny_tools": acme.DenyTools, "mode": {"none"}}
				// Each save toggles blocked, so every saved request is a change.
				if before%2 == 0 {
					form.Set("blocked", "1")
				}
				req := httptest.NewRequest(http.MethodPost, "/orgs/acme/settings", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Host = "warden.corp.example"
				if len(tc.via) > 0 {
					req.Host, req.RemoteAddr = "10.0.0.2:8080", "10.0.0.7:43210"
				}
				for _, hv := range [][]string{tc.via, tc.browser} {
					for i := 0; i+1 < len(hv); i += 2 {
						req.Header.Set(hv[i], hv[i+1])
					}
				}
				if htmx {
					req.Header.Set("HX-Request", "true")
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				after, err := st.Revision(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case tc.saves && (w.Code >= 400 || after == before):
					t.Errorf("same-origin save: %d, revision %d -> %d; want it saved\n%s", w.Code, before, after, w.Body)
				case !tc.saves && (w.Code != http.StatusForbidden || after != before):
					t.Errorf("cross-origin save: %d, revision %d -> %d; want 403 and nothing written", w.Code, before, after)
				}
			})
		}
	}
}
