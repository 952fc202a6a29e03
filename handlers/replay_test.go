package handlers_test

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// replayTraffic is TestPreviewReplay's recorded traffic on the handlers' policy (acme limited
// to the dev group, github/delete_repo denied).
func replayTraffic(now time.Time) []models.Decision {
	var rows []models.Decision
	add := func(n int, ago time.Duration, kind, key, server, tool string, allowed bool) {
		for i := range n {
			rows = append(rows, models.Decision{At: now.Add(-ago).Add(time.Duration(i) * time.Second), Kind: kind, KeyName: key,
				Server: server, Tool: tool, Allowed: allowed, Revision: 1})
		}
	}
	add(6, time.Hour, "call", "ci-bot", "github", "create_issue", true)
	add(4, time.Hour, "call", "ci-bot", "github", "list_issues", true)
	add(3, 72*time.Hour, "call", "deploy", "github", "create_issue", true)
	add(2, 240*time.Hour, "call", "frontend", "jira", "create_ticket", true)
	add(5, time.Hour, "call", "billing-svc", "github", "delete_repo", false)
	add(7, time.Hour, "call", "globex-key", "github", "create_issue", true) // another organization
	add(9, time.Hour, "list", "ci-bot", "github", "", true)                 // tools/list: not a call
	return rows
}

