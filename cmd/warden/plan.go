package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
)

// exitConflict is apply's answer to a stale plan: the policy moved since the plan was made,
// and nothing was written.
const exitConflict = 3

// planFormatVersion names the layout of a plan file; apply refuses any other.
const planFormatVersion = "warden-plan/1"

// planFile is a saved plan, as Terraform has them: the state it was made against (revision
// and canonical document hash), the document it applies, carried whole so that apply writes
// exactly what was reviewed, and the access diff between the two.
type planFile struct {
	Format    string    `json:"format"`
	CreatedAt time.Time `json:"created_at"`
	// BaseRevision and BaseSHA256 are the database's policy when the plan was made; apply
	// refuses the plan once either has moved.
	BaseRevision int64  `json:"base_revision"`
	BaseSHA256   string `json:"base_sha256"`
	// DocumentSHA256 is the SHA-256 of Document, the canonical text of the planned state
	// (what `warden export` would print after applying it).
	DocumentSHA256 string `json:"document_sha256"`
	// Changed is false when the planned document is the base: applying writes nothing.
	Changed bool                `json:"changed"`
	Diff    resolver.DiffResult `json:"diff"`
	// Document is left out of what `warden plan` prints, and is in the file -o writes.
	Document string `json:"document,omitempty"`
}

// runPlan computes what importing a document would change and can save that as a plan.
func runPlan(ctx context.Context, e env, args []string) int {
	fs := newFlags(e, "plan")
	db := dbOnlyFlag(fs, e)
	file := fs.String("f", "", "policy document to plan (YAML or JSON; - for standard input)")
	out := fs.String("o", "", "save the plan to this file, for 'warden apply FILE'")
	format := formatFlag(fs)
	rem := remoteFlags(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if err := notBoth(fs, rem); err != nil {
		return fail(e, "plan", err)
	}
	next, err := readDocument(*file)
	if err != nil {
		return fail(e, "plan", err)
	}
	cur, rev, err := planBase(ctx, *db, rem)
	if err != nil {
		return fail(e, "plan", err)
	}
	_, baseSum, err := models.CanonicalDocument(cur)
	if err != nil {
		return fail(e, "plan", err)
	}
	text, sum, err := models.CanonicalDocument(next)
	if err != nil {
		return fail(e, "plan", err)
	}
	p := &planFile{Format: planFormatVersion, CreatedAt: time.Now().UTC().Truncate(time.Second),
		BaseRevision: rev, BaseSHA256: baseSum, DocumentSHA256: sum, Changed: sum != baseSum,
		Diff: resolver.Diff(resolver.Build(cur), resolver.Build(next))}
	if *out != "" {
		p.Document = string(text)
		if err := writePlan(*out, p); err != nil {
			return fail(e, "plan", err)
		}
		p.Document = ""
	}
	return writeDiff(e, *format, diffHeader{title: "Warden plan", plan: p}, p.Diff)
}

// planBase is the state a plan is made against: the database's, or a running Warden's.
// Planning only reads, like export: it never migrates and refuses an outdated schema.
func planBase(ctx context.Context, db string, rem *remote) (*models.Document, int64, error) {
	if rem.set() {
		return rem.document(ctx)
	}
	st, err := store.OpenReadOnly(ctx, db)
	if err != nil {
		return nil, 0, err
	}
	defer st.Close()
	return st.LoadDocument(ctx)
}

// writePlan writes the plan file whole or not at all: to a temporary file renamed into place.
func writePlan(path string, p *planFile) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return models.Errorf(models.EInvalid, "write plan: %v", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return models.Errorf(models.EInvalid, "write plan: %v", err)
	}
	return nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// readPlan reads a plan file strictly (no unknown fields, one JSON value) and checks that its
// document is the one its hash names, so an edited plan cannot apply something nobody reviewed.
func readPlan(path string) (*planFile, *models.Document, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, models.Errorf(models.EInvalid, "read plan: %v", err)
	}
	var p struct {
		planFile
		Diff json.RawMessage `json:"diff"` // not needed to apply, and read by nobody
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, nil, models.Errorf(models.EInvalid, "%s: not a plan file: %v", path, err)
	}
	if dec.More() {
		return nil, nil, models.Errorf(models.EInvalid, "%s: not a plan file: more than one JSON value", path)
	}
	switch {
	case p.Format != planFormatVersion:
		return nil, nil, models.Errorf(models.EInvalid, "%s: plan format %q, this warden reads %q", path, p.Format, planFormatVersion)
	case p.Document == "":
		return nil, nil, models.Errorf(models.EInvalid, "%s: the plan carries no document (save plans with 'warden plan -o FILE')", path)
	case !sha256Hex.MatchString(p.DocumentSHA256) || !sha256Hex.MatchString(p.BaseSHA256):
		return nil, nil, models.Errorf(models.EInvalid, "%s: the plan's hashes are not SHA-256 hex", path)
	case p.BaseRevision < 0:
		return nil, nil, models.Errorf(models.EInvalid, "%s: base revision %d is negative", path, p.BaseRevision)
	}
	if got := models.DocumentSHA256([]byte(p.Document)); got != p.DocumentSHA256 {
		return nil, nil, models.Errorf(models.EInvalid, "%s: the plan's document does not match its hash (sha256 %s, the plan says %s): it was changed after planning; make a new plan",
			path, models.ShortSHA256(got), models.ShortSHA256(p.DocumentSHA256))
	}
	doc, err := models.LoadDocument([]byte(p.Document))
	if err != nil {
		return nil, nil, err
	}
	return &p.planFile, doc, nil
}

