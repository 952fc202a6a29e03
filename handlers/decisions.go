package handlers

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// Decisions serves the decision log, read from the store.
type Decisions struct {
	Store *store.Store
	State PolicyState
}

// decisionsPerPage is the decision log's page size.
const decisionsPerPage = 50

// decidedByChoices are what can decide, as the log records it ("allowed" selects the allowed
// rows, which name no decider).
var decidedByChoices = []views.Option{
	{Value: "allowed", Label: "nothing (allowed)"},
	{Value: "blocked", Label: "blocked"},
	{Value: "server", Label: "server"},
	{Value: "organization", Label: "organization"},
	{Value: "team", Label: "team"},
	{Value: "key", Label: "key"},
	{Value: "agent", Label: "agent"},
	{Value: "end_user", Label: "end user"},
	{Value: "default", Label: "default"},
	{Value: "malformed", Label: "malformed request"},
}

// decisionParams are the filter's query parameters, in the order the pager keeps them.
var decisionParams = []string{"key", "server", "tool", "outcome", "decided_by", "kind", "since", "until"}

// decisionTimes are the layouts since and until are read in: what a datetime-local input
// sends (UTC, as the page says), with seconds, RFC 3339, or a date.
var decisionTimes = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339Nano, time.DateOnly}

// List shows a page of the decision log, newest first, filtered by ?key= ?server= ?tool=
// (exact names), ?outcome=allowed|denied, ?decided_by=, ?kind=call|list and ?since= ?until=
// (UTC); ?before=ID and ?after=ID page (keyset: stable while new rows arrive). An htmx
// request gets the table body and the status line; JSON gets the rows and the next cursor.
func (h *Decisions) List(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	if err := strictQuery(c, append(slices.Clone(decisionParams), "before", "after")...); err != nil {
		fail(c, err)
		return
	}
	q, err := decisionQuery(c)
	if err != nil {
		fail(c, err)
		return
	}
	if answerFormat(c) == mimeCSV {
		h.csv(c, q)
		return
	}
	rows, err := h.Store.QueryDecisions(c.Request.Context(), q)
	if err != nil {
		fail(c, err)
		return
	}
	// One row more than a page says whether there is another page in the direction read.
	more := len(rows) > decisionsPerPage
	if more {
		if q.AfterID > 0 {
			rows = rows[1:] // newest first: the extra row is the newest, beyond this page
		} else {
			rows = rows[:decisionsPerPage]
		}
	}
	older, newer := more, q.BeforeID > 0
	if q.AfterID > 0 {
		older, newer = true, more
	}
	if len(rows) == 0 {
		older = false
	}
	if answerFormat(c) == gin.MIMEJSON {
		out := gin.H{"decisions": decisionsJSON(rows), "next_before": nil}
		if older {
			out["next_before"] = rows[len(rows)-1].ID
		}
		c.JSON(http.StatusOK, out)
		return
	}

	p := views.DecisionsProps{
		Layout:    reviewLayout(c, "Decisions", "decisions", v.Revision),
		DecidedBy: decidedByChoices,
	}
	filter := url.Values{}
	for _, n := range decisionParams {
		p.Filter = append(p.Filter, views.Param{Name: n, Value: c.Query(n)})
		if s := c.Query(n); s != "" {
			filter.Set(n, s)
		}
	}
	pageURL := func(cursor string, id int64) string {
		f := url.Values{}
		for k, vs := range filter {
			f[k] = vs
		}
		if cursor != "" {
			f.Set(cursor, strconv.FormatInt(id, 10))
		}
		if len(f) == 0 {
			return "/decisions"
		}
		return "/decisions?" + f.Encode()
	}
	if len(rows) > 0 {
		if older {
			p.OlderURL = pageURL("before", rows[len(rows)-1].ID)
		}
		if newer {
			p.NewerURL = pageURL("after", rows[0].ID)
		}
	}
	if newer || q.BeforeID > 0 || q.AfterID > 0 {
		p.NewestURL = pageURL("", 0)
	}
	p.Filtered = len(filter) > 0
	for _, d := range rows {
		p.Rows = append(p.Rows, views.DecisionRow{ID: d.ID, At: d.At, Kind: d.Kind, Key: d.KeyName, EndUser: d.EndUser,
			Agent: d.Agent, Server: d.Server, Tool: d.Tool, Allowed: d.Allowed, DecidedBy: d.DecidedBy, Revision: d.Revision})
	}
	renderPage(c, http.StatusOK, views.DecisionsPage(p), views.DecisionsFragment(p))
}

