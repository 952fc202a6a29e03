package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/handlers/internal/strictjson"
	"github.com/warden-mcp/warden/handlers/mcpgw"
	"github.com/warden-mcp/warden/models/enforce"
	"github.com/warden-mcp/warden/models/resolver"
)

// API is the decision API: Warden's decisions for other gateways (POST /api/v1/check) and a key's
// own effective access (GET /api/v1/access). Every answer carries X-Warden-Revision.
type API struct {
	Enforcer *enforce.Enforcer
	Observer mcpgw.Observer
	// MaxBodyBytes bounds a check request body (0 means DefaultMaxCheckBody); a larger one gets
	// 413.
	MaxBodyBytes int64
	// Bodies, when set, is the budget a check request body is reserved in, under
	// mcpgw.CheckAPIBucket, before a byte of it is read: the body names its key inside, so the
	// decision API's bodies share one bucket, and stalled ones cannot use up the gateway's total.
	// A body that does not fit gets 429, unread.
	Bodies *mcpgw.BodyBudget
}

// CheckRequest is the body of POST /api/v1/check. Key is the key's secret.
type CheckRequest struct {
	Key     string `json:"key"`
	Server  string `json:"server"`
	Tool    string `json:"tool"`
	EndUser string `json:"end_user,omitempty"`
	Agent   string `json:"agent,omitempty"`
}

// CheckResponse is the answer of POST /api/v1/check. DecidedBy is empty when allowed; "key" with
// an unknown, replaced or expired secret; otherwise the resolver's deciding level.
type CheckResponse struct {
	Allowed   bool   `json:"allowed"`
	DecidedBy string `json:"decided_by"`
	Reason    string `json:"reason"`
	Revision  int64  `json:"revision"`
}

// AccessResponse is the answer of GET /api/v1/access.
type AccessResponse struct {
	Key          string          `json:"key"`
	Organization string          `json:"organization,omitempty"`
	Team         string          `json:"team,omitempty"`
	Agent        string          `json:"agent,omitempty"`
	EndUser      string          `json:"end_user,omitempty"`
	Revision     int64           `json:"revision"`
	Tools        int             `json:"tools"`
	Access       resolver.Access `json:"access"`
}

// DefaultMaxCheckBody bounds a check request when API.MaxBodyBytes is 0: a check request is a
// few names and a secret, so 64 KiB is ample.
const DefaultMaxCheckBody = 64 << 10

// checkFields are the names of a check request's members.
var checkFields = []string{"key", "server", "tool", "end_user", "agent"}

// Check decides one tool call for a key secret. Refusing the key is an answer, not an error: an
// unknown, replaced or expired secret is "not allowed, decided by key", a blocked one is the
// resolver's "blocked". A body larger than the limit gets 413, one that does not fit in the body
// budget 429 (both unread when their length is declared); a body Warden does not read (see
// decodeCheck) or without key, server and tool gets 400; no policy to enforce gets 503.
func (a *API) Check(c *gin.Context) {
	pol, rev, err := a.Enforcer.Policy()
	c.Header(mcpgw.RevisionHeader, strconv.FormatInt(rev, 10))
	if err != nil {
		apiError(c, http.StatusServiceUnavailable, "Warden has no current policy to enforce: "+enforce.PolicyError(err))
		return
	}
	limit := a.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxCheckBody
	}
	tooLarge := func() {
		apiError(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", limit))
	}
	if c.Request.ContentLength > limit {
		tooLarge() // declared too large: refused without reading it
		return
	}
	release := func() {}
	if a.Bodies != nil {
		if release, err = a.Bodies.ReserveBody(mcpgw.CheckAPIBucket, c.Request, limit); err != nil {
			c.Header("Retry-After", "1")
			apiError(c, http.StatusTooManyRequests, "the decision API is already reading as many request bodies as it may at once: retry shortly")
			return
		}
	}
	defer release()
	buf := bodyPool.Get().(*bytes.Buffer)
	defer bodyPool.Put(buf)
	buf.Reset()
	if n := c.Request.ContentLength; n > 0 {
		buf.Grow(int(n) + bytes.MinRead) // reserved, at most limit: no doubling past it
	}
	_, err = buf.ReadFrom(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	release() // what the budget bounds is reads under way
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			tooLarge()
			return
		}
		// The connection's own error names Warden's address: say what happened, not where.
		apiError(c, http.StatusBadRequest, "reading the body failed: the client stalled past the read timeout or went away")
		return
	}
	req, err := decodeCheck(buf.Bytes())
	if err != nil {
		a.malformed(pol, rev, buf.Bytes())
		c.JSON(http.StatusBadRequest, gin.H{"error": "body must be a JSON object {key, server, tool, end_user?, agent?}: " + err.Error(),
			"decided_by": mcpgw.DecidedByMalformed})
		return
	}
	if req.Key == "" || req.Server == "" || req.Tool == "" {
		apiError(c, http.StatusBadRequest, "key, server and tool are required")
		return
	}
	now := a.Enforcer.Now()
	name, err := pol.KeyFor(req.Key, now)
	if err != nil {
		// Counted, not logged: there is no key to log it under.
		mcpgw.Observer{Metrics: a.Observer.Metrics}.Decision("call", enforce.Principal{}, req.Server, req.Tool,
			resolver.Decision{DecidedBy: resolver.ByKey}, rev, now)
		writeCheck(c, CheckResponse{DecidedBy: string(resolver.ByKey), Reason: err.Error(), Revision: rev})
		return
	}
	pr := enforce.Principal{Key: name, EndUser: req.EndUser, Agent: req.Agent}
	d, reason := pol.Decide(pr, req.Server, req.Tool)
	if d.Allowed {
		reason = d.Reason(pr.Request(req.Server, req.Tool))
	}
	a.Observer.Decision("call", pr, req.Server, req.Tool, d, rev, now)
	writeCheck(c, CheckResponse{Allowed: d.Allowed, DecidedBy: string(d.DecidedBy), Reason: reason, Revision: rev})
}

