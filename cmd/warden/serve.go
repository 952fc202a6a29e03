package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/warden-mcp/warden/handlers"
	"github.com/warden-mcp/warden/handlers/mcpgw"
	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/demo"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/password"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/web"
)

// serveConfig is what `warden serve` reads from flags and the environment.
type serveConfig struct {
	addr   string
	db     string
	noDemo bool
	log    logConfig
	// publicURL is the console's origin (nil: "http://" + the bound address; see
	// web.Deps.PublicURL), trustProxy the reverse proxies whose X-Forwarded-* headers count
	// (see web.Deps.TrustedProxies).
	publicURL  *url.URL
	trustProxy []netip.Prefix
	// maxStale is how long the last good policy view is enforced while the database is
	// unreachable; decisionRetention how long raw decisions are kept, rollupRetention the
	// decision log's hourly counts, which replays read (0: forever).
	maxStale          time.Duration
	decisionRetention time.Duration
	rollupRetention   time.Duration
	// http.Server timeouts; see serveTimeouts. The gateway lifts the read and write deadlines of
	// an authenticated exchange once its request is read, and bounds each write of it by
	// writeTimeout instead.
	readHeaderTimeout, readTimeout, writeTimeout, idleTimeout time.Duration
	// Request and session limits. The body budget (maxBodyInflightPerKey, maxBodyInflight)
	// bounds the bytes of request bodies being read at once, per key and in all, so stalled
	// uploads of one valid key cannot make the process hold connections × maxBody; its defaults
	// (32 MiB a key: 8 bodies of the largest default size at once; 256 MiB in all) are argued
	// at mcpgw.DefaultMaxBodyInflightPerKey.
	maxBody, maxBodyInflightPerKey, maxBodyInflight byteSize
	maxSessionsPerKey                               int
	sessionTimeout                                  time.Duration
	// Console sign-in sessions end when idle this long (sessionIdle) and this long after sign-in
	// (sessionMax).
	sessionIdle, sessionMax time.Duration
	// ready, when set, receives the bound address once the server listens (tests use port 0).
	ready func(addr string)
}

// Defaults of the http.Server timeouts. Headers are small: 10 s is room for a slow link. A
// whole request, body included, gets 30 s: a 4 MiB body (the largest by default) then needs
// about 140 KB/s, while a connection trickling bytes is cut after 30 s. An answer of the console
// or the decision API is rendered in milliseconds: 60 s to write it is room for a slow reader;
// gateway exchanges are exempt (they last as long as the upstream or the stream), each of their
// writes bounded by the same 60 s. A keep-alive connection may idle 120 s between requests:
// MCP clients post in bursts on one connection.
const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = 30 * time.Second
	defaultWriteTimeout      = 60 * time.Second
	defaultIdleTimeout       = 120 * time.Second
)

func runServe(ctx context.Context, e env, args []string) int {
	cfg, code, ok := parseServe(e, args)
	if !ok {
		return code
	}
	if err := serve(ctx, e, cfg); err != nil {
		return fail(e, "serve", err)
	}
	return exitOK
}

