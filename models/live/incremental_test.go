package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/resolver/gen"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// tinyConfig is a generated policy small enough to rebuild at every step of a random walk.
func tinyConfig(seed uint64) gen.Config {
	c := gen.Small()
	c.Seed = seed
	c.Servers, c.ToolsPerServer, c.AccessGroups, c.ServersPerGroup, c.Toolsets, c.ToolsPerToolset = 6, 5, 3, 2, 3, 3
	c.Organizations, c.Teams, c.Keys, c.Agents, c.EndUsers, c.BigOrgKeys = 4, 12, 80, 4, 6, 20
	return c
}

// After random sequences of changes (organizations, teams, keys, agents and end users created,
// updated and deleted; key secrets issued; now and then a server change or a revision without
// audit events, which need a full reload), the incrementally refreshed view equals a full build
// of the same revision: the same document, access, key secrets and upstreams.
//
// WARDEN_INCREMENTAL_SEED=n replays one walk; WARDEN_INCREMENTAL_STEPS sets its length.
func TestIncrementalRefreshEqualsFullBuild(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("WARDEN_INCREMENTAL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	steps := 60
	if s := os.Getenv("WARDEN_INCREMENTAL_STEPS"); s != "" {
		steps, _ = strconv.Atoi(s)
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Logf("seed %d (WARDEN_INCREMENTAL_SEED=%d replays this walk)", seed, seed)
		ctx := context.Background()
		r := rand.New(rand.NewPCG(seed, 42))
		storetest.MustApply(t, st, gen.Generate(tinyConfig(seed)))
		s := live.New(st, live.Options{})
		if err := s.Load(ctx); err != nil {
			t.Fatal(err)
		}
		w := &walker{t: t, st: st, r: r}
		var wantFull, wantSwaps int64 = 1, 1 // the first Load
		for step := 0; step < steps; step++ {
			before, err := st.Revision(ctx)
			if err != nil {
				t.Fatal(err)
			}
			what, full := w.step()
			after, err := st.Revision(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if after != before {
				wantSwaps++
			}
			if full {
				wantFull++
			}
			if err := s.Refresh(ctx); err != nil {
				t.Fatalf("step %d (%s): refresh: %v", step, what, err)
			}
			got, err := s.View()
			if err != nil {
				t.Fatal(err)
			}
			ref := live.New(st, live.Options{})
			if err := ref.Load(ctx); err != nil {
				t.Fatal(err)
			}
			want, _ := ref.View()
			if msg := diffViews(got, want); msg != "" {
				t.Fatalf("step %d (%s): the refreshed view differs from a full build: %s", step, what, msg)
			}
		}
		inc, full := s.Builds()
		t.Logf("%d steps: %d incremental refreshes, %d full builds", steps, inc, full)
		if full != wantFull {
			t.Errorf("%d full builds, want %d (the first load and one per server change or unaudited revision)", full, wantFull)
		}
		if inc+full != wantSwaps {
			t.Errorf("%d refreshes swapped a view in, want %d (one per step that moved the revision, and the first load)", inc+full, wantSwaps)
		}
	})
}

// walker makes random valid changes through the store.
type walker struct {
	t  *testing.T
	st *store.Store
	r  *rand.Rand
	n  int // for new names
}

// step makes one random batch of changes and says what it did and whether a full reload is due.
func (w *walker) step() (string, bool) {
	switch p := w.r.IntN(100); {
	case p < 35: // one change in one revision
		return w.apply(1), false
	case p < 60: // several changes in one revision
		return w.apply(2 + w.r.IntN(5)), false
	case p < 75: // several revisions, secrets among them
		var what []string
		for range 2 + w.r.IntN(3) {
			if w.r.IntN(3) == 0 {
				what = append(what, w.issueSecret())
			} else {
				what = append(what, w.apply(1+w.r.IntN(3)))
			}
		}
		return fmt.Sprint(what), false
	case p < 88: // secrets only
		what := w.issueSecret()
		if w.r.IntN(2) == 0 {
			what += ", " + w.issueSecret()
		}
		return what, false
	case p < 93: // a key deleted, then created again with the same name and a new secret
		return w.recreateKey(), false
	case p < 97: // a server change: a full reload
		return w.serverChange() + ", " + w.apply(1), true
	default: // a revision without audit events (written behind the store's back): a full reload
		storetest.Exec(w.t, w.st, `UPDATE policy_state SET revision = revision + 1 WHERE id = 1`)
		return "revision bumped without audit events", true
	}
}

func (w *walker) load() *models.Document {
	w.t.Helper()
	doc, _, err := w.st.LoadDocument(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return doc
}

func (w *walker) save(doc *models.Document) {
	w.t.Helper()
	fixRefs(doc)
	if _, err := w.st.ApplyDocument(context.Background(), doc, "walker"); err != nil {
		w.t.Fatalf("apply: %v", err)
	}
}

// apply makes n random principal changes and saves them in one revision.
func (w *walker) apply(n int) string {
	doc := w.load()
	var what []string
	for range n {
		what = append(what, w.mutate(doc))
	}
	w.save(doc)
	return fmt.Sprint(what)
}

func (w *walker) issueSecret() string {
	w.t.Helper()
	doc := w.load()
	if len(doc.Keys) == 0 {
		return "no key for a secret"
	}
	k := doc.Keys[w.r.IntN(len(doc.Keys))].Name
	if _, err := w.st.IssueKeySecret(context.Background(), k, "walker"); err != nil {
		w.t.Fatal(err)
	}
	return "secret of key " + k
}

func (w *walker) recreateKey() string {
	w.t.Helper()
	doc := w.load()
	if len(doc.Keys) == 0 {
		return "no key to recreate"
	}
	k := doc.Keys[w.r.IntN(len(doc.Keys))]
	if _, err := w.st.IssueKeySecret(context.Background(), k.Name, "walker"); err != nil {
		w.t.Fatal(err)
	}
	doc.Keys = slices.DeleteFunc(doc.Keys, func(x models.KeyDoc) bool { return x.Name == k.Name })
	w.save(doc)
	doc = w.load()
	nk := w.key(doc)
	nk.Name = k.Name
	doc.Keys = append(doc.Keys, nk)
	w.save(doc)
	if w.r.IntN(2) == 0 {
		if _, err := w.st.IssueKeySecret(context.Background(), k.Name, "walker"); err != nil {
			w.t.Fatal(err)
		}
	}
	return "recreated key " + k.Name
}

func (w *walker) serverChange() string {
	ctx := context.Background()
	doc := w.load()
	s := &doc.Servers[w.r.IntN(len(doc.Servers))]
	if w.r.IntN(2) == 0 {
		if err := w.st.SetServerAuthHeaders(ctx, s.Name, map[string]string{"X-Step": strconv.Itoa(w.r.IntN(1000))}, "walker"); err != nil {
			w.t.Fatal(err)
		}
		return "headers of server " + s.Name
	}
	s.Public = !s.Public
	w.save(doc)
	return "server " + s.Name + " public flipped"
}

func (w *walker) name(prefix string) string {
	w.n++
	return fmt.Sprintf("%s-new-%d", prefix, w.n)
}

// mutate makes one random change to a principal of doc.
func (w *walker) mutate(doc *models.Document) string {
	r := w.r
	op := r.IntN(3) // 0 update, 1 create, 2 delete
	if r.IntN(2) == 0 {
		op = 0
	}
	switch kind := r.IntN(10); {
	case kind < 2:
		switch {
		case op == 1 || len(doc.Organizations) == 0:
			o := models.OrganizationDoc{Name: w.name("org"), Blocked: r.IntN(10) == 0, MCP: w.mcp(doc), DenyTools: w.deny(doc)}
			doc.Organizations = append(doc.Organizations, o)
			return "create org " + o.Name
		case op == 2:
			i := r.IntN(len(doc.Organizations))
			name := doc.Organizations[i].Name
			doc.Organizations = slices.Delete(doc.Organizations, i, i+1)
			return "delete org " + name
		default:
			o := &doc.Organizations[r.IntN(len(doc.Organizations))]
			o.Blocked, o.MCP, o.DenyTools = r.IntN(10) == 0, w.mcp(doc), w.deny(doc)
			return "update org " + o.Name
		}
	case kind < 4:
		switch {
		case op == 1 || len(doc.Teams) == 0:
			tm := models.TeamDoc{Name: w.name("team"), Organization: w.pickOrg(doc), Blocked: r.IntN(10) == 0, MCP: w.mcp(doc), DenyTools: w.deny(doc)}
			doc.Teams = append(doc.Teams, tm)
			return "create team " + tm.Name
		case op == 2:
			i := r.IntN(len(doc.Teams))
			name := doc.Teams[i].Name
			doc.Teams = slices.Delete(doc.Teams, i, i+1)
			return "delete team " + name
		default:
			tm := &doc.Teams[r.IntN(len(doc.Teams))]
			if r.IntN(3) == 0 {
				tm.Organization = w.pickOrg(doc) // a move
			}
			tm.Blocked, tm.MCP, tm.DenyTools = r.IntN(10) == 0, w.mcp(doc), w.deny(doc)
			return "update team " + tm.Name
		}
	case kind < 8:
		switch {
		case op == 1 || len(doc.Keys) == 0:
			k := w.key(doc)
			doc.Keys = append(doc.Keys, k)
			return "create key " + k.Name
		case op == 2:
			i := r.IntN(len(doc.Keys))
			name := doc.Keys[i].Name
			doc.Keys = slices.Delete(doc.Keys, i, i+1)
			return "delete key " + name
		default:
			i := r.IntN(len(doc.Keys))
			k := w.key(doc)
			k.Name = doc.Keys[i].Name
			if r.IntN(2) == 0 { // keep its place, change its permission only
				k.Team, k.Organization, k.Agent = doc.Keys[i].Team, doc.Keys[i].Organization, doc.Keys[i].Agent
			}
			doc.Keys[i] = k
			return "update key " + k.Name
		}
	case kind < 9:
		switch {
		case op == 1 || len(doc.Agents) == 0:
			a := models.AgentDoc{Name: w.name("agent"), MCP: w.mcp(doc), DenyTools: w.deny(doc)}
			doc.Agents = append(doc.Agents, a)
			return "create agent " + a.Name
		case op == 2:
			i := r.IntN(len(doc.Agents))
			name := doc.Agents[i].Name
			doc.Agents = slices.Delete(doc.Agents, i, i+1)
			return "delete agent " + name
		default:
			a := &doc.Agents[r.IntN(len(doc.Agents))]
			a.MCP, a.DenyTools = w.mcp(doc), w.deny(doc)
			return "update agent " + a.Name
		}
	default:
		switch {
		case op == 1 || len(doc.EndUsers) == 0:
			u := models.EndUserDoc{Name: w.name("user"), MCP: w.mcp(doc), DenyTools: w.deny(doc)}
			doc.EndUsers = append(doc.EndUsers, u)
			return "create end user " + u.Name
		case op == 2:
			i := r.IntN(len(doc.EndUsers))
			name := doc.EndUsers[i].Name
			doc.EndUsers = slices.Delete(doc.EndUsers, i, i+1)
			return "delete end user " + name
		default:
			u := &doc.EndUsers[r.IntN(len(doc.EndUsers))]
			u.MCP, u.DenyTools = w.mcp(doc), w.deny(doc)
			return "update end user " + u.Name
		}
	}
}

func (w *walker) pickOrg(doc *models.Document) string {
	if len(doc.Organizations) == 0 || w.r.IntN(6) == 0 {
		return ""
	}
	return doc.Organizations[w.r.IntN(len(doc.Organizations))].Name
}

// key is a random new key; fixRefs makes its placement consistent.
func (w *walker) key(doc *models.Document) models.KeyDoc {
	r := w.r
	k := models.KeyDoc{Name: w.name("key"), Blocked: r.IntN(15) == 0, MCP: w.mcp(doc), DenyTools: w.deny(doc)}
	if len(doc.Teams) > 0 && r.IntN(4) > 0 {
		k.Team = doc.Teams[r.IntN(len(doc.Teams))].Name
	}
	if r.IntN(2) == 0 {
		k.Organization = w.pickOrg(doc)
	}
	if len(doc.Agents) > 0 && r.IntN(4) == 0 {
		k.Agent = doc.Agents[r.IntN(len(doc.Agents))].Name
	}
	if r.IntN(5) == 0 {
		k.ExpiresAt = time.Date(2027, 1, 1+r.IntN(300), r.IntN(24), 0, 0, 0, time.FixedZone("x", 3600*(r.IntN(5)-2))).Format(time.RFC3339)
	}
	return k
}

// mcp is a random mcp block: none, empty, or some servers, groups, toolsets and tool lists.
func (w *walker) mcp(doc *models.Document) *models.MCPPermission {
	r := w.r
	switch r.IntN(10) {
	case 0, 1, 2, 3:
		return nil
	case 4:
		return &models.MCPPermission{}
	}
	p := &models.MCPPermission{}
	for _, s := range doc.Servers {
		switch r.IntN(6) {
		case 0:
			p.Servers = append(p.Servers, s.Name)
		case 1:
			if p.Tools == nil {
				p.Tools = map[string][]string{}
			}
			var tools []string
			for _, t := range s.Tools {
				if r.IntN(2) == 0 {
					tools = append(tools, t.Name)
				}
			}
			p.Tools[s.Name] = tools // possibly empty: the server listed with no tools
		}
	}
	for _, g := range doc.AccessGroups {
		if r.IntN(4) == 0 {
			p.AccessGroups = append(p.AccessGroups, g.Name)
		}
	}
	for _, ts := range doc.Toolsets {
		if r.IntN(4) == 0 {
			p.Toolsets = append(p.Toolsets, ts.Name)
		}
	}
	return p
}

func (w *walker) deny(doc *models.Document) []string {
	var out []string
	for range w.r.IntN(3) {
		s := doc.Servers[w.r.IntN(len(doc.Servers))]
		if len(s.Tools) > 0 {
			out = append(out, s.Name+"/"+s.Tools[w.r.IntN(len(s.Tools))].Name)
		}
	}
	return out
}

// fixRefs drops references to principals that no longer exist and makes every key's
// organization agree with its team's, so the document validates.
func fixRefs(doc *models.Document) {
	orgs, teams, agents := map[string]bool{}, map[string]string{}, map[string]bool{}
	for _, o := range doc.Organizations {
		orgs[o.Name] = true
	}
	for i := range doc.Teams {
		if !orgs[doc.Teams[i].Organization] {
			doc.Teams[i].Organization = ""
		}
		teams[doc.Teams[i].Name] = doc.Teams[i].Organization
	}
	for _, a := range doc.Agents {
		agents[a.Name] = true
	}
	for i := range doc.Keys {
		k := &doc.Keys[i]
		org, ok := teams[k.Team]
		if !ok {
			k.Team = ""
		}
		if !orgs[k.Organization] || (k.Team != "" && org != k.Organization) {
			k.Organization = ""
		}
		if !agents[k.Agent] {
			k.Agent = ""
		}
	}
}

// diffViews describes how got differs from want ("" when it does not).
func diffViews(got, want *live.View) string {
	if got.Revision != want.Revision {
		return fmt.Sprintf("revision %d, want %d", got.Revision, want.Revision)
	}
	gd, wd := got.Doc.Clone(), want.Doc.Clone()
	gd.Normalize()
	wd.Normalize()
	if !reflect.DeepEqual(gd, wd) {
		return "documents differ: " + docDiff(gd, wd)
	}
	if !reflect.DeepEqual(got.Doc, want.Doc) {
		return "the document is not normalized as a full load's is"
	}
	if msg := diffAll(got.Snapshot.AllAccess(), want.Snapshot.AllAccess()); msg != "" {
		return "AllAccess: " + msg
	}
	if msg := diffRequests(got, want); msg != "" {
		return msg
	}
	if !reflect.DeepEqual(got.KeysByHash, want.KeysByHash) {
		return fmt.Sprintf("KeysByHash %v, want %v", got.KeysByHash, want.KeysByHash)
	}
	if !reflect.DeepEqual(got.Upstreams, want.Upstreams) {
		return fmt.Sprintf("Upstreams %v, want %v", got.Upstreams, want.Upstreams)
	}
	return ""
}

func docDiff(a, b *models.Document) string {
	fields := []string{"Servers", "AccessGroups", "Toolsets", "Organizations", "Teams", "Keys", "EndUsers", "Agents"}
	av, bv := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for _, f := range fields {
		x, y := av.FieldByName(f), bv.FieldByName(f)
		if reflect.DeepEqual(x.Interface(), y.Interface()) {
			continue
		}
		if x.Len() != y.Len() {
			return fmt.Sprintf("%s: %d entries, want %d", f, x.Len(), y.Len())
		}
		for i := 0; i < x.Len(); i++ {
			if !reflect.DeepEqual(x.Index(i).Interface(), y.Index(i).Interface()) {
				gj, _ := json.Marshal(x.Index(i).Interface())
				wj, _ := json.Marshal(y.Index(i).Interface())
				return fmt.Sprintf("%s[%d]: %s, want %s", f, i, gj, wj)
			}
		}
	}
	return "?"
}

func diffAll(got, want resolver.AllAccess) string {
	for _, c := range []struct {
		kind      string
		got, want map[string]resolver.Access
	}{{"organization", got.Organizations, want.Organizations}, {"team", got.Teams, want.Teams}, {"key", got.Keys, want.Keys}} {
		if len(c.got) != len(c.want) {
			return fmt.Sprintf("%d %ss, want %d", len(c.got), c.kind, len(c.want))
		}
		for name, w := range c.want {
			g, ok := c.got[name]
			if !ok || !g.Equal(w) {
				return fmt.Sprintf("%s %s: %v, want %v", c.kind, name, g, w)
			}
		}
	}
	return ""
}

// diffRequests compares what every key may use for every end user and agent (the chains
// AllAccess does not cover).
func diffRequests(got, want *live.View) string {
	users := []string{""}
	for _, u := range want.Doc.EndUsers {
		users = append(users, u.Name)
	}
	agents := []string{""}
	for _, a := range want.Doc.Agents {
		agents = append(agents, a.Name)
	}
	for _, k := range want.Doc.Keys {
		for _, u := range users {
			for _, a := range agents {
				req := resolver.Request{Key: k.Name, EndUser: u, Agent: a}
				ga, gerr := got.Snapshot.KeyAccessFor(req)
				wa, werr := want.Snapshot.KeyAccessFor(req)
				if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) || !ga.Equal(wa) {
					return fmt.Sprintf("KeyAccessFor(%+v) = %v, %v; want %v, %v", req, ga, gerr, wa, werr)
				}
			}
		}
	}
	return ""
}
