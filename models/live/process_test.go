package live_test

// Tests of `warden serve` as a process: two replicas sharing Postgres, and a replica whose
// Postgres (a private instance the test runs itself) goes away and comes back.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
	"github.com/warden-mcp/warden/models/testenv"
)

var (
	binOnce sync.Once
	binDir  string // removed by TestMain
	binPath string
	binErr  error
)

// wardenBinary builds cmd/warden once for the whole package run.
func wardenBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "warden-bin-"); binErr != nil {
			return
		}
		// go test puts its own toolchain's bin first on the PATH of the test binary.
		goCmd, err := exec.LookPath("go")
		if err != nil {
			binErr = fmt.Errorf("find the go command to build cmd/warden: %v", err)
			return
		}
		binPath = filepath.Join(binDir, "warden")
		out, err := exec.Command(goCmd, "build", "-o", binPath, "github.com/warden-mcp/warden/cmd/warden").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build ./cmd/warden: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// syncBuffer collects a process's log lines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) WriteLine(l string) {
	s.mu.Lock()
	s.b.WriteString(l + "\n")
	s.mu.Unlock()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// replica is a running `warden serve`.
type replica struct {
	name string
	base string
	logs *syncBuffer
}

var listenLine = regexp.MustCompile(`msg="warden listening" addr=(http://\S+)`)

// startServe runs `warden serve` on a free port with args, and stops it (SIGTERM) when the
// test ends. Its log is printed if the test failed.
func startServe(t *testing.T, name string, args ...string) *replica {
	t.Helper()
	cmd := exec.Command(wardenBinary(t), append([]string{"serve", "--addr", "127.0.0.1:0", "--no-demo"}, args...)...)
	cmd.Env = os.Environ()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{name: name, logs: &syncBuffer{}}
	addr := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			r.logs.WriteLine(sc.Text())
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("%s did not stop on SIGTERM", name)
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, r.logs.String())
		}
	})
	select {
	case r.base = <-addr:
	case <-exited:
		t.Fatalf("%s exited at start:\n%s", name, r.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start:\n%s", name, r.logs.String())
	}
	return r
}

