package models

import "time"

// The GORM entities below mirror the tables created by the migrations in models/store/migrations.
// Only models/store reads and writes them; everything else works with Document values or the
// resolver's snapshot. Tags name columns explicitly so the schema is readable from here too.

// Server is a registered MCP server.
type Server struct {
	ID           int64      `gorm:"column:id;primaryKey"`
	Name         string     `gorm:"column:name"`
	URL          string     `gorm:"column:url"`
	Public       bool       `gorm:"column:public"`
	LastSyncedAt *time.Time `gorm:"column:last_synced_at"`
	// AuthHeaders are the headers the gateway adds upstream, a JSON object sealed with
	// models/seal (see Store.SetServerAuthHeaders; plain JSON if an older Warden wrote it);
	// never in documents.
	AuthHeaders string    `gorm:"column:auth_headers"`
	CreatedAt   time.Time `gorm:"column:created_at"`
	UpdatedAt   time.Time `gorm:"column:updated_at"`
}

// ServerTool is one tool of a server's catalogue. Disabled tools stay in the catalogue (so
// references to them remain valid) but nobody may call them.
type ServerTool struct {
	ID          int64  `gorm:"column:id;primaryKey"`
	ServerID    int64  `gorm:"column:server_id"`
	Name        string `gorm:"column:name"`
	Description string `gorm:"column:description"`
	InputSchema string `gorm:"column:input_schema"`
	Disabled    bool   `gorm:"column:disabled"`
}

// AccessGroup is a named set of servers.
type AccessGroup struct {
	ID        int64     `gorm:"column:id;primaryKey"`
	Name      string    `gorm:"column:name"`
	CreatedAt time.Time `gorm:"column:created_at"`
	UpdatedAt time.Time `gorm:"column:updated_at"`
}

// AccessGroupServer links an access group to one of its servers.
type AccessGroupServer struct {
	AccessGroupID int64 `gorm:"column:access_group_id;primaryKey"`
	ServerID      int64 `gorm:"column:server_id;primaryKey"`
}

// Toolset is a named set of server/tool pairs.
type Toolset struct {
	ID        int64     `gorm:"column:id;primaryKey"`
	Name      string    `gorm:"column:name"`
	CreatedAt time.Time `gorm:"column:created_at"`
	UpdatedAt time.Time `gorm:"column:updated_at"`
}

// ToolsetTool is one server/tool pair of a toolset.
type ToolsetTool struct {
	ToolsetID int64  `gorm:"column:toolset_id;primaryKey"`
	ServerID  int64  `gorm:"column:server_id;primaryKey"`
	Tool      string `gorm:"column:tool;primaryKey"`
}

// Principal kinds, as stored in mcp_entries.principal_kind and used in audit events.
const (
	KindOrganization = "organization"
	KindTeam         = "team"
	KindKey          = "key"
	KindEndUser      = "end_user"
	KindAgent        = "agent"
	KindServer       = "server"
	KindAccessGroup  = "access_group"
	KindToolset      = "toolset"
)

// Level holds what every permission level has in common. MCPRestricted is the schema's
// "present" flag: false means the level has no mcp block at all (it does not restrict); true
// with no entries means "no MCP access". The two are never inferred from each other.
type Level struct {
	ID            int64     `gorm:"column:id;primaryKey"`
	Name          string    `gorm:"column:name"`
	MCPRestricted bool      `gorm:"column:mcp_restricted"`
	CreatedAt     time.Time `gorm:"column:created_at"`
	UpdatedAt     time.Time `gorm:"column:updated_at"`
}

// Organization is the top of the chain.
type Organization struct {
	Level
	Blocked bool `gorm:"column:blocked"`
}

// Team belongs to at most one organization.
type Team struct {
	Level
	OrganizationID *int64 `gorm:"column:organization_id"`
	Blocked        bool   `gorm:"column:blocked"`
}

// Key is an API key. The secret is stored only as a SHA-256 hash plus a short display prefix.
type Key struct {
	Level
	TeamID         *int64     `gorm:"column:team_id"`
	OrganizationID *int64     `gorm:"column:organization_id"`
	AgentID        *int64     `gorm:"column:agent_id"`
	Blocked        bool       `gorm:"column:blocked"`
	ExpiresAt      *time.Time `gorm:"column:expires_at"`
	SecretHash     *string    `gorm:"column:secret_hash"`
	SecretPrefix   string     `gorm:"column:secret_prefix"`
	SecretIssuedAt *time.Time `gorm:"column:secret_issued_at"`
}

// TableName keeps clear of KEY, a keyword in SQL dialects.
func (Key) TableName() string { return "api_keys" }

// EndUser is an end user named by requests.
type EndUser struct{ Level }

// Agent is an agent, bound to keys or named by requests.
type Agent struct{ Level }

// MCPEntry is one item of a level's MCP permission or deny list. Entry is one of "server",
// "access_group", "toolset", "tool" (a per-server tool list item) or "deny".
type MCPEntry struct {
	ID            int64  `gorm:"column:id;primaryKey"`
	PrincipalKind string `gorm:"column:principal_kind"`
	PrincipalID   int64  `gorm:"column:principal_id"`
	Entry         string `gorm:"column:entry"`
	ServerID      *int64 `gorm:"column:server_id"`
	AccessGroupID *int64 `gorm:"column:access_group_id"`
	ToolsetID     *int64 `gorm:"column:toolset_id"`
	Tool          string `gorm:"column:tool"`
}

// TableName is the plural table name.
func (MCPEntry) TableName() string { return "mcp_entries" }

// AuditEvent records one committed change, written in the same transaction as the change.
type AuditEvent struct {
	ID         int64     `gorm:"column:id;primaryKey"`
	At         time.Time `gorm:"column:at"`
	Actor      string    `gorm:"column:actor"`
	Action     string    `gorm:"column:action"` // create, update, delete
	EntityKind string    `gorm:"column:entity_kind"`
	EntityName string    `gorm:"column:entity_name"`
	Before     string    `gorm:"column:before"` // JSON of the entity's document form, "" on create
	After      string    `gorm:"column:after"`  // JSON of the entity's document form, "" on delete
	Revision   int64     `gorm:"column:revision"`
	Summary    string    `gorm:"column:summary"`
}

// PolicyState is the single row holding the global policy revision.
type PolicyState struct {
	ID       int64 `gorm:"column:id;primaryKey"`
	Revision int64 `gorm:"column:revision"`
}

// TableName is the singular table name.
func (PolicyState) TableName() string { return "policy_state" }

// Base returns the level's shared columns; the store syncs every kind of level through it.
func (l *Level) Base() *Level { return l }

// GetID returns the row id.
func (g *AccessGroup) GetID() int64 { return g.ID }

// GetID returns the row id.
func (t *Toolset) GetID() int64 { return t.ID }
