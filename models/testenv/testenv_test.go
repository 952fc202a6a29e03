package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Fatalf and Skipf instead of stopping the test.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recorder) Skipf(format string, args ...any)  { r.skip = fmt.Sprintf(format, args...) }

// Any non-empty CI turns a missing prerequisite into a failure; only an unset or empty one skips.
func TestRequire(t *testing.T) {
	for _, tc := range []struct {
		ci       string
		wantFail bool
	}{
		{"", false},
		{"true", true},
		{"1", true},
		{"yes", true},
		{"false", true}, // set is set: CI services do not spell "off" this way
	} {
		t.Run(fmt.Sprintf("CI=%q", tc.ci), func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			if got := CI(); got != tc.wantFail {
				t.Errorf("CI() = %v, want %v", got, tc.wantFail)
			}
			r := &recorder{TB: t}
			Require(r, "node is not installed (%s)", "hint")
			if tc.wantFail {
				if r.skip != "" || !strings.Contains(r.fatal, "node is not installed (hint)") {
					t.Errorf("want a failure naming what is missing; fatal %q, skip %q", r.fatal, r.skip)
				}
				return
			}
			if r.fatal != "" || r.skip != "SKIPPING: node is not installed (hint)" {
				t.Errorf("want a visible skip; fatal %q, skip %q", r.fatal, r.skip)
			}
		})
	}
}
