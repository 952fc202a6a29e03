// Package testenv decides, for every test package, what a test does when something it needs
// (a browser, the MCP peers, a Postgres server) is missing: under CI it fails, so a missing
// install step cannot pass as a quiet skip; elsewhere it skips with a visible message, so a
// developer without the prerequisite can still run the rest.
//
// It imports nothing from Warden, so any package, test helpers of models included, may use it.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// CI reports whether the tests run under continuous integration: the CI variable is set to
// anything non-empty. CI services spell it differently ("true", "1", "yes"), and a set variable
// means a missing prerequisite is a broken install, whatever its value.
func CI() bool { return os.Getenv("CI") != "" }

// Require fails t under CI and skips it elsewhere, with a message saying what is missing
// (format and args, as for fmt.Sprintf). Call it once a prerequisite is known to be missing.
func Require(t testing.TB, format string, args ...any) {
	t.Helper()
	what := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("required under CI (CI=%q): %s", os.Getenv("CI"), what)
		return
	}
	t.Skipf("SKIPPING: %s", what)
}
