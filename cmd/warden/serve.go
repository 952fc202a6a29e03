package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/warden-mcp/warden/models/demo"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/web"
)

// serveConfig is what `warden serve` reads from flags and the environment.
type serveConfig struct {
	addr   string
	db     string
	noDemo bool
	// allowedHosts lists, comma-separated, the console's host names (see web.Deps.AllowedHosts).
	allowedHosts string
	// maxStale is how long the last good policy view is enforced while the database is
	// unreachable; decisionRetention how long decision log rows are kept (0: forever).
	maxStale          time.Duration
	decisionRetention time.Duration
	// ready, when set, receives the bound address once the server listens (tests use port 0).
	ready func(addr string)
}

func runServe(ctx context.Context, e env, args []string) int {
	fs := newFlags(e, "serve")
	cfg := serveConfig{}
	defAddr := e.getenv("WARDEN_ADDR")
	if defAddr == "" {
		defAddr = "127.0.0.1:8080"
	}
	fs.StringVar(&cfg.addr, "addr", defAddr, "listen address (env WARDEN_ADDR)")
	fs.StringVar(&cfg.allowedHosts, "allowed-hosts", e.getenv("WARDEN_ALLOWED_HOSTS"),
		"comma-separated host names the console answers to besides IP addresses and localhost; * for any (env WARDEN_ALLOWED_HOSTS)")
	db := dbFlag(fs, e)
	fs.BoolVar(&cfg.noDemo, "no-demo", e.getenv("WARDEN_NO_DEMO") == "1", "do not seed the demo data into an empty database (env WARDEN_NO_DEMO=1)")
	for _, d := range []struct {
		p         *time.Duration
		name, env string
		def       time.Duration
		usage     string
	}{
		{&cfg.maxStale, "max-stale", "WARDEN_MAX_STALE", live.DefaultMaxStale, "enforce the last good policy this long while the database is unreachable, then fail closed"},
		{&cfg.decisionRetention, "decision-retention", "WARDEN_DECISION_RETENTION", live.DefaultDecisionRetention, "keep decision log rows this long (0: forever)"},
	} {
		def := d.def
		if v := e.getenv(d.env); v != "" {
			var err error
			if def, err = time.ParseDuration(v); err != nil {
				fmt.Fprintf(e.stderr, "warden serve: %s: %v\n", d.env, err)
				return exitUsage
			}
		}
		fs.DurationVar(d.p, d.name, def, d.usage+" (env "+d.env+")")
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg.db = *db
	if err := serve(ctx, e, cfg); err != nil {
		return fail(e, "serve", err)
	}
	return exitOK
}

func serve(ctx context.Context, e env, cfg serveConfig) error {
	logger := slog.New(slog.NewTextHandler(e.stderr, nil))
	slog.SetDefault(logger)

	st, err := openStore(ctx, cfg.db)
	if err != nil {
		return err
	}
	defer st.Close()
	if !cfg.noDemo {
		if err := seedDemo(ctx, st); err != nil {
			return err
		}
	}

	// The enforced policy view: built before listening (no view, no start), kept current by Run.
	var state *live.State
	metrics := live.NewMetrics(func() float64 { return state.Age().Seconds() })
	state = live.New(st, live.Options{MaxStale: cfg.maxStale, Metrics: metrics, Logger: logger})
	if err := state.Load(ctx); err != nil {
		return fmt.Errorf("load policy: %w", err)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan struct{})
	go func() { defer close(runDone); state.Run(runCtx) }()
	defer func() { stopRun(); <-runDone }()
	retention := cfg.decisionRetention
	if retention == 0 {
		retention = -1 // keep forever
	}
	decisions := live.NewDecisionLog(st, live.DecisionLogOptions{Retention: retention, Metrics: metrics, Logger: logger})
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := decisions.Close(closeCtx); err != nil {
			logger.Error("decision log not fully written", "error", err)
		}
	}()

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: web.New(web.Deps{Store: st, State: state, Metrics: metrics, Decisions: decisions,
			AllowedHosts: strings.Split(cfg.allowedHosts, ",")}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	logger.Info("warden listening", "addr", "http://"+ln.Addr().String(), "database", st.Kind())
	if cfg.ready != nil {
		cfg.ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Clients may hold MCP event streams open indefinitely; past the grace period they are
		// cut rather than keeping the process (and the decision log's last flush) waiting.
		logger.Warn("closing connections still open after the grace period", "error", err)
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// seedDemo imports the demo policy document into an empty database, through the same code path
// as `warden import`.
func seedDemo(ctx context.Context, st *store.Store) error {
	empty, err := st.IsEmpty(ctx)
	if err != nil || !empty {
		return err
	}
	doc, err := demo.Document()
	if err != nil {
		return fmt.Errorf("demo document: %w", err)
	}
	sum, err := st.ApplyDocument(ctx, doc, "demo")
	if err != nil {
		return fmt.Errorf("seed demo: %w", err)
	}
	slog.Info("seeded demo data", "revision", sum.Revision)
	return nil
}