// parseServe reads the flags of `warden serve`, each defaulting to its environment variable.
func parseServe(e env, args []string) (serveConfig, int, bool) {
	fs := newFlags(e, "serve")
	cfg := serveConfig{}
	defAddr := e.getenv("WARDEN_ADDR")
	if defAddr == "" {
		defAddr = "127.0.0.1:8080"
	}
	fs.StringVar(&cfg.addr, "addr", defAddr, "listen address (env WARDEN_ADDR)")
	publicURL := fs.String("public-url", e.getenv("WARDEN_PUBLIC_URL"),
		"the console's origin, http(s)://host[:port]; it answers only under that host and loopback names on the listen port (default http:// + the listen address) (env WARDEN_PUBLIC_URL)")
	trustProxy := fs.String("trust-proxy", e.getenv("WARDEN_TRUST_PROXY"),
		"comma-separated addresses or CIDR prefixes of reverse proxies whose X-Forwarded-Host/-Proto/-For headers are read (env WARDEN_TRUST_PROXY)")
	db := dbFlag(fs, e)
	fs.BoolVar(&cfg.noDemo, "no-demo", e.getenv("WARDEN_NO_DEMO") == "1", "do not seed the demo data into an empty database (env WARDEN_NO_DEMO=1)")
	if err := cfg.log.flags(fs, e); err != nil {
		fmt.Fprintf(e.stderr, "warden serve: %v\n", err)
		return cfg, exitUsage, false
	}
	for _, d := range []struct {
		p         *time.Duration
		name, env string
		def       time.Duration
		usage     string
	}{
		{&cfg.maxStale, "max-stale", "WARDEN_MAX_STALE", live.DefaultMaxStale, "enforce the last good policy this long while the database is unreachable, then fail closed"},
		{&cfg.decisionRetention, "decision-retention", "WARDEN_DECISION_RETENTION", live.DefaultDecisionRetention, "keep raw decisions this long (0: forever)"},
		{&cfg.rollupRetention, "rollup-retention", "WARDEN_ROLLUP_RETENTION", live.DefaultRollupRetention, "keep the decision log's hourly call counts, which previews replay, this long (0: forever)"},
		{&cfg.readHeaderTimeout, "read-header-timeout", "WARDEN_READ_HEADER_TIMEOUT", defaultReadHeaderTimeout, "time to read a request's headers"},
		{&cfg.readTimeout, "read-timeout", "WARDEN_READ_TIMEOUT", defaultReadTimeout, "time to read a whole request, body included (lifted for a gateway exchange once its request is read)"},
		{&cfg.writeTimeout, "write-timeout", "WARDEN_WRITE_TIMEOUT", defaultWriteTimeout, "time to write an answer; gateway answers and event streams are exempt, each of their writes bounded by it instead"},
		{&cfg.idleTimeout, "idle-timeout", "WARDEN_IDLE_TIMEOUT", defaultIdleTimeout, "time a keep-alive connection may idle between requests"},
		{&cfg.sessionIdle, "session-idle", "WARDEN_SESSION_IDLE", handlers.DefaultSessionIdle, "sign a console user out after this long without a request"},
		{&cfg.sessionMax, "session-max", "WARDEN_SESSION_MAX", handlers.DefaultSessionMax, "sign a console user out this long after they signed in, however active"},
		{&cfg.sessionTimeout, "session-timeout", "WARDEN_SESSION_TIMEOUT", mcpgw.DefaultSessionTimeout, "end idle gateway sessions after this long (/mcp), and forget idle session bindings (/mcp/:server)"},
	} {
		def := d.def
		if v := e.getenv(d.env); v != "" {
			var err error
			if def, err = time.ParseDuration(v); err != nil {
				fmt.Fprintf(e.stderr, "warden serve: %s: %v\n", d.env, err)
				return cfg, exitUsage, false
			}
		}
		fs.DurationVar(d.p, d.name, def, d.usage+" (env "+d.env+")")
	}
	for _, b := range []struct {
		p         *byteSize
		name, env string
		def       int64
		usage     string
	}{
		{&cfg.maxBody, "max-body", "WARDEN_MAX_BODY", mcpgw.DefaultMaxBodyBytes, "largest request body accepted, in bytes or with a KiB/MiB suffix; larger bodies get 413"},
		{&cfg.maxBodyInflightPerKey, "max-body-inflight-per-key", "WARDEN_MAX_BODY_INFLIGHT_PER_KEY", mcpgw.DefaultMaxBodyInflightPerKey,
			"bytes of request bodies one key may have being read at once (each counted at its Content-Length, or --max-body if it has none); a body beyond gets 429 unread"},
		{&cfg.maxBodyInflight, "max-body-inflight", "WARDEN_MAX_BODY_INFLIGHT", mcpgw.DefaultMaxBodyInflight,
			"bytes of request bodies being read at once in all (gateway and decision API); a body beyond gets 429 unread"},
	} {
		*b.p = byteSize(b.def)
		if v := e.getenv(b.env); v != "" {
			if err := b.p.Set(v); err != nil {
				fmt.Fprintf(e.stderr, "warden serve: %s: %v\n", b.env, err)
				return cfg, exitUsage, false
			}
		}
		fs.Var(b.p, b.name, b.usage+" (env "+b.env+")")
	}
	defSessions := mcpgw.DefaultMaxSessionsPerKey
	if v := e.getenv("WARDEN_MAX_SESSIONS_PER_KEY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fmt.Fprintf(e.stderr, "warden serve: WARDEN_MAX_SESSIONS_PER_KEY: want a positive integer, got %q\n", v)
			return cfg, exitUsage, false
		}
		defSessions = n
	}
	fs.IntVar(&cfg.maxSessionsPerKey, "max-sessions-per-key", defSessions, "sessions one key may hold open on /mcp; one more gets 429 (env WARDEN_MAX_SESSIONS_PER_KEY)")
	if code, ok := parseFlags(fs, args); !ok {
		return cfg, code, false
	}
	if cfg.maxSessionsPerKey < 1 {
		fmt.Fprintf(e.stderr, "warden serve: --max-sessions-per-key must be at least 1, got %d\n", cfg.maxSessionsPerKey)
		return cfg, exitUsage, false
	}
	// A key's share smaller than the largest body would refuse that body always, a total smaller
	// than a share would make the share unreachable: both are mistakes, said at start.
	if cfg.maxBodyInflightPerKey < cfg.maxBody {
		fmt.Fprintf(e.stderr, "warden serve: --max-body-inflight-per-key (%d) must be at least --max-body (%d)\n", cfg.maxBodyInflightPerKey, cfg.maxBody)
		return cfg, exitUsage, false
	}
	if cfg.maxBodyInflight < cfg.maxBodyInflightPerKey {
		fmt.Fprintf(e.stderr, "warden serve: --max-body-inflight (%d) must be at least --max-body-inflight-per-key (%d)\n", cfg.maxBodyInflight, cfg.maxBodyInflightPerKey)
		return cfg, exitUsage, false
	}
	if *publicURL != "" {
		u, err := web.ParsePublicURL(*publicURL)
		if err != nil {
			fmt.Fprintf(e.stderr, "warden serve: --public-url: %v\n", err)
			return cfg, exitUsage, false
		}
		cfg.publicURL = u
	}
	trusted, err := web.ParseTrustedProxies(*trustProxy)
	if err != nil {
		fmt.Fprintf(e.stderr, "warden serve: --trust-proxy: %v\n", err)
		return cfg, exitUsage, false
	}
	cfg.trustProxy = trusted
	cfg.db = *db
	return cfg, 0, true
}