// malformed records a check request refused as malformed. The decision log keeps it only under
// a key that authenticates: the secret is read leniently for that (never to decide), so a
// request from someone without a valid secret is counted but cannot fill the log, as with an
// unknown secret. Server and tool are not recorded: they were not read.
func (a *API) malformed(pol *enforce.Policy, rev int64, body []byte) {
	now := a.Enforcer.Now()
	obs := mcpgw.Observer{Metrics: a.Observer.Metrics}
	var pr enforce.Principal
	if secret, ok := strictjson.LastString(body, "key"); ok {
		if name, err := pol.KeyFor(secret, now); err == nil {
			obs, pr = a.Observer, enforce.Principal{Key: name}
		}
	}
	obs.Malformed(pr, "", rev, now)
}

// Access answers with the effective access of the key sent as bearer token (or X-Warden-Key), for
// the end user and agent named by X-Warden-End-User / X-Warden-Agent or the end_user / agent
// query parameters. Refused keys get 401, an unknown agent 403.
func (a *API) Access(c *gin.Context) {
	pol, rev, err := a.Enforcer.Policy()
	c.Header(mcpgw.RevisionHeader, strconv.FormatInt(rev, 10))
	if err != nil {
		apiError(c, http.StatusServiceUnavailable, "Warden has no current policy to enforce: "+enforce.PolicyError(err))
		return
	}
	name, err := mcpgw.Authenticate(pol, c.Request.Header, a.Enforcer.Now())
	if err != nil {
		var ae *enforce.AuthError
		if errors.As(err, &ae) {
			c.Header("WWW-Authenticate", `Bearer realm="warden"`)
			apiError(c, http.StatusUnauthorized, err.Error())
			return
		}
		apiError(c, http.StatusInternalServerError, "internal error")
		return
	}
	pr := enforce.Principal{Key: name, EndUser: firstOf(c.GetHeader(mcpgw.EndUserHeader), c.Query("end_user")),
		Agent: firstOf(c.GetHeader(mcpgw.AgentHeader), c.Query("agent"))}
	acc, err := pol.Access(pr)
	if err != nil {
		apiError(c, http.StatusForbidden, err.Error())
		return
	}
	info, _ := pol.View.Snapshot.KeyInfo(name)
	c.JSON(http.StatusOK, AccessResponse{Key: name, Organization: info.Organization, Team: info.Team, Agent: firstOf(pr.Agent, info.Agent),
		EndUser: pr.EndUser, Revision: rev, Tools: acc.Count(), Access: acc})
}

func apiError(c *gin.Context, status int, msg string) {
	c.JSON(status, gin.H{"error": msg})
}

func firstOf(a, b string) string {
	if a = strings.TrimSpace(a); a != "" {
		return a
	}
	return strings.TrimSpace(b)
}

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeCheck writes a check answer, encoding it by hand (it is on the hot path).
func writeCheck(c *gin.Context, r CheckResponse) {
	b := make([]byte, 0, 96+len(r.Reason))
	b = append(b, `{"allowed":`...)
	b = strconv.AppendBool(b, r.Allowed)
	b = append(b, `,"decided_by":`...)
	b = appendJSONString(b, r.DecidedBy)
	b = append(b, `,"reason":`...)
	b = appendJSONString(b, r.Reason)
	b = append(b, `,"revision":`...)
	b = strconv.AppendInt(b, r.Revision, 10)
	b = append(b, '}')
	c.Data(http.StatusOK, "application/json; charset=utf-8", b)
}

// appendJSONString appends s as a JSON string: printable ASCII inline (quotes and backslashes
// escaped), anything else through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// decodeCheck reads a check request strictly (package strictjson): one JSON object of string (or
// null) members named exactly key, server, tool, end_user, agent, no other member, no duplicate,
// valid UTF-8, nothing after it.
func decodeCheck(b []byte) (CheckRequest, error) {
	var r CheckRequest
	if err := strictjson.Unmarshal(b, &r, checkFields...); err != nil {
		return CheckRequest{}, err
	}
	return r, nil
}
