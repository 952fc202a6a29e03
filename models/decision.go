package models

import "time"

// Decision kinds, as stored in decisions.kind.
const (
	DecisionCall = "call" // a tools/call (or decision API) decision
	DecisionList = "list" // a tools/list answer filtered by policy
)

// Decision is one row of the decision log: an enforcement decision the gateway made, kept so
// admins can later replay real traffic against a draft policy. Rows are written in batches off
// the request path and pruned after the retention period.
type Decision struct {
	ID        int64     `gorm:"column:id;primaryKey"`
	At        time.Time `gorm:"column:at"`
	Kind      string    `gorm:"column:kind"` // DecisionCall or DecisionList
	KeyName   string    `gorm:"column:key_name"`
	EndUser   string    `gorm:"column:end_user"`
	Agent     string    `gorm:"column:agent"`
	Server    string    `gorm:"column:server"`
	Tool      string    `gorm:"column:tool"` // empty for DecisionList
	Allowed   bool      `gorm:"column:allowed"`
	DecidedBy string    `gorm:"column:decided_by"` // empty when allowed
	Revision  int64     `gorm:"column:revision"`   // the policy revision that decided
}

// TableName is the decision log's table.
func (Decision) TableName() string { return "decisions" }

// CallTuple is who called which tool, as the decision log's rollup counts calls: a key (by
// name), the end user and agent it acted for ("" when none), and the server and tool.
type CallTuple struct {
	Key     string `json:"key"`
	EndUser string `json:"end_user,omitempty"`
	Agent   string `json:"agent,omitempty"`
	Server  string `json:"server"`
	Tool    string `json:"tool"`
}

// RecordedCalls is how often one tuple called in a window (tools/call decisions of the gateway
// and checks of the decision API, allowed or not), and when it last did.
type RecordedCalls struct {
	CallTuple
	Calls    int64
	LastSeen time.Time
}
