package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// Console bodies over the limit get 413 before any handler parses them, whether their length
// is declared or not; the gateway's and the API's paths are left to their own limits.
func TestLimitBodies(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(limitBodies(16))
	echo := func(c *gin.Context) {
		b, _ := io.ReadAll(c.Request.Body)
		c.String(200, "%d", len(b))
	}
	r.POST("/orgs/acme/settings", echo)
	r.POST("/mcp/x", echo)
	r.POST("/api/v1/check", echo)
	for _, c := range []struct {
		path, body string
		chunked    bool
		status     int
		want       string
	}{
		{"/orgs/acme/settings", strings.Repeat("a", 16), false, 200, "16"},
		{"/orgs/acme/settings", strings.Repeat("a", 16), true, 200, "16"},
		{"/orgs/acme/settings", strings.Repeat("a", 17), false, 413, "larger than 16 bytes"},
		{"/orgs/acme/settings", strings.Repeat("a", 17), true, 413, "larger than 16 bytes"},
		{"/mcp/x", strings.Repeat("a", 17), false, 200, "17"},
		{"/api/v1/check", strings.Repeat("a", 17), true, 200, "17"},
	} {
		var body io.Reader = strings.NewReader(c.body)
		if c.chunked {
			body = io.MultiReader(body) // no length known: sent chunked
		}
		req := httptest.NewRequest(http.MethodPost, c.path, body)
		if c.chunked {
			req.ContentLength = -1
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s (%d bytes, chunked %v): %d %q", c.path, len(c.body), c.chunked, rec.Code, rec.Body)
		}
	}
}