// decisionQuery reads the filter, refusing what the form never sends, each problem naming
// its parameter.
func decisionQuery(c *gin.Context) (store.DecisionQuery, error) {
	q := store.DecisionQuery{DecisionFilter: store.DecisionFilter{
		Key: c.Query("key"), Server: c.Query("server"), Tool: c.Query("tool"), Limit: decisionsPerPage + 1,
	}}
	switch o := c.Query("outcome"); o {
	case "":
	case "allowed", "denied":
		allowed := o == "allowed"
		q.Allowed = &allowed
	default:
		return q, models.Errorf(models.EInvalid, "outcome: %q is neither allowed nor denied", o)
	}
	if by := c.Query("decided_by"); by != "" {
		if !slices.ContainsFunc(decidedByChoices, func(o views.Option) bool { return o.Value == by }) {
			return q, models.Errorf(models.EInvalid, "decided_by: %q is not something that decides", by)
		}
		q.DecidedBy = by
	}
	switch k := c.Query("kind"); k {
	case "", models.DecisionCall, models.DecisionList:
		q.Kind = k
	default:
		return q, models.Errorf(models.EInvalid, "kind: %q is neither call nor list", k)
	}
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		s := c.Query(t.name)
		if s == "" {
			continue
		}
		ok := false
		for _, layout := range decisionTimes {
			if at, err := time.Parse(layout, s); err == nil {
				*t.to, ok = at.UTC(), true
				break
			}
		}
		if !ok {
			return q, models.Errorf(models.EInvalid, "%s: %q is not a time (YYYY-MM-DDTHH:MM in UTC, or RFC 3339)", t.name, s)
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		return q, models.Errorf(models.EInvalid, "until: %s is not after since %s", c.Query("until"), c.Query("since"))
	}
	for _, cur := range []struct {
		name string
		to   *int64
	}{{"before", &q.BeforeID}, {"after", &q.AfterID}} {
		s := c.Query(cur.name)
		if s == "" {
			continue
		}
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 1 {
			return q, models.Errorf(models.EInvalid, "%s: %q is not a positive row id", cur.name, s)
		}
		*cur.to = id
	}
	if q.BeforeID > 0 && q.AfterID > 0 {
		return q, models.Errorf(models.EInvalid, "after: cannot page both before and after a row")
	}
	return q, nil
}

// decisionJSON is one decision log row as JSON gives it.
type decisionJSON struct {
	ID        int64  `json:"id"`
	At        string `json:"at"`
	Kind      string `json:"kind"`
	Key       string `json:"key"`
	EndUser   string `json:"end_user,omitempty"`
	Agent     string `json:"agent,omitempty"`
	Server    string `json:"server"`
	Tool      string `json:"tool,omitempty"`
	Allowed   bool   `json:"allowed"`
	DecidedBy string `json:"decided_by,omitempty"`
	Revision  int64  `json:"revision"`
}

func decisionsJSON(rows []models.Decision) []decisionJSON {
	out := make([]decisionJSON, len(rows))
	for i, d := range rows {
		out[i] = decisionJSON{ID: d.ID, At: d.At.UTC().Format(time.RFC3339Nano), Kind: d.Kind, Key: d.KeyName,
			EndUser: d.EndUser, Agent: d.Agent, Server: d.Server, Tool: d.Tool, Allowed: d.Allowed,
			DecidedBy: d.DecidedBy, Revision: d.Revision}
	}
	return out
}

// maxCSVDecisions bounds a decision log download: a busy gateway records millions of rows a
// week, and a review wants a filter, not all of them.
const maxCSVDecisions = 100000

// csv answers the filtered decision log as CSV (`Accept: text/csv` or /decisions.csv), newest
// first (below ?before= when given; ?after= pages the screen only), at most maxCSVDecisions
// rows; X-Warden-Truncated says when there were more.
func (h *Decisions) csv(c *gin.Context, q store.DecisionQuery) {
	q.Limit, q.AfterID = 1000, 0
	var rows [][]string
	truncated := false
	for {
		page, err := h.Store.QueryDecisions(c.Request.Context(), q)
		if err != nil {
			fail(c, err)
			return
		}
		for _, d := range page {
			if len(rows) == maxCSVDecisions {
				truncated = true
				break
			}
			outcome := "allowed"
			if !d.Allowed {
				outcome = "denied"
			}
			rows = append(rows, []string{strconv.FormatInt(d.ID, 10), d.At.UTC().Format(time.RFC3339Nano), d.Kind, d.KeyName,
				d.EndUser, d.Agent, d.Server, d.Tool, outcome, d.DecidedBy, strconv.FormatInt(d.Revision, 10)})
		}
		if truncated || len(page) < q.Limit {
			break
		}
		q.BeforeID = page[len(page)-1].ID
	}
	if truncated {
		c.Header("X-Warden-Truncated", strconv.Itoa(maxCSVDecisions))
	}
	writeCSV(c, "decisions.csv", []string{"id", "at", "kind", "key", "end_user", "agent", "server", "tool", "outcome", "decided_by", "revision"}, rows)
}
