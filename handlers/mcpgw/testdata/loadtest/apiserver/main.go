// Command apiserver is `warden serve` for the decision API load test, with the decision log
// optional: it serves the same web.New stack over a live state of a SQLite database seeded with
// the demo policy, and prints the address and a fresh secret of key ci-bot. With -keys N it adds
// N keys (load-00000…, spread over the demo's teams) and prints, third, a file of their
// secrets, one a line, which check.lua cycles through.
//
//	go run ./handlers/mcpgw/testdata/loadtest/apiserver [-decision-log] [-keys 10000]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/demo"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/web"
)

func main() {
	decisionLog := flag.Bool("decision-log", false, "write decisions to the database's decision log, as warden serve does")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address")
	keys := flag.Int("keys", 0, "add this many keys with secrets (their secrets file is printed third)")
	flag.Parse()
	if *pprofAddr != "" {
		go http.ListenAndServe(*pprofAddr, nil)
	}
	if err := run(*decisionLog, *keys); err != nil {
		fmt.Fprintln(os.Stderr, "apiserver:", err)
		os.Exit(1)
	}
}

func run(decisionLog bool, keys int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "warden-apiserver")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, filepath.Join(dir, "warden.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	doc, err := demo.Document()
	if err != nil {
		return err
	}
	for i := range keys {
		doc.Keys = append(doc.Keys, models.KeyDoc{Name: fmt.Sprintf("load-%05d", i), Team: doc.Teams[i%len(doc.Teams)].Name})
	}
	if _, err := st.ApplyDocument(ctx, doc, "bench"); err != nil {
		return err
	}
	secret, err := st.IssueKeySecret(ctx, "ci-bot", "bench")
	if err != nil {
		return err
	}
	secretsFile := ""
	if keys > 0 {
		var b strings.Builder
		for i := range keys {
			s, err := st.IssueKeySecret(ctx, fmt.Sprintf("load-%05d", i), "bench")
			if err != nil {
				return err
			}
			b.WriteString(s + "\n")
		}
		secretsFile = filepath.Join(dir, "secrets")
		if err := os.WriteFile(secretsFile, []byte(b.String()), 0o600); err != nil {
			return err
		}
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	slog.SetDefault(logger)
	var state *live.State
	metrics := live.NewMetrics(func() float64 { return state.Age().Seconds() })
	state = live.New(st, live.Options{Metrics: metrics, Logger: logger})
	if err := state.Load(ctx); err != nil {
		return err
	}
	go state.Run(ctx)
	deps := web.Deps{Store: st, State: state, Metrics: metrics}
	if decisionLog {
		deps.Decisions = live.NewDecisionLog(st, live.DecisionLogOptions{Retention: -1, Metrics: metrics, Logger: logger})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("%s %s %s\n", ln.Addr(), secret, secretsFile)
	srv := &http.Server{Handler: web.New(deps), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}
