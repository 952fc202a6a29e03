package main

import (
	"context"
	"flag"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
)

// policyReplayUsage is the replay subcommand's line of `warden policy`'s usage.
const policyReplayUsage = `  replay   --db URL --after FILE [--since 168h] [--format json|text|markdown]
                                   recorded calls the change would newly deny or allow
`

// runPolicyReplay prints what the document in --after would do to the calls recorded in the
// database's decision log over --since: the preview's replay, for a whole document. It only
// reads the database.
func runPolicyReplay(ctx context.Context, e env, fs *flag.FlagSet, args []string) int {
	var db, afterFile string
	fs.StringVar(&db, "db", "", "the live database: the state before the change, and its decision log (required)")
	fs.StringVar(&afterFile, "after", "", "the state after the change (policy document, required)")
	since := fs.Duration("since", 168*time.Hour, "replay the calls recorded over this window")
	format := formatFlag(fs)
	rem := remoteFlags(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if err := notBoth(fs, rem); err != nil {
		return fail(e, "policy replay", err)
	}
	required := []string{"db", "after"}
	if rem.set() {
		required = required[1:]
	}
	if err := requireFlags(fs, required...); err != nil {
		return fail(e, "policy replay", err)
	}
	if *since <= 0 {
		return fail(e, "policy replay", models.Errorf(models.EInvalid, "--since must be a positive duration such as 168h, not %s", *since))
	}
	after, err := readDocument(afterFile)
	if err != nil {
		return fail(e, "policy replay", err)
	}
	if rem.set() {
		// The server replays its own decision log against the document, as --db does here.
		data, err := models.EncodeDocument(after)
		if err != nil {
			return fail(e, "policy replay", err)
		}
		res, err := rem.replay(ctx, data, *since)
		if err != nil {
			return fail(e, "policy replay", err)
		}
		return writeReplay(e, *format, res, since.String())
	}
	st, err := store.OpenReadOnly(ctx, db)
	if err != nil {
		return fail(e, "policy replay", err)
	}
	defer st.Close()
	before, _, err := st.LoadDocument(ctx)
	if err != nil {
		return fail(e, "policy replay", err)
	}
	res, err := live.Replay(ctx, st, resolver.Build(before), resolver.Build(after), resolver.Scope{All: true}, *since, time.Now())
	if err != nil {
		return fail(e, "policy replay", err)
	}
	return writeReplay(e, *format, res, since.String())
}