type healthz struct {
	code        int
	Status      string  `json:"status"`
	Database    string  `json:"database"`
	Revision    int64   `json:"revision"`
	SnapshotAge float64 `json:"snapshot_age_seconds"`
	Degraded    bool    `json:"degraded"`
	Error       string  `json:"error"`
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

func (r *replica) health(t *testing.T) healthz {
	t.Helper()
	resp, err := httpClient.Get(r.base + "/healthz")
	if err != nil {
		t.Fatalf("%s /healthz: %v", r.name, err)
	}
	defer resp.Body.Close()
	h := healthz{code: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("%s /healthz: %v", r.name, err)
	}
	return h
}

func (r *replica) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := httpClient.Get(r.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// openShared opens (and migrates) another store on a database the replicas use.
func openShared(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// access asks a replica's decision API what the key with this secret may use: the HTTP status,
// the servers, and the revision the answer was decided at.
func (r *replica) access(t *testing.T, secret string) (int, []string, int64) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, r.base+"/api/v1/access", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s /api/v1/access: %v", r.name, err)
	}
	defer resp.Body.Close()
	var body struct {
		Revision int64               `json:"revision"`
		Access   map[string][]string `json:"access"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	servers := make([]string, 0, len(body.Access))
	for s := range body.Access {
		servers = append(servers, s)
	}
	slices.Sort(servers)
	return resp.StatusCode, servers, body.Revision
}

// check asks a replica's decision API whether the key may call server/tool (status, allowed).
func (r *replica) check(t *testing.T, secret, server, tool string) (int, bool) {
	t.Helper()
	body := fmt.Sprintf(`{"key": %q, "server": %q, "tool": %q}`, secret, server, tool)
	resp, err := httpClient.Post(r.base+"/api/v1/check", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s /api/v1/check: %v", r.name, err)
	}
	defer resp.Body.Close()
	var out struct {
		Allowed bool `json:"allowed"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.Allowed
}

// Two `warden serve` processes share one Postgres database: an organization changed through the
// store (as the console saves it) reaches what the second replica enforces, 100 times over; its
// decisions land in the shared decision log.
func TestTwoReplicasSharePostgres(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t, store.KindPostgres)
	st := openShared(t, dsn)
	seed(t, st)
	secret, err := st.IssueKeySecret(ctx, "ci-bot", "test")
	if err != nil {
		t.Fatal(err)
	}
	a := startServe(t, "A", "--db", dsn)
	b := startServe(t, "B", "--db", dsn)
	for _, r := range []*replica{a, b} {
		if h := r.health(t); h.code != 200 || h.Status != "ok" || h.Database != "postgres" || h.Revision != 2 {
			t.Fatalf("%s healthz %+v", r.name, h)
		}
		if code, servers, _ := r.access(t, secret); code != 200 || !slices.Equal(servers, []string{"github"}) {
			t.Fatalf("%s: ci-bot access %d %v, want [github]", r.name, code, servers)
		}
	}

	// Each change flips acme (and so ci-bot) between github and jira; B's decision API is
	// polled until it answers with the new access.
	const changes = 100
	commitLat := make([]time.Duration, 0, changes)
	saveLat := make([]time.Duration, 0, changes)
	for i := range changes {
		want := []string{"jira"}
		if i%2 == 1 {
			want = []string{"github"}
		}
		start := time.Now()
		rev := setOrgServers(t, st, want...)
		committed := time.Now()
		for {
			code, servers, got := b.access(t, secret)
			if code == 200 && got >= rev {
				if got == rev && !slices.Equal(servers, want) {
					t.Fatalf("change %d: B at revision %d grants %v, want %v", i, rev, servers, want)
				}
				break
			}
			if time.Since(committed) > 5*time.Second {
				t.Fatalf("change %d (revision %d) did not reach replica B within 5s", i, rev)
			}
			time.Sleep(time.Millisecond)
		}
		commitLat = append(commitLat, time.Since(committed))
		saveLat = append(saveLat, time.Since(start))
	}
	p50 := percentile(commitLat, 50)
	t.Logf("propagation to replica B over %d changes: commit->B p50 %s p99 %s max %s; save start->B p50 %s p99 %s",
		changes, p50, percentile(commitLat, 99), percentile(commitLat, 100),
		percentile(saveLat, 50), percentile(saveLat, 99))
	if p50 > time.Second {
		t.Errorf("median propagation %s exceeds 1s", p50)
	}

	final, err := st.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "replica A to reach the last revision", func() bool {
		_, servers, rev := a.access(t, secret)
		return rev == final && slices.Equal(servers, []string{"github"})
	})

	// B's decisions reach the shared decision log, stamped with the revision that decided.
	for range 3 {
		if code, allowed := b.check(t, secret, "github", "create_issue"); code != 200 || !allowed {
			t.Fatalf("check on B: %d allowed=%v", code, allowed)
		}
	}
	if code, allowed := b.check(t, secret, "jira", "search"); code != 200 || allowed {
		t.Fatalf("check on B: %d allowed=%v", code, allowed)
	}
	var logged []models.Decision
	waitFor(t, 5*time.Second, "B's decisions in the decision log", func() bool {
		logged, err = st.ListDecisions(ctx, store.DecisionFilter{Key: "ci-bot", Kind: models.DecisionCall})
		return err == nil && len(logged) == 4
	})
	if d := logged[0]; d.Server != "jira" || d.Allowed || d.DecidedBy == "" || d.Revision != final {
		t.Errorf("logged denial %+v", d)
	}
	m := b.get(t, "/metrics")
	for _, want := range []string{
		fmt.Sprintf("warden_snapshot_revision %d\n", final),
		"warden_snapshot_rebuild_seconds_count",
		`warden_decisions_total{decided_by="",outcome="allowed"} 3`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("replica B /metrics lacks %q:\n%s", want, grepLines(m, "warden_"))
		}
	}
}