// byteSize is a flag value in bytes: a number, optionally with a KiB, MiB or GiB suffix.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	mult := int64(1)
	num := strings.TrimSpace(s)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 || n > (1<<40)/mult {
		return fmt.Errorf("want a positive size in bytes, or with a KiB, MiB or GiB suffix, got %q", s)
	}
	*b = byteSize(n * mult)
	return nil
}

// httpServer is the http.Server of `warden serve`, with its timeouts.
func httpServer(cfg serveConfig, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.readHeaderTimeout,
		ReadTimeout:       cfg.readTimeout,
		WriteTimeout:      cfg.writeTimeout,
		IdleTimeout:       cfg.idleTimeout,
	}
}

func serve(ctx context.Context, e env, cfg serveConfig) error {
	logger := cfg.log.logger(e.stderr)
	slog.SetDefault(logger)

	st, err := e.openStore(ctx, cfg.db)
	if err != nil {
		return err
	}
	defer st.Close()
	if !cfg.noDemo {
		if err := seedDemo(ctx, st); err != nil {
			return err
		}
	}
	if err := sealPlaintextHeaders(ctx, logger, st); err != nil {
		return err
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
	forever := func(d time.Duration) time.Duration {
		if d == 0 {
			return -1 // keep forever
		}
		return d
	}
	decisions := live.NewDecisionLog(st, live.DecisionLogOptions{Retention: forever(cfg.decisionRetention),
		RollupRetention: forever(cfg.rollupRetention), Metrics: metrics, Logger: logger})
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
	publicURL := cfg.publicURL
	if publicURL == nil {
		publicURL = &url.URL{Scheme: "http", Host: ln.Addr().String()}
	}
	if err := firstAdmin(ctx, logger, st, publicURL); err != nil {
		return err
	}
	srv := httpServer(cfg, web.New(web.Deps{Store: st, State: state, Metrics: metrics, Decisions: decisions,
		PublicURL: publicURL, ListenAddr: ln.Addr().String(), TrustedProxies: cfg.trustProxy,
		Auth: web.AuthConfig{SessionIdle: cfg.sessionIdle, SessionMax: cfg.sessionMax},
		Limits: web.Limits{MaxBodyBytes: int64(cfg.maxBody), MaxSessionsPerKey: cfg.maxSessionsPerKey,
			MaxBodyInflightPerKey: int64(cfg.maxBodyInflightPerKey), MaxBodyInflight: int64(cfg.maxBodyInflight),
			SessionTimeout: cfg.sessionTimeout, StreamWriteTimeout: cfg.writeTimeout}}))
	logger.Info("warden listening", "addr", "http://"+ln.Addr().String(), "public_url", publicURL.String(), "database", st.Kind())
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

// firstAdmin creates the console's first user when there is none: "admin", with a random
// password printed once to the log. Without it a fresh console could not be signed in to (or
// would have to start open, which is what sign-in exists to end). Replicas starting together
// race harmlessly: one creates the user, the others find it exists.
func firstAdmin(ctx context.Context, logger *slog.Logger, st *store.Store, publicURL *url.URL) error {
	n, err := st.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	pw := password.Generate()
	hash, err := password.Hash(ctx, pw)
	if err != nil {
		return err
	}
	_, err = st.CreateUser(ctx, store.NewUser{Username: "admin", Role: models.RoleAdmin, PasswordHash: hash}, "first run")
	if models.ErrorCode(err) == models.EConflict {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create the first admin: %w", err)
	}
	logger.Warn("created the first console user: sign in as admin with this password, shown only this once, and change it on your account page",
		"sign_in", publicURL.JoinPath("/login").String(), "username", "admin", "password", pw)
	return nil
}