// The preview replays the recorded calls of acme's keys against the draft. The expected counts
// are worked out from replayTraffic: the draft (the read-only toolset instead of the dev group)
// takes github/create_issue from ci-bot and deploy and jira/create_ticket from frontend;
// billing-svc's delete_repo stays denied; globex-key is not acme's.
func TestPreviewReplay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		a := newAppOn(t, st, policy)
		now := time.Now()
		storetest.RecordDecisions(t, a.st, replayTraffic(now)...)
		type key struct {
			Key   string `json:"key"`
			Calls int64  `json:"calls"`
		}
		type tool struct {
			Server string `json:"server"`
			Tool   string `json:"tool"`
			Calls  int64  `json:"calls"`
			Keys   int    `json:"keys"`
		}
		type change struct {
			Calls  int64  `json:"calls"`
			Keys   int    `json:"keys"`
			ByTool []tool `json:"by_tool"`
			ByKey  []key  `json:"by_key"`
		}
		type replay struct {
			Calls        int64  `json:"calls"`
			Keys         int    `json:"keys"`
			NewlyDenied  change `json:"newly_denied"`
			NewlyAllowed change `json:"newly_allowed"`
		}
		none := change{ByTool: []tool{}, ByKey: []key{}}
		allowDelete := draft("1")
		allowDelete.Set("toolsets", "")
		allowDelete.Del("toolsets")
		allowDelete.Set("access_groups", "dev")
		allowDelete.Del("deny_tools")
		for _, c := range []struct {
			name, window string
			form         func() url.Values
			want         replay
		}{
			{"7 days", "168h", func() url.Values { return draft("1") }, replay{Calls: 18, Keys: 3,
				NewlyDenied: change{Calls: 9, Keys: 2, ByTool: []tool{{"github", "create_issue", 9, 2}},
					ByKey: []key{{"ci-bot", 6}, {"deploy", 3}}}, NewlyAllowed: none}},
			{"24 hours", "24h", func() url.Values { return draft("1") }, replay{Calls: 15, Keys: 2,
				NewlyDenied:  change{Calls: 6, Keys: 1, ByTool: []tool{{"github", "create_issue", 6, 1}}, ByKey: []key{{"ci-bot", 6}}},
				NewlyAllowed: none}},
			{"30 days", "720h", func() url.Values { return draft("1") }, replay{Calls: 20, Keys: 4,
				NewlyDenied: change{Calls: 11, Keys: 3, ByTool: []tool{{"github", "create_issue", 9, 2}, {"jira", "create_ticket", 2, 1}},
					ByKey: []key{{"ci-bot", 6}, {"deploy", 3}, {"frontend", 2}}}, NewlyAllowed: none}},
			{"delete_repo no longer denied", "", func() url.Values { return allowDelete }, replay{Calls: 18, Keys: 3,
				NewlyDenied:  none,
				NewlyAllowed: change{Calls: 5, Keys: 1, ByTool: []tool{{"github", "delete_repo", 5, 1}}, ByKey: []key{{"billing-svc", 5}}}}},
		} {
			t.Run(c.name, func(t *testing.T) {
				f := c.form()
				if c.window != "" {
					f.Set("replay_window", c.window)
				}
				w := a.doJSON(t, "/orgs/acme/settings/preview", f)
				if w.Code != 200 {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
				var out struct {
					Replay json.RawMessage `json:"replay"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
					t.Fatal(err)
				}
				var got replay
				if err := json.Unmarshal(out.Replay, &got); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("replay\n got %+v\nwant %+v", got, c.want)
				}
				checkReplayShape(t, out.Replay, now, c.window)
			})
		}

		// The panel shows the same, in words and tables.
		f := draft("1")
		d := parse(t, a.do(t, "POST", "/orgs/acme/settings/preview", f, true))
		if got, want := text(d, "replay-headline"), "Of 18 recorded calls by 3 keys in the last 7 days, 9 calls by 2 keys to 1 tool would now be denied."; got != want {
			t.Errorf("replay headline\n got %q\nwant %q", got, want)
		}
		if got := d.Find(`[data-testid="replay-window"] option[selected]`).AttrOr("value", ""); got != "168h" {
			t.Errorf("selected window %q, want the default 168h", got)
		}
		var cells []string
		d.Find(`[data-testid="replay-denied-by-key"] tbody td`).Each(func(i int, s *goquery.Selection) {
			if i%3 != 2 { // the last-seen cell is a time
				cells = append(cells, strings.TrimSpace(s.Text()))
			}
		})
		if got := strings.Join(cells, " "); got != "ci-bot 6 deploy 3" {
			t.Errorf("denied by key: %q", got)
		}
		f.Set("replay_window", "24h")
		d = parse(t, a.do(t, "POST", "/orgs/acme/settings/preview", f, true))
		if got := text(d, "replay-recorded"); got != "15 recorded calls by 2 keys" {
			t.Errorf("24 h: %q", got)
		}
		f.Set("replay_window", "1y")
		if w := a.do(t, "POST", "/orgs/acme/settings/preview", f, true); w.Code != 422 || !strings.Contains(w.Body.String(), "replay_window") {
			t.Errorf("bad window: %d %.300s", w.Code, w.Body)
		}
	})
}

// checkReplayShape checks the replay object's members, names and types exactly as the JSON API
// documents them.
func checkReplayShape(t *testing.T, raw json.RawMessage, now time.Time, window string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	if got := keys(m); got != "calls,keys,newly_allowed,newly_denied,since" {
		t.Errorf("replay members %s", got)
	}
	since, err := time.Parse(time.RFC3339, m["since"].(string))
	span, _ := time.ParseDuration(window)
	if span == 0 {
		span = 168 * time.Hour
	}
	// The rollup counts by the hour: the window begins at the start of an hour.
	if start := now.Add(-span); err != nil || since.After(start) || start.Sub(since) >= time.Hour || since.Minute() != 0 {
		t.Errorf("since %v (%v), want about %s", m["since"], err, now.Add(-span))
	}
	for _, dir := range []string{"newly_denied", "newly_allowed"} {
		c := m[dir].(map[string]any)
		if got := keys(c); got != "by_key,by_tool,calls,keys" {
			t.Errorf("%s members %s", dir, got)
		}
		for _, r := range c["by_tool"].([]any) {
			if got := keys(r.(map[string]any)); got != "calls,keys,last_seen,server,tool" {
				t.Errorf("%s by_tool members %s", dir, got)
			}
		}
		for _, r := range c["by_key"].([]any) {
			row := r.(map[string]any)
			if got := keys(row); got != "calls,key,last_seen" {
				t.Errorf("%s by_key members %s", dir, got)
			}
			if ls, err := time.Parse(time.RFC3339, row["last_seen"].(string)); err != nil || ls.After(now.Add(time.Minute)) || ls.Before(now.Add(-31*24*time.Hour)) {
				t.Errorf("%s last_seen %v (%v)", dir, row["last_seen"], err)
			}
		}
	}
}

func (a *app) doJSON(t *testing.T, path string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	return w
}