func grepLines(s, substr string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Postgres stops under a running server: it keeps enforcing the last good view and reports
// degraded with its age, fails closed after --max-stale, and recovers when Postgres is back.
// The Postgres is a private one this test starts (initdb) on its own port and folder.
func TestPostgresOutage(t *testing.T) {
	pg := startPostgres(t)
	st := openShared(t, pg.dsn())
	seed(t, st)
	secret, err := st.IssueKeySecret(context.Background(), "ci-bot", "test")
	if err != nil {
		t.Fatal(err)
	}
	// Long enough to look at the degraded state after up to one 2 s poll interval of age.
	const maxStale = 5 * time.Second
	srv := startServe(t, "warden", "--db", pg.dsn(), "--max-stale", maxStale.String())

	// The same, in process, to look at View itself.
	s := live.New(st, live.Options{MaxStale: maxStale, PollInterval: 500 * time.Millisecond})
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	enforces := func(wantCode int, wantAllowed bool) {
		t.Helper()
		if code, allowed := srv.check(t, secret, "github", "create_issue"); code != wantCode || allowed != wantAllowed {
			t.Errorf("check: %d allowed=%v, want %d allowed=%v", code, allowed, wantCode, wantAllowed)
		}
		if code, allowed := srv.check(t, secret, "jira", "search"); code != wantCode || allowed {
			t.Errorf("check jira: %d allowed=%v, want %d denied", code, allowed, wantCode)
		}
	}
	if h := srv.health(t); h.code != 200 || h.Status != "ok" || h.Revision != 2 || h.Degraded {
		t.Fatalf("healthz before the outage %+v", h)
	}
	enforces(200, true)

	pg.stop(t)
	stopped := time.Now()
	var h healthz
	waitFor(t, 5*time.Second, "/healthz to report degraded", func() bool { h = srv.health(t); return h.Status == "degraded" })
	if h.code != 200 || !h.Degraded || h.Revision != 2 || h.Error == "" || h.SnapshotAge < 0 {
		t.Errorf("degraded healthz %+v", h)
	}
	enforces(200, true) // the last good view is still enforced
	waitFor(t, 5*time.Second, "the in-process state to degrade", func() bool { return s.Health().Degraded })
	if v, err := s.View(); err != nil || v.Revision != 2 {
		t.Errorf("within max-stale the last good view must be enforced: %v, %v", v, err)
	}
	t.Logf("degraded %s after Postgres stopped: %+v", time.Since(stopped).Round(time.Millisecond), h)

	waitFor(t, maxStale+5*time.Second, "/healthz to fail closed", func() bool { h = srv.health(t); return h.code == 503 })
	// The age is past max-stale, but /healthz rounds it to the millisecond: 5.0004 s reads 5.
	if h.Status != "unavailable" || h.SnapshotAge < maxStale.Seconds() || h.Error == "" {
		t.Errorf("failing-closed healthz %+v", h)
	}
	enforces(503, false) // fail closed
	waitFor(t, maxStale+time.Second, "View to fail closed", func() bool { _, err := s.View(); return err != nil })
	var stale *live.StaleError
	if _, err := s.View(); !errors.As(err, &stale) {
		t.Errorf("View past max-stale: %v", err)
	}
	t.Logf("failing closed %s after Postgres stopped: %+v", time.Since(stopped).Round(time.Millisecond), h)

	pg.start(t)
	restarted := time.Now()
	waitFor(t, 15*time.Second, "/healthz to recover", func() bool { h = srv.health(t); return h.Status == "ok" })
	if h.code != 200 || h.Revision != 2 || h.Degraded {
		t.Errorf("recovered healthz %+v", h)
	}
	enforces(200, true)
	waitFor(t, 5*time.Second, "View to recover", func() bool { _, err := s.View(); return err == nil })
	t.Logf("recovered %s after Postgres restarted", time.Since(restarted).Round(time.Millisecond))

	rev := setOrgServers(t, st, "jira")
	waitFor(t, 5*time.Second, "a change after the outage to reach the server", func() bool {
		_, servers, got := srv.access(t, secret)
		return got == rev && slices.Equal(servers, []string{"jira"})
	})
	waitFor(t, 5*time.Second, "the listener to reconnect", func() bool { return s.Health().Listening })
}

// pgServer is a private Postgres instance: own data folder, port and socket folder.
type pgServer struct {
	bin, dir, data string
	port           int
}

func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	p := &pgServer{bin: os.Getenv("WARDEN_TEST_PG_BIN")}
	if p.bin == "" {
		p.bin = "/usr/lib/postgresql/15/bin"
	}
	if _, err := os.Stat(filepath.Join(p.bin, "initdb")); err != nil {
		testenv.Require(t, "no initdb in %s (set WARDEN_TEST_PG_BIN to Postgres's bin folder): %v", p.bin, err)
	}
	var err error
	if p.dir, err = os.MkdirTemp("", "warden-pg-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(p.dir) })
	if os.Geteuid() == 0 {
		// Postgres refuses to run as root: the postgres OS user runs it, in a folder it owns.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres OS user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(p.dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	p.data = filepath.Join(p.dir, "data")
	if out, err := p.cmd("initdb", "-D", p.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	t.Cleanup(func() { p.cmd("pg_ctl", "-D", p.data, "-m", "immediate", "-w", "stop").Run() })
	for range 20 {
		port := 55432 + rand.IntN(1000)
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			ln.Close()
			p.port = port
			break
		}
	}
	if p.port == 0 {
		t.Fatal("no free port for Postgres")
	}
	p.start(t)
	return p
}

func (p *pgServer) cmd(name string, args ...string) *exec.Cmd {
	path := filepath.Join(p.bin, name)
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (p *pgServer) dsn() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

func (p *pgServer) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", p.port, p.dir)
	out, err := p.cmd("pg_ctl", "-D", p.data, "-l", filepath.Join(p.dir, "postgres.log"), "-o", opts, "-w", "-t", "30", "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "postgres.log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

func (p *pgServer) stop(t *testing.T) {
	t.Helper()
	if out, err := p.cmd("pg_ctl", "-D", p.data, "-m", "fast", "-w", "stop").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}
