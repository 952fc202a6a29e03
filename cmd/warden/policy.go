package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
)

const policyUsage = `usage: warden policy COMMAND [flags]

commands (each reads a policy document with -f FILE, or the live database with --db URL):
  validate -f FILE                 exit 0, or 2 with every problem on stderr
  access   -f FILE                 effective access of every organization, team and key (JSON)
  check    -f FILE --key K --server S --tool T [--end-user U] [--agent A] [--explain]
                                   one decision; exit 0 allowed, 1 denied, 2 bad input
  diff     --before FILE --after FILE   (or --db URL --after FILE: the database is "before")
                                   who gains and loses which tools
check and diff take --format json|text|markdown (json, the default, is for programs).
` + policyReplayUsage

// runPolicy is the command-line face of the resolver: the same code the gateway and the
// console's preview run.
func runPolicy(ctx context.Context, e env, args []string) int {
	subs := make(map[string]func(context.Context, env, []string) int, len(policyCommands))
	for name, run := range policyCommands {
		subs[name] = func(ctx context.Context, e env, args []string) int {
			return run(ctx, e, newFlags(e, "policy "+name), args)
		}
	}
	return runSubcommand(ctx, e, "policy", policyUsage, args, subs)
}

// policyCommands are the policy subcommands, each given its flag set.
var policyCommands = map[string]func(ctx context.Context, e env, fs *flag.FlagSet, args []string) int{
	"validate": runPolicyValidate,
	"access":   runPolicyAccess,
	"check":    runPolicyCheck,
	"diff":     runPolicyDiff,
	"replay":   runPolicyReplay,
}

// sourceFlags adds -f, --db and --server/--token, the document a subcommand reads.
func sourceFlags(fs *flag.FlagSet, e env) *documentSource {
	src := &documentSource{}
	fs.StringVar(&src.file, "f", "", "policy document (YAML or JSON; - for standard input)")
	fs.StringVar(&src.db, "db", "", "read the live database instead: a postgres:// URL or SQLite path")
	src.remote = remoteFlags(fs, e)
	return src
}

// runPolicyValidate exits 0 for a valid document, or 2 with every problem on stderr.
func runPolicyValidate(ctx context.Context, e env, fs *flag.FlagSet, args []string) int {
	src := sourceFlags(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if _, err := src.load(ctx); err != nil {
		return fail(e, "policy validate", err)
	}
	return exitOK
}

// runPolicyAccess prints the effective access of every organization, team and key.
func runPolicyAccess(ctx context.Context, e env, fs *flag.FlagSet, args []string) int {
	src := sourceFlags(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	doc, err := src.load(ctx)
	if err != nil {
		return fail(e, "policy access", err)
	}
	return writeJSON(e, resolver.Build(doc).AllAccess())
}

// runPolicyCheck prints one decision with its explanation; it exits 0 when allowed, 1 when denied.
func runPolicyCheck(ctx context.Context, e env, fs *flag.FlagSet, args []string) int {
	// --server is the MCP server of the decision here, so the Warden to ask is --warden.
	src := &documentSource{}
	fs.StringVar(&src.file, "f", "", "policy document (YAML or JSON; - for standard input)")
	fs.StringVar(&src.db, "db", "", "read the live database instead: a postgres:// URL or SQLite path")
	src.remote = remoteFlagsNamed(fs, e, "warden")
	var r resolver.Request
	fs.StringVar(&r.Key, "key", "", "key name (required)")
	fs.StringVar(&r.Server, "server", "", "server name (required)")
	fs.StringVar(&r.Tool, "tool", "", "tool name (required)")
	fs.StringVar(&r.EndUser, "end-user", "", "end user named by the request")
	fs.StringVar(&r.Agent, "agent", "", "agent named by the request")
	format := formatFlag(fs)
	explain := fs.Bool("explain", false, "text and markdown: add the level-by-level explanation (JSON always has it)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if err := requireFlags(fs, "key", "server", "tool"); err != nil {
		return fail(e, "policy check", err)
	}
	doc, err := src.load(ctx)
	if err != nil {
		return fail(e, "policy check", err)
	}
	ex, err := resolver.Build(doc).Explain(r)
	if err != nil {
		return fail(e, "policy check", models.Errorf(models.EInvalid, "%v", err))
	}
	if *format != formatJSON {
		if err := writeCheck(e.stdout, *format, ex, *explain); err != nil {
			return fail(e, "policy check", err)
		}
		return checkExit(ex.Decision)
	}
	var decidedBy *string
	if !ex.Decision.Allowed {
		s := string(ex.Decision.DecidedBy)
		decidedBy = &s
	}
	code := writeJSON(e, struct {
		Allowed     bool                 `json:"allowed"`
		DecidedBy   *string              `json:"decided_by"`
		Reason      string               `json:"reason,omitempty"`
		Explanation resolver.Explanation `json:"explanation"`
	}{ex.Decision.Allowed, decidedBy, ex.Decision.Reason(r), ex})
	if code != exitOK {
		return code
	}
	if !ex.Decision.Allowed {
		return exitFailure
	}
	return exitOK
}

// runPolicyDiff prints who gains and loses which tools from --before (or --db) to --after.
func runPolicyDiff(ctx context.Context, e env, fs *flag.FlagSet, args []string) int {
	before, after := documentSource{}, documentSource{}
	fs.StringVar(&before.file, "before", "", "the state before the change (policy document)")
	fs.StringVar(&before.db, "db", "", "use the live database as the state before the change")
	before.remote = remoteFlags(fs, e)
	fs.StringVar(&after.file, "after", "", "the state after the change (policy document, required)")
	format := formatFlag(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if after.file == "" {
		return fail(e, "policy diff", models.Errorf(models.EInvalid, "--after FILE is required"))
	}
	a, err := before.load(ctx)
	if err != nil {
		return fail(e, "policy diff", err)
	}
	b, err := after.load(ctx)
	if err != nil {
		return fail(e, "policy diff", err)
	}
	return writeDiff(e, *format, diffHeader{title: "Policy diff"}, resolver.Diff(resolver.Build(a), resolver.Build(b)))
}

// documentSource is a policy document from a file, the live database, or a running Warden
// (--server).
type documentSource struct {
	file, db string
	remote   *remote
}

func (s documentSource) load(ctx context.Context) (*models.Document, error) {
	switch {
	case (s.file != "" && s.db != "") || (s.remote.set() && (s.file != "" || s.db != "")):
		return nil, models.Errorf(models.EInvalid, "give one of a file, --db and --server")
	case s.remote.set():
		doc, _, err := s.remote.document(ctx)
		return doc, err
	case s.db != "":
		// Only reads: never migrates, refuses an empty or outdated schema.
		st, err := store.OpenReadOnly(ctx, s.db)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		doc, _, err := st.LoadDocument(ctx)
		return doc, err
	case s.file != "":
		return readDocument(s.file)
	}
	return nil, models.Errorf(models.EInvalid, "a policy document is required: -f FILE (or --before FILE), or --db URL")
}

func requireFlags(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if fs.Lookup(n).Value.String() == "" {
			return models.Errorf(models.EInvalid, "--%s is required", n)
		}
	}
	return nil
}

func writeJSON(e env, v any) int {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(e.stderr, "warden: write JSON: %v\n", err)
		return exitFailure
	}
	return exitOK
}
