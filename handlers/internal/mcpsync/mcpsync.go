// Package mcpsync reads an MCP server's tool catalogue with the official MCP Go SDK
// (streamable HTTP): what the console's Sync tools previews and applies.
package mcpsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-mcp/warden/models"
)

// Limits of one sync. A misbehaving upstream (one that never answers, streams without end or
// lists tools without end) fails the sync, never the console.
const (
	// Timeout bounds the whole exchange: connect, initialize, every tools/list page.
	Timeout = 15 * time.Second
	// MaxBytes bounds everything the upstream sends back over the exchange.
	MaxBytes = 8 << 20
	// MaxTools bounds the catalogue.
	MaxTools = 2000
)

// Options tune Fetch; the zero value uses the limits above.
type Options struct {
	Timeout  time.Duration
	MaxBytes int64
}

// Error is a sync that failed; its message says what went wrong, naming the server's URL and
// never a header value.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

// Fetch connects to the MCP server at endpoint, sending headers with every request, and returns
// its tools (every page of tools/list) as catalogue entries: name, description and input schema
// as canonical JSON. It fails with *Error when the server cannot be reached, does not speak
// MCP, is too slow or sends too much.
func Fetch(ctx context.Context, endpoint string, headers map[string]string, o Options) ([]models.ToolDoc, error) {
	if o.Timeout <= 0 {
		o.Timeout = Timeout
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = MaxBytes
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &Error{fmt.Sprintf("the server's URL %q is not an http(s) URL; set it in the settings first", endpoint)}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	rt := &bounded{base: http.DefaultTransport, headers: headers, max: o.MaxBytes}
	client := mcp.NewClient(&mcp.Implementation{Name: "warden-sync", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: endpoint, HTTPClient: &http.Client{Transport: rt}, MaxRetries: -1,
		// Only answers to our requests are read: no standing stream to hold open.
		DisableStandaloneSSE: true,
	}, nil)
	if err != nil {
		return nil, failure(ctx, endpoint, rt, "cannot connect", err)
	}
	defer cs.Close()
	var out []models.ToolDoc
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return nil, failure(ctx, endpoint, rt, "tools/list failed", err)
		}
		if len(out) == MaxTools {
			return nil, &Error{fmt.Sprintf("%s lists more than %d tools; Warden does not sync a catalogue that large", endpoint, MaxTools)}
		}
		doc := models.ToolDoc{Name: t.Name, Description: t.Description}
		if t.InputSchema != nil {
			b, err := json.Marshal(t.InputSchema)
			if err != nil {
				return nil, &Error{fmt.Sprintf("%s: tool %q has an input schema that is not JSON: %v", endpoint, t.Name, err)}
			}
			if doc.InputSchema, err = models.CanonicalJSON(string(b)); err != nil {
				return nil, &Error{fmt.Sprintf("%s: tool %q: input schema: %v", endpoint, t.Name, err)}
			}
		}
		out = append(out, doc)
	}
	return out, nil
}

// failure words a failed exchange, preferring the limit that ended it over the SDK's message.
func failure(ctx context.Context, endpoint string, rt *bounded, what string, err error) error {
	switch {
	case rt.over.Load():
		return &Error{fmt.Sprintf("%s: %s: the server sent more than %d bytes", endpoint, what, rt.max)}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &Error{fmt.Sprintf("%s: %s: no answer within the time limit", endpoint, what)}
	}
	return &Error{fmt.Sprintf("%s: %s: %v", endpoint, what, err)}
}

// bounded adds the upstream headers to every request and stops reading responses once their
// bodies together pass max bytes. The SDK may read several bodies at once, hence the atomics.
type bounded struct {
	base    http.RoundTripper
	headers map[string]string
	max     int64
	read    atomic.Int64
	over    atomic.Bool
}

func (b *bounded) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range b.headers {
		r.Header.Set(k, v)
	}
	resp, err := b.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, b: b}
	return resp, nil
}

var errTooLarge = errors.New("response too large")

type limitedBody struct {
	io.ReadCloser
	b *bounded
}

func (l *limitedBody) Read(p []byte) (int, error) {
	n, err := l.ReadCloser.Read(p)
	if l.b.read.Add(int64(n)) > l.b.max {
		l.b.over.Store(true)
		return 0, errTooLarge
	}
	return n, err
}