const applyUsage = `usage: warden apply PLAN [--db URL | --server URL --token TOKEN] [--actor NAME] [--no-migrate]

  PLAN is a plan file saved by 'warden plan -o PLAN'.
`

// runApply applies a saved plan: exactly its document, and only if the database's policy is
// still the one the plan was made against.
func runApply(ctx context.Context, e env, args []string) int {
	fs := newFlags(e, "apply")
	db := dbFlag(fs, e)
	actor := fs.String("actor", "cli", "who the audit log names as making the change")
	rem := remoteFlags(fs, e)
	path, code, ok := parseNamed(e, fs, args, applyUsage)
	if !ok {
		return code
	}
	if err := notBoth(fs, rem); err != nil {
		return fail(e, "apply", err)
	}
	p, doc, err := readPlan(path)
	if err != nil {
		return fail(e, "apply", err)
	}
	base := store.Base{Revision: p.BaseRevision, SHA256: p.BaseSHA256}
	var sum *store.ImportSummary
	if rem.set() {
		// The plan's document is its canonical text, checked against its hash above.
		sum, err = rem.importDocument(ctx, []byte(p.Document), base)
	} else {
		var st *store.Store
		if st, err = e.openStore(ctx, *db); err != nil {
			return fail(e, "apply", err)
		}
		defer st.Close()
		sum, err = st.ApplyPlanned(ctx, doc, *actor, base)
	}
	var ce *models.ConflictError
	if errors.As(err, &ce) {
		printConflict(e, ce)
		return exitConflict
	}
	if err != nil {
		return fail(e, "apply", err)
	}
	fmt.Fprintf(e.stdout, "applied plan %s (made at revision %d)\n", models.ShortSHA256(p.DocumentSHA256), p.BaseRevision)
	fmt.Fprint(e.stdout, sum.String())
	return exitOK
}

// printConflict says why a plan is stale: what was committed since its base revision, who
// did it and when.
func printConflict(e env, ce *models.ConflictError) {
	fmt.Fprintf(e.stderr, "warden apply: %v\n", ce)
	if len(ce.Changes) > 0 {
		fmt.Fprintf(e.stderr, "changes since revision %d:\n", ce.Since)
		if ce.Omitted > 0 {
			fmt.Fprintf(e.stderr, "  (%d earlier change(s) not listed)\n", ce.Omitted)
		}
		for _, c := range ce.Changes {
			what := fmt.Sprintf("%s %s %q", c.Action, c.EntityKind, c.EntityName)
			if c.Summary != "" {
				what += ": " + c.Summary
			}
			fmt.Fprintf(e.stderr, "  revision %d  %s  %s  %s\n", c.Revision, c.At.UTC().Format(time.RFC3339), c.Actor, what)
		}
	}
	fmt.Fprintln(e.stderr, "nothing was written")
}
