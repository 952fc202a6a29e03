// Command warden runs the Warden console and enforcement point, and its command-line tools.
//
// main only wires the process to run, so the whole binary can be started from a test with its
// own arguments, environment and output streams.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/warden-mcp/warden/models"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes shared by every subcommand.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and the answer is "no" (policy check) or it failed
	exitUsage   = 2 // bad input: flags, a document with problems, unknown names
)

// env is what a subcommand may read of its process.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

const usage = `usage: warden [command] [flags]

commands:
  serve      run the console, gateway and API (the default)
  migrate    apply pending database migrations
  import     apply a policy document (-f FILE) to the database
  export     print the database's state as a policy document
  policy     validate, access, check, diff: the resolver on a file or the database
  key        secret NAME: issue a new secret for a key

Run 'warden COMMAND -h' for a command's flags.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	e := env{getenv: getenv, stdout: stdout, stderr: stderr}
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, e, args)
	case "migrate":
		return runMigrate(ctx, e, args)
	case "import":
		return runImport(ctx, e, args)
	case "export":
		return runExport(ctx, e, args)
	case "policy":
		return runPolicy(ctx, e, args)
	case "key":
		return runKey(ctx, e, args)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "warden: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}

// newFlags returns a flag set that reports errors to stderr and does not exit.
func newFlags(e env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("warden "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// dbFlag registers --db with its environment default.
func dbFlag(fs *flag.FlagSet, e env) *string {
	def := e.getenv("WARDEN_DATABASE_URL")
	if def == "" {
		def = "warden.db"
	}
	return fs.String("db", def, "database: a postgres:// URL, or a SQLite file path (env WARDEN_DATABASE_URL)")
}

// parseFlags parses and turns -h and flag errors into exit codes.
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage, false
	}
	return 0, true
}

// fail prints err and returns the exit code its domain code calls for.
func fail(e env, cmd string, err error) int {
	var ps models.Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			fmt.Fprintln(e.stderr, p.String())
		}
		fmt.Fprintf(e.stderr, "warden %s: %d problem(s); nothing was written\n", cmd, len(ps))
		return exitUsage
	}
	fmt.Fprintf(e.stderr, "warden %s: %v\n", cmd, err)
	if models.ErrorCode(err) == models.EInvalid || models.ErrorCode(err) == models.ENotFound {
		return exitUsage
	}
	return exitFailure
}
