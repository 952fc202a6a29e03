package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// envRunMain makes the test binary behave as the warden binary (see TestMain), so tests can
// start warden as a separate process: SQLite's locks are held per process, and two Stores in
// one process would not show how `serve` and `warden import` contend for the same file.
const envRunMain = "WARDEN_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main() // exits
	}
	os.Exit(m.Run())
}

// wardenCmd returns the test binary set up to run as `warden args...`.
func wardenCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	cmd.WaitDelay = 20 * time.Second
	return cmd
}

// loadDoc returns one of two policy documents that differ in one deny, so importing them
// alternately changes the database every time. The key survives both.
func loadDoc(deny string) string {
	return `version: 1
servers:
  - {name: github, tools: [create_issue, list_issues, delete_repo]}
organizations:
  - {name: acme, mcp: {servers: [github]}, deny_tools: [github/` + deny + `]}
teams:
  - {name: platform, organization: acme}
keys:
  - {name: load, team: platform}
`
}

var (
	listeningRE = regexp.MustCompile(`msg="warden listening" addr=(http://\S+)`)
	revisionRE  = regexp.MustCompile(`(?m)^revision: (\d+)$`)
)

// startServe runs `warden serve` on db as a separate process and returns its base URL. The
// process is stopped as production stops it (SIGINT, so it flushes its decision log) when the
// test ends, and killed only if it does not exit in time.
func startServe(t *testing.T, db string) string {
	t.Helper()
	cmd := wardenCmd(context.Background(), "serve", "--addr", "127.0.0.1:0", "--db", db, "--no-demo")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	addr := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		exited := make(chan error, 1)
		go func() { <-copied; exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Error("serve did not exit within 30s of SIGINT")
		}
		// logs is complete: the copier has finished. A warning is a failed decision log write
		// or policy refresh (the database was locked too long), or a connection cut at shutdown.
		// The one warning a fresh database brings, the first admin's password, is no trouble.
		var troubled bool
		for line := range strings.SplitSeq(logs.String(), "\n") {
			if (strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN")) && !strings.Contains(line, "created the first console user") {
				troubled = true
			}
		}
		if t.Failed() || troubled {
			t.Logf("serve's log:\n%s", logs.String())
		}
		if troubled {
			t.Error("serve logged a warning or an error")
		}
	})
	select {
	case a := <-addr:
		return a
	case <-copied:
		t.Fatal("serve exited before listening")
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start listening")
	}
	return ""
}

var decisionMetricRE = regexp.MustCompile(`(?m)^warden_decision_log_(written|dropped|flush_errors)_total (\S+)$`)

// decisionLogMetrics returns serve's decision log counters, for the test's log.
func decisionLogMetrics(base string) string {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var parts []string
	for _, m := range decisionMetricRE.FindAllStringSubmatch(string(b), -1) {
		parts = append(parts, m[1]+" "+m[2])
	}
	return strings.Join(parts, ", ")
}

// checkLoad posts /api/v1/check for key secret on conns connections until stop is closed.
type checkLoad struct {
	ok, failed atomic.Int64
	firstErr   atomic.Value
}

func (l *checkLoad) run(base, secret string, conns int, stop <-chan struct{}) (wait func()) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	body, _ := json.Marshal(map[string]string{"key": secret, "server": "github", "tool": "list_issues"})
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Post(base+"/api/v1/check", "application/json", bytes.NewReader(body))
				if err == nil {
					var cr struct{ Allowed bool }
					err = json.NewDecoder(resp.Body).Decode(&cr)
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && (resp.StatusCode != http.StatusOK || !cr.Allowed) {
						err = fmt.Errorf("status %d allowed=%v", resp.StatusCode, cr.Allowed)
					}
				}
				if err != nil {
					l.failed.Add(1)
					l.firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				l.ok.Add(1)
			}
		})
	}
	return func() { wg.Wait(); tr.CloseIdleConnections() }
}

