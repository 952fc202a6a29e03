package mcpgw_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
	"github.com/warden-mcp/warden/models/testenv"
	"github.com/warden-mcp/warden/web"
)

// listChangedPolicy: ci-bot (acme) and globex-key (globex) may both use gosrv's add and shout.
// The test's save limits acme to add, which changes ci-bot's tools and not globex-key's.
const listChangedPolicy = `
version: 1
servers:
  - {name: gosrv, url: %URL%, tools: [add, shout]}
organizations:
  - {name: acme, mcp: {servers: [gosrv]}}
  - {name: globex, mcp: {servers: [gosrv]}}
teams:
  - {name: platform, organization: acme}
keys:
  - {name: ci-bot, team: platform}
  - {name: globex-key, organization: globex}
`

// A save that narrows a key's access reaches its open sessions: the official TypeScript client,
// on /mcp and on /mcp/gosrv, gets notifications/tools/list_changed on its standalone stream and
// lists the shorter set; a client of a key whose tools did not change is not told.
func TestListChangedAfterSaveTypeScriptClient(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("testdata", "peers"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		testenv.Require(t, "end-to-end test with the TypeScript client: node is not installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "sdk")); err != nil {
		testenv.Require(t, "end-to-end test with the TypeScript client: run npm ci --prefix %s", dir)
	}
	for _, tc := range []struct {
		endpoint      string
		before, after []string
	}{
		{"/mcp", []string{"gosrv__add", "gosrv__shout"}, []string{"gosrv__add"}},
		{"/mcp/gosrv", []string{"add", "shout"}, []string{"add"}},
	} {
		t.Run(strings.TrimPrefix(tc.endpoint, "/"), func(t *testing.T) {
			ctx := context.Background()
			up := upstream(t)
			st := storetest.Open(t, store.KindSQLite)
			storetest.MustApply(t, st, storetest.MustLoad(t, strings.Replace(listChangedPolicy, "%URL%", up.URL, 1)))
			secrets := map[string]string{}
			for _, k := range []string{"ci-bot", "globex-key"} {
				s, err := st.IssueKeySecret(ctx, k, "test")
				if err != nil {
					t.Fatal(err)
				}
				secrets[k] = s
			}
			state := live.New(st, live.Options{})
			if err := state.Load(ctx); err != nil {
				t.Fatal(err)
			}
			// streams says which key's standalone stream is open: the gateway has it once it
			// answers the GET (a relayed stream is registered before its headers are written).
			streams := make(chan string, 8)
			srv := httptest.NewUnstartedServer(nil)
			h := web.New(web.Deps{Store: st, State: state, ListenAddr: srv.Listener.Addr().String()})
			srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/mcp") {
					for k, s := range secrets {
						if r.Header.Get("Authorization") == "Bearer "+s {
							w = &headerSignal{ResponseWriter: w, key: k, ch: streams}
						}
					}
				}
				h.ServeHTTP(w, r)
			})
			srv.Start()
			// Closing waits for open streams: the clients (cleaned up later, so first) end them.
			t.Cleanup(srv.Close)

			clients := map[string]*tsListClient{}
			for k, s := range secrets {
				clients[k] = startListClient(t, dir, srv.URL+tc.endpoint, s)
			}
			for k, c := range clients {
				first := c.result(t)
				if !slices.Equal(first.Before.OK, tc.before) {
					t.Fatalf("%s before: %+v, want %v", k, first, tc.before)
				}
			}
			for open := map[string]bool{}; len(open) < 2; {
				select {
				case k := <-streams:
					open[k] = true
				case <-time.After(30 * time.Second):
					t.Fatalf("standalone streams open: %v", open)
				}
			}

			// Save through the console: acme limited to gosrv's add.
			rev, err := st.Revision(ctx)
			if err != nil {
				t.Fatal(err)
			}
			form := url.Values{"mode": {"limit"}, "servers": {"gosrv"}, "limit_server": {"gosrv"}, "tool": {"gosrv/add"},
				"loaded_revision": {strconv.FormatInt(rev, 10)}, "preview_revision": {strconv.FormatInt(rev, 10)}}
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orgs/acme/settings", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(storetest.Admin(t, st))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("save: %s", resp.Status)
			}

			got := clients["ci-bot"].result(t)
			if !got.Notified || !slices.Equal(got.After.OK, tc.after) {
				t.Errorf("ci-bot after the save: notified %v, tools %v (%s), want notified and %v", got.Notified, got.After.OK, got.After.Error, tc.after)
			}
			// The notifications of one swap go out together: by now globex-key's would be in.
			time.Sleep(500 * time.Millisecond)
			clients["globex-key"].stop()
			other := clients["globex-key"].result(t)
			if other.Notified || !slices.Equal(other.After.OK, tc.before) {
				t.Errorf("globex-key after the save: notified %v, tools %v, want not notified and %v", other.Notified, other.After.OK, tc.before)
			}
		})
	}
}

// upstream is an in-process Go SDK MCP server with tools add and shout.
func upstream(t *testing.T) *httptest.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "gosrv", Version: "1"}, nil)
	for _, name := range []string{"add", "shout"} {
		mcp.AddTool(s, &mcp.Tool{Name: name}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name}}}, nil, nil
		})
	}
	srv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(srv.Close)
	return srv
}

// headerSignal says on ch when the response's headers go out.
type headerSignal struct {
	http.ResponseWriter
	key  string
	ch   chan<- string
	sent bool
}

func (h *headerSignal) WriteHeader(code int) {
	if !h.sent && code == http.StatusOK {
		h.sent = true
		h.ch <- h.key
	}
	h.ResponseWriter.WriteHeader(code)
}

func (h *headerSignal) Write(p []byte) (int, error) {
	if !h.sent {
		h.WriteHeader(http.StatusOK)
	}
	return h.ResponseWriter.Write(p)
}

func (h *headerSignal) Flush() {
	if !h.sent {
		h.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(h.ResponseWriter).Flush()
}

func (h *headerSignal) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// tsListClient is client.mjs in listchanged mode.
type tsListClient struct {
	cmd   *exec.Cmd
	stdin interface{ Write([]byte) (int, error) }
	lines chan string
}

type listOutcome struct {
	Connect struct{ Error string }
	Before  struct {
		OK    []string
		Error string
	}
	After struct {
		OK    []string
		Error string
	}
	Notified bool
}

func startListClient(t *testing.T, dir, endpoint, secret string) *tsListClient {
	t.Helper()
	cmd := exec.Command("node", filepath.Join(dir, "client.mjs"), "listchanged")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MCP_URL="+endpoint, "WARDEN_KEY="+secret)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	c := &tsListClient{cmd: cmd, stdin: stdin, lines: make(chan string, 4)}
	go func() {
		rd := bufio.NewReader(stdout)
		for {
			l, err := rd.ReadString('\n')
			if err != nil {
				close(c.lines)
				return
			}
			c.lines <- l
		}
	}()
	return c
}

// result reads the client's next line of outcomes.
func (c *tsListClient) result(t *testing.T) listOutcome {
	t.Helper()
	select {
	case l, ok := <-c.lines:
		if !ok {
			t.Fatal("the TypeScript client ended without an answer")
		}
		var o listOutcome
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("client output %q: %v", l, err)
		}
		if o.Connect.Error != "" {
			t.Fatalf("client could not connect: %s", o.Connect.Error)
		}
		return o
	case <-time.After(40 * time.Second):
		t.Fatal("no answer from the TypeScript client")
	}
	return listOutcome{}
}

// stop ends the client's wait for a notification.
func (c *tsListClient) stop() { c.stdin.Write([]byte("stop\n")) }
