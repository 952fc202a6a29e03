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
