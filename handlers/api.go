package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/handlers/mcpgw"
	"github.com/warden-mcp/warden/models/resolver"
)

// API is the decision API: Warden's decisions for other gateways (POST /api/v1/check) and a key's
// own effective access (GET /api/v1/access). Every answer carries X-Warden-Revision.
type API struct {
	Enforcer *mcpgw.Enforcer
	Observer mcpgw.Observer
	// MaxBodyBytes bounds a check request's body; 0 means 64 KiB.
	MaxBodyBytes int64
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

// maxCheckBody bounds a check request.
const maxCheckBody = 64 << 10

// Check decides one tool call for a key secret. Refusing the key is an answer, not an error: an
// unknown, replaced or expired secret is "not allowed, decided by key", a blocked one is the
// resolver's "blocked". Malformed requests get 400; no policy to enforce gets 503.
func (a *API) Check(c *gin.Context) {
	pol, rev, err := a.Enforcer.Policy()
	c.Header(mcpgw.RevisionHeader, strconv.FormatInt(rev, 10))
	if err != nil {
		apiError(c, http.StatusServiceUnavailable, "Warden has no current policy to enforce: "+err.Error())
		return
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	defer bodyPool.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(c.Request.Body, maxCheckBody)); err != nil {
		apiError(c, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	req, err := decodeCheck(buf.Bytes())
	if err != nil {
		apiError(c, http.StatusBadRequest, "body must be a JSON object {key, server, tool, end_user?, agent?}: "+err.Error())
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
		mcpgw.Observer{Metrics: a.Observer.Metrics}.Decision("call", mcpgw.Principal{}, req.Server, req.Tool,
			resolver.Decision{DecidedBy: resolver.ByKey}, rev, now)
		writeCheck(c, CheckResponse{DecidedBy: string(resolver.ByKey), Reason: err.Error(), Revision: rev})
		return
	}
	pr := mcpgw.Principal{Key: name, EndUser: req.EndUser, Agent: req.Agent}
	d, reason := pol.Decide(pr, req.Server, req.Tool)
	if d.Allowed {
		reason = d.Reason(pr.Request(req.Server, req.Tool))
	}
	a.Observer.Decision("call", pr, req.Server, req.Tool, d, rev, now)
	writeCheck(c, CheckResponse{Allowed: d.Allowed, DecidedBy: string(d.DecidedBy), Reason: reason, Revision: rev})
}

// Access answers with the effective access of the key sent as bearer token (or X-Warden-Key), for
// the end user and agent named by X-Warden-End-User / X-Warden-Agent or the end_user / agent
// query parameters. Refused keys get 401, an unknown agent 403.
func (a *API) Access(c *gin.Context) {
	pol, rev, err := a.Enforcer.Policy()
	c.Header(mcpgw.RevisionHeader, strconv.FormatInt(rev, 10))
	if err != nil {
		apiError(c, http.StatusServiceUnavailable, "Warden has no current policy to enforce: "+err.Error())
		return
	}
	name, err := pol.Authenticate(mcpgw.SecretFrom(c.Request.Header), a.Enforcer.Now())
	if err != nil {
		var ae *mcpgw.AuthError
		if errors.As(err, &ae) {
			c.Header("WWW-Authenticate", `Bearer realm="warden"`)
			apiError(c, http.StatusUnauthorized, err.Error())
			return
		}
		apiError(c, http.StatusInternalServerError, "internal error")
		return
	}
	pr := mcpgw.Principal{Key: name, EndUser: firstOf(c.GetHeader(mcpgw.EndUserHeader), c.Query("end_user")),
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

// decodeCheck reads a check request: a flat JSON object of string fields, no others. The common
// case (plain strings without escapes) is read in place; anything else (escapes, null, numbers,
// nesting, odd spacing) goes through encoding/json with DisallowUnknownFields, so the two always
// agree (see FuzzDecodeCheck).
func decodeCheck(b []byte) (CheckRequest, error) {
	if r, ok := fastCheck(b); ok {
		return r, nil
	}
	var r CheckRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return CheckRequest{}, err
	}
	if skipSpace(b, int(dec.InputOffset())) != len(b) {
		return CheckRequest{}, errors.New("data after the JSON object")
	}
	return r, nil
}

// fastCheck parses {"k":"v",...} with plain ASCII strings; ok is false for anything else.
func fastCheck(b []byte) (r CheckRequest, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return r, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return r, skipSpace(b, i+1) == len(b)
	}
	for {
		key, j, ok := plainString(b, i)
		if !ok {
			return r, false
		}
		j = skipSpace(b, j)
		if j >= len(b) || b[j] != ':' {
			return r, false
		}
		val, k, ok := plainString(b, skipSpace(b, j+1))
		if !ok {
			return r, false
		}
		switch string(key) {
		case "key":
			r.Key = string(val)
		case "server":
			r.Server = string(val)
		case "tool":
			r.Tool = string(val)
		case "end_user":
			r.EndUser = string(val)
		case "agent":
			r.Agent = string(val)
		default:
			return r, false // unknown (or differently cased) field: let encoding/json say so
		}
		k = skipSpace(b, k)
		if k >= len(b) {
			return r, false
		}
		switch b[k] {
		case ',':
			i = skipSpace(b, k+1)
		case '}':
			return r, skipSpace(b, k+1) == len(b)
		default:
			return r, false
		}
	}
}

// plainString reads a JSON string at b[i] made of printable ASCII without escapes.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		c := b[j]
		switch {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x7f:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