// Finding 6 of issue 8: `warden import` beside a loaded `warden serve` on one SQLite file
// failed at once with "database is locked (SQLITE_BUSY)". Here serve runs as its own process
// under check load on 8 connections (every check is written to the decision log), while 20
// imports, each its own process, alternate between two documents so each one writes. None may
// fail. Under the race detector (every process several times slower) serve's decision log is
// saturated: it then drops records, but must still leave the imports their turn.
func TestImportBesideLoadedServeSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 22 processes")
	}
	const (
		conns   = 8
		imports = 20
	)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	db := storetest.DSN(t, store.KindSQLite)
	docs := [2]string{writeFile(t, loadDoc("delete_repo")), writeFile(t, loadDoc("create_issue"))}
	if code, _, errs := runCLI(t, "import", "--db", db, "-f", docs[0]); code != 0 {
		t.Fatalf("first import: exit %d: %s", code, errs)
	}
	code, secret, errs := runCLI(t, "key", "secret", "load", "--db", db)
	if code != 0 {
		t.Fatalf("key secret: exit %d: %s", code, errs)
	}
	secret = strings.TrimSpace(secret)

	base := startServe(t, db)
	var load checkLoad
	stop := make(chan struct{})
	wait := load.run(base, secret, conns, stop)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
			wait()
		}
	}()
	// The imports start once serve's decision log is writing the checks to the file.
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for {
		logged, err := st.ListDecisions(ctx, store.DecisionFilter{Key: "load", Limit: 1})
		if err != nil {
			t.Fatalf("read the decision log: %v", err)
		}
		if len(logged) > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond) // poll
	}

	start, okBefore := time.Now(), load.ok.Load()
	var failures []string
	var rev string
	var slowest time.Duration
	next := 1 // the document not in the database
	for i := range imports {
		var out, errb bytes.Buffer
		cmd := wardenCmd(ctx, "import", "--db", db, "-f", docs[next])
		cmd.Stdout, cmd.Stderr = &out, &errb
		t0 := time.Now()
		err := cmd.Run()
		slowest = max(slowest, time.Since(t0))
		switch {
		case err != nil:
			failures = append(failures, fmt.Sprintf("import %d: %v: %s", i+1, err, strings.TrimSpace(errb.String())))
		case !strings.Contains(out.String(), "revision: "):
			failures = append(failures, fmt.Sprintf("import %d changed nothing:\n%s", i+1, out.String()))
		default:
			next = 1 - next
			rev = revisionRE.FindStringSubmatch(out.String())[1]
		}
	}
	elapsed, checks := time.Since(start), load.ok.Load()-okBefore
	close(stop)
	wait()

	t.Logf("%d of %d imports failed (slowest %v); %d checks in %v during the imports (%.0f/s on %d connections), %d failed",
		len(failures), imports, slowest.Round(time.Millisecond), checks, elapsed.Round(time.Millisecond), float64(checks)/elapsed.Seconds(), conns, load.failed.Load())
	for _, f := range failures {
		t.Error(f)
	}
	if n := load.failed.Load(); n > 0 {
		t.Errorf("%d checks failed, first: %v", n, load.firstErr.Load())
	}
	if checks == 0 {
		t.Error("no check completed while the imports ran: the load did not overlap them")
	}
	t.Logf("decision log: %s", decisionLogMetrics(base))

	// serve's live state, reading beside the imports, reaches the last one's revision.
	if rev != "" {
		for got := ""; got != rev; time.Sleep(50 * time.Millisecond) {
			if ctx.Err() != nil {
				t.Fatalf("serve enforces revision %s, not the last import's %s", got, rev)
			}
			resp, err := http.Post(base+"/api/v1/check", "application/json", strings.NewReader(`{"key":"x","server":"github","tool":"list_issues"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got = resp.Header.Get("X-Warden-Revision")
		}
	}
}
