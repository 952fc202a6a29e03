package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/warden-mcp/warden/handlers"
	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
)

// remote is a running Warden reached through its policy API with a personal API token
// (--server URL --token TOKEN, or WARDEN_SERVER and WARDEN_TOKEN), in place of its database: CI
// then needs no database credentials, and the server applies the token's role as the console
// does.
type remote struct {
	server, token string
}

// remoteFlags adds --server and --token to a command. `policy check`, whose --server names the
// MCP server of the decision, takes the Warden's URL as --warden instead (serverFlag).
func remoteFlags(fs *flag.FlagSet, e env) *remote { return remoteFlagsNamed(fs, e, "server") }

func remoteFlagsNamed(fs *flag.FlagSet, e env, serverFlag string) *remote {
	r := &remote{}
	fs.StringVar(&r.server, serverFlag, e.getenv("WARDEN_SERVER"), "a running Warden's URL, to use through its API instead of --db (env WARDEN_SERVER)")
	fs.StringVar(&r.token, "token", e.getenv("WARDEN_TOKEN"), "a personal API token for --server, made on the console's account page (env WARDEN_TOKEN)")
	return r
}

// set reports whether --server was given.
func (r *remote) set() bool { return r != nil && r.server != "" }

// endpoint checks the flags and returns the policy API's URL. A token is a password: it goes
// only over https, or plain http to this machine.
func (r *remote) endpoint() (string, error) {
	if r.token == "" {
		return "", models.Errorf(models.EInvalid, "--server needs --token (or WARDEN_TOKEN): a personal API token from the console's account page")
	}
	u, err := url.Parse(r.server)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", models.Errorf(models.EInvalid, "--server %q: want the console's URL, https://host[:port]", r.server)
	}
	if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		return "", models.Errorf(models.EInvalid, "--server %q: a token is sent only over https (or plain http to this machine)", r.server)
	}
	return strings.TrimSuffix(u.String(), "/") + "/api/v1/policy", nil
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// remoteClient waits long enough for a 100,000-key import, and follows no redirect (a redirect
// would be the sign-in page: the token is not accepted).
var remoteClient = &http.Client{Timeout: 5 * time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (r *remote) do(ctx context.Context, method string, body []byte, query ...string) ([]byte, http.Header, error) {
	return r.doPath(ctx, method, "", body, query...)
}

// doPath is do on the policy API's sub-path suffix ("/replay").
func (r *remote) doPath(ctx context.Context, method, suffix string, body []byte, query ...string) ([]byte, http.Header, error) {
	u, err := r.endpoint()
	if err != nil {
		return nil, nil, err
	}
	u += suffix
	if len(query) > 0 {
		q := url.Values{}
		for i := 0; i+1 < len(query); i += 2 {
			q.Set(query[i], query[i+1])
		}
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/yaml")
	}
	resp, err := remoteClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("reach %s: %w", r.server, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s's answer: %w", r.server, err)
	}
	if resp.StatusCode == http.StatusOK {
		return data, resp.Header, nil
	}
	return nil, nil, remoteError(r.server, resp.StatusCode, data)
}

// remoteError turns the API's error answer into the error the local command would have given:
// an invalid document's problems, path by path (exit 2), a refused token or role (exit 1).
func remoteError(server string, status int, data []byte) error {
	var ans struct {
		Error    string                `json:"error"`
		Problems models.Problems       `json:"problems"`
		Conflict *models.ConflictError `json:"conflict"`
	}
	if err := json.Unmarshal(data, &ans); err != nil || ans.Error == "" {
		ans.Error = strings.TrimSpace(string(data))
		if len(ans.Error) > 200 {
			ans.Error = ans.Error[:200] + "…"
		}
	}
	switch {
	case len(ans.Problems) > 0:
		return ans.Problems
	case ans.Conflict != nil:
		return ans.Conflict
	case status == http.StatusUnauthorized:
		return models.Errorf(models.EForbidden, "%s refused the token: %s", server, ans.Error)
	case status == http.StatusForbidden:
		return models.Errorf(models.EForbidden, "%s: %s", server, ans.Error)
	case status == http.StatusConflict:
		return models.Errorf(models.EConflict, "%s: %s", server, ans.Error)
	case status == http.StatusUnprocessableEntity, status == http.StatusBadRequest, status == http.StatusRequestEntityTooLarge:
		return models.Errorf(models.EInvalid, "%s: %s", server, ans.Error)
	}
	return fmt.Errorf("%s answered %d: %s", server, status, ans.Error)
}

// document fetches the server's current document and its revision.
func (r *remote) document(ctx context.Context) (*models.Document, int64, error) {
	data, hdr, err := r.do(ctx, http.MethodGet, nil)
	if err != nil {
		return nil, 0, err
	}
	rev, err := strconv.ParseInt(hdr.Get(handlers.RevisionHeader), 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("%s sent no %s header: is it a Warden?", r.server, handlers.RevisionHeader)
	}
	doc, err := models.LoadDocument(data)
	if err != nil {
		return nil, 0, fmt.Errorf("%s sent a document that does not read: %w", r.server, err)
	}
	return doc, rev, nil
}

// exported is the server's current document as its export prints it.
func (r *remote) exported(ctx context.Context) ([]byte, error) {
	data, _, err := r.do(ctx, http.MethodGet, nil)
	return data, err
}

// importDocument applies a document on the server, as `warden import` does locally; with a
// base, as `warden apply` does (a *models.ConflictError when the policy moved).
func (r *remote) importDocument(ctx context.Context, data []byte, base ...store.Base) (*store.ImportSummary, error) {
	var query []string
	if len(base) > 0 {
		query = []string{"base_revision", strconv.FormatInt(base[0].Revision, 10), "base_sha256", base[0].SHA256}
	}
	out, _, err := r.do(ctx, http.MethodPost, data, query...)
	if err != nil {
		return nil, err
	}
	var sum store.ImportSummary
	if err := json.Unmarshal(out, &sum); err != nil {
		return nil, fmt.Errorf("%s answered an import with something that is not a summary: %w", r.server, err)
	}
	return &sum, nil
}

// notBoth refuses --db together with --server: which database would be meant is unclear.
func notBoth(fs *flag.FlagSet, r *remote) error {
	if !r.set() {
		return nil
	}
	var db bool
	fs.Visit(func(f *flag.Flag) { db = db || f.Name == "db" })
	if db {
		return models.Errorf(models.EInvalid, "give --db or --server, not both")
	}
	return nil
}

// replay asks the server to replay its recorded calls against a document, as `warden policy
// replay --db` does locally.
func (r *remote) replay(ctx context.Context, data []byte, since time.Duration) (resolver.ReplayResult, error) {
	var res resolver.ReplayResult
	out, _, err := r.doPath(ctx, http.MethodPost, "/replay", data, "since", since.String())
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return res, fmt.Errorf("%s answered a replay with something that is not one: %w", r.server, err)
	}
	return res, nil
}
