// Package demo holds a believable example policy document, used to seed a fresh console, in
// documentation and in tests.
package demo

import (
	_ "embed"

	"github.com/warden-mcp/warden/models"
)

// YAML is the demo policy document: organizations acme and globex, six teams, 25 API keys, five
// MCP servers (github, slack, filesystem, postgres and the public docs server), access groups,
// toolsets, end users and agents.
//
//go:embed demo.yaml
var YAML []byte

// Document loads and validates the demo; it returns a fresh copy on every call, so callers may
// change it.
func Document() (*models.Document, error) {
	return models.LoadDocument(YAML)
}
