// Package live keeps the enforcement state: an immutable View of the policy (the resolver's
// snapshot plus what the gateway needs to authenticate keys and reach upstreams), rebuilt from
// the store whenever the revision changes and swapped atomically, so a decision never waits on a
// rebuild.
package live

import (
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
)

// View is one consistent, immutable picture of the policy at a revision. Never modify a View
// or anything it points to: readers share it without locks.
type View struct {
	Revision int64
	Snapshot *resolver.Snapshot
	// Doc is the document the snapshot was built from (servers' URLs, keys' expiry, ...).
	Doc *models.Document
	// KeysByHash maps models.HashSecret(secret) to the key's name.
	KeysByHash map[string]string
	// Upstreams maps a server's name to where and how the gateway reaches it.
	Upstreams map[string]Upstream
	// BuiltAt is when this view was loaded from the database.
	BuiltAt time.Time
}

// Upstream is how the gateway reaches one MCP server.
type Upstream struct {
	URL string
	// Headers are added to every relayed request (upstream credentials); never shown to clients.
	Headers map[string]string
	// Unavailable, when set, says why the server's stored headers cannot be used (no or another
	// WARDEN_SECRET_KEY, an altered row, plain text left by an older Warden). The gateway then
	// relays nothing to the server: it fails closed for this server alone (503 naming it).
	Unavailable string
}
