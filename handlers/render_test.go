package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
)

// Every error fail answers — 403, 404, 409, 422, 500, 503 — is the error page for a page
// request, the partial retargeted into a visible region for an htmx request (the preview
// panel's status line when the preview failed), and JSON for a client asking for JSON; each
// with the request's id, which the log line of the failure also has. A 500 shows no detail.
func TestFail(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	errs := map[int]error{
		http.StatusForbidden:           models.Errorf(models.EForbidden, "not yours"),
		http.StatusNotFound:            models.Errorf(models.ENotFound, "unknown organization %q", "nope"),
		http.StatusConflict:            models.Errorf(models.EConflict, "changed meanwhile"),
		http.StatusUnprocessableEntity: models.Errorf(models.EInvalid, "kind must be organization, team or key"),
		http.StatusInternalServerError: errors.New("disk on fire"),
		http.StatusServiceUnavailable:  live.ErrNoView,
	}
	const id = "0123456789ab"
	var logs bytes.Buffer
	r := gin.New()
	r.Use(func(c *gin.Context) {
		BeginRequest(c, id, slog.New(slog.NewTextHandler(&logs, nil)).With("request_id", id))
	})
	r.GET("/fail/:status", func(c *gin.Context) {
		n, _ := strconv.Atoi(c.Param("status"))
		fail(c, errs[n])
	})
	do := func(status int, header ...string) *httptest.ResponseRecorder {
		logs.Reset()
		req := httptest.NewRequest("GET", "/fail/"+strconv.Itoa(status), nil)
		for i := 0; i < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != status {
			t.Errorf("%d %v: answered %d", status, header, w.Code)
		}
		if w.Header().Get("X-Request-Id") != id {
			t.Errorf("%d %v: X-Request-Id %q", status, header, w.Header().Get("X-Request-Id"))
		}
		if !strings.Contains(logs.String(), "request_id="+id) {
			t.Errorf("%d %v: the log line has no request id: %q", status, header, logs.String())
		}
		return w
	}
	html := func(t *testing.T, w *httptest.ResponseRecorder) *goquery.Document {
		t.Helper()
		if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		d, err := goquery.NewDocumentFromReader(w.Body)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Find(`[data-testid=request-id]`).Text(); got != id {
			t.Errorf("request id shown: %q", got)
		}
		return d
	}
	for status, err := range errs {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			wantMsg := err.Error()
			switch status {
			case http.StatusInternalServerError:
				wantMsg = InternalError
			case http.StatusServiceUnavailable:
				wantMsg = "Warden cannot show the policy now: " + err.Error()
			}

			w := do(status)
			d := html(t, w)
			if d.Find(`html`).Length() != 1 || d.Find(`nav[aria-label=Main]`).Length() != 1 {
				t.Error("the error page is not in the layout")
			}
			if d.Find(`[data-testid=error-page][data-status="`+strconv.Itoa(status)+`"]`).Length() != 1 {
				t.Errorf("no error page for %d: %s", status, w.Body)
			}
			if got := d.Find(`[data-testid=error-message]`).Text(); got != wantMsg {
				t.Errorf("message %q, want %q", got, wantMsg)
			}
			if d.Find(`[data-testid=revision]`).Length() != 0 {
				t.Error("the error page shows a policy revision it did not load")
			}
			if status == http.StatusInternalServerError && !strings.Contains(logs.String(), "disk on fire") {
				t.Errorf("the 500's cause is not logged: %q", logs.String())
			}

			// A boosted request or a history restore wants the page too.
			for _, h := range [][]string{{"HX-Request", "true", "HX-Boosted", "true"}, {"HX-Request", "true", "HX-History-Restore-Request", "true"}} {
				if d := html(t, do(status, h...)); d.Find(`[data-testid=error-page]`).Length() != 1 {
					t.Errorf("%v: not the error page", h)
				}
			}

			for _, c := range []struct{ target, region, context string }{
				{"", "#console-error", ""},
				{"key-rows", "#console-error", ""},
				{"preview-panel", "#preview-status", "This preview is not of your latest edits."},
			} {
				w := do(status, "HX-Request", "true", "HX-Target", c.target)
				if strings.Contains(w.Body.String(), "<html") {
					t.Errorf("htmx (target %q): a whole page", c.target)
				}
				if w.Header().Get("HX-Retarget") != c.region || w.Header().Get("HX-Reswap") != "innerHTML" || w.Header().Get("HX-Push-Url") != "false" {
					t.Errorf("htmx (target %q): HX-Retarget %q HX-Reswap %q HX-Push-Url %q", c.target,
						w.Header().Get("HX-Retarget"), w.Header().Get("HX-Reswap"), w.Header().Get("HX-Push-Url"))
				}
				d := html(t, w)
				p := d.Find(`[data-testid=error-partial][role=alert][data-status="` + strconv.Itoa(status) + `"]`)
				if p.Length() != 1 || p.Find(`[data-testid=error-message]`).Text() != wantMsg {
					t.Errorf("htmx (target %q): partial %s", c.target, w.Body)
				}
				if c.context != "" && !strings.Contains(p.Text(), c.context) {
					t.Errorf("htmx (target %q): the partial does not say %q", c.target, c.context)
				}
			}

			w = do(status, "Accept", "application/json", "HX-Request", "true")
			if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("JSON: Content-Type %q", ct)
			}
			var got struct {
				Error     string `json:"error"`
				Status    int    `json:"status"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.Error != wantMsg || got.Status != status || got.RequestID != id {
				t.Errorf("JSON: %s (%v)", w.Body, err)
			}
		})
	}
}
