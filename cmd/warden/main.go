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
	"strconv"
	"strings"
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
	stdin          io.Reader
	stdout, stderr io.Writer
	// noMigrate is set by --no-migrate (see dbFlag). A pointer, so the flag a command registers
	// on its copy of env is seen by every copy, down to the one that opens the store.
	noMigrate *bool
}

// command is one subcommand as `warden help` lists it.
type command struct {
	name    string // as typed, e.g. "policy check"
	args    string // what follows the name in its usage line
	summary string
}

// commands are every subcommand, in the order help lists them.
var commands = []command{
	{"serve", "[flags]", "run the console, gateway and API (the default command); migrates the schema first"},
	{"migrate", "[--db URL]", "apply pending database migrations and print the schema version"},
	{"import", "-f FILE [flags]", "apply a policy document to the database; migrates the schema first"},
	{"export", "[--db URL]", "print the database's state as a policy document; only reads, never migrates"},
	{"plan", "-f FILE [--db URL] [-o PLAN] [--format json|text|markdown]", "show what importing a document would change (who gains and loses which tools); -o saves it for apply"},
	{"apply", "PLAN [--db URL] [flags]", "apply a saved plan's document if the policy is still at the plan's revision; exit 3, writing nothing, if it moved"},
	{"policy validate", "-f FILE | --db URL", "exit 0, or 2 with every problem on stderr"},
	{"policy access", "-f FILE | --db URL", "effective access of every organization, team and key (JSON)"},
	{"policy check", "-f FILE | --db URL --key K --server S --tool T [--end-user U] [--agent A] [--format F] [--explain]", "one decision (JSON, or text/markdown); exit 0 allowed, 1 denied, 2 bad input"},
	{"policy diff", "--before FILE | --db URL --after FILE [--format json|text|markdown]", "who gains and loses which tools (JSON, or a summary in text or markdown)"},
	{"key secret", "NAME [flags]", "issue a new secret for an existing key and print it once"},
	{"server set-headers", "NAME [flags] < headers", "set a server's upstream headers from \"Name: value\" lines on stdin (stored encrypted; needs WARDEN_SECRET_KEY)"},
	{"user create", "--username U --role R [--org O]... --password-stdin", "add a console user (admin, org_admin of organizations, or viewer)"},
	{"user set-password", "U --password-stdin", "replace a user's password; signs them out everywhere"},
	{"user list", "[--db URL]", "the console users and their roles"},
	{"user delete", "U", "delete a console user, their sessions and tokens"},
	{"help", "[COMMAND]", "list the commands, or show one command's flags"},
}

// usage is the text of `warden help`: one line a command.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: warden [COMMAND] [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-18s %s\n", c.name, c.summary)
	}
	b.WriteString("\nCommands that only read (export, policy ... --db) never change the schema: they refuse an\n" +
		"empty or outdated one. Run 'warden COMMAND -h' for a command's flags.\n")
	return b.String()
}

// newEnv returns the env of one run of the binary.
func newEnv(getenv func(string) string, stdout, stderr io.Writer) env {
	return env{getenv: getenv, stdin: os.Stdin, stdout: stdout, stderr: stderr, noMigrate: new(bool)}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	return runEnv(ctx, newEnv(getenv, stdout, stderr), args)
}

// runEnv runs the command args name in e (tests give it their own standard input).
func runEnv(ctx context.Context, e env, args []string) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && (args[0][0] != '-' || isHelp(args[0])) {
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
	case "plan":
		return runPlan(ctx, e, args)
	case "apply":
		return runApply(ctx, e, args)
	case "policy":
		return runPolicy(ctx, e, args)
	case "key":
		return runKey(ctx, e, args)
	case "server":
		return runServer(ctx, e, args)
	case "user":
		return runUser(ctx, e, args)
	case "help", "-h", "-help", "--help":
		if cmd == "help" && len(args) > 0 {
			// `warden help import` is `warden import -h`.
			return runEnv(ctx, e, append(args, "-h"))
		}
		fmt.Fprint(e.stdout, usage())
		return exitOK
	default:
		fmt.Fprintf(e.stderr, "warden: unknown command %q\n\n%s", cmd, usage())
		return exitUsage
	}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// flagOutput is where a flag set writes: standard error, except for the help asked for with -h,
// which parseArgs sends to standard output.
type flagOutput struct{ stdout, stderr io.Writer }

func (o flagOutput) Write(p []byte) (int, error) { return o.stderr.Write(p) }

// newFlags returns a flag set that reports errors to stderr and does not exit. Its usage comes
// from commands (see parseArgs).
func newFlags(e env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("warden "+name, flag.ContinueOnError)
	fs.SetOutput(flagOutput{stdout: e.stdout, stderr: e.stderr})
	fs.Usage = func() {} // parseArgs prints it, to the stream the case calls for
	return fs
}

// printUsage writes a command's usage line, summary and flags.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	name := strings.TrimPrefix(fs.Name(), "warden ")
	for _, c := range commands {
		if c.name == name {
			fmt.Fprintf(w, "usage: warden %s %s\n\n%s\n", name, c.args, c.summary)
			break
		}
	}
	fmt.Fprintln(w, "\nflags:")
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
}

// dbOnlyFlag registers --db with its environment default.
func dbOnlyFlag(fs *flag.FlagSet, e env) *string {
	def := e.getenv("WARDEN_DATABASE_URL")
	if def == "" {
		def = "warden.db"
	}
	return fs.String("db", def, "database: a postgres:// URL, or a SQLite file path (env WARDEN_DATABASE_URL)")
}

// dbFlag registers --db and --no-migrate, for the commands that write (serve, import, key
// secret): they migrate the schema first (see env.openStore) unless told not to.
func dbFlag(fs *flag.FlagSet, e env) *string {
	if e.noMigrate == nil {
		// A --no-migrate that parsed but went nowhere would migrate a database it was told not to.
		panic("warden: dbFlag needs an env made by newEnv")
	}
	db := dbOnlyFlag(fs, e)
	fs.BoolVar(e.noMigrate, "no-migrate", envFlag(e.getenv("WARDEN_NO_MIGRATE")),
		"do not migrate: refuse a database whose schema is older than this binary's, for deployments that run 'warden migrate' as a step of their own (env WARDEN_NO_MIGRATE=1)")
	return db
}

// envFlag reads an on/off environment variable: anything but empty, 0 or false is on, so a
// value like "yes" errs towards the setting it was meant to turn on.
func envFlag(v string) bool {
	if v == "" {
		return false
	}
	on, err := strconv.ParseBool(v)
	return on || err != nil
}

// parseFlags parses, turns -h and flag errors into exit codes and refuses arguments left over.
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if code, ok := parseArgs(fs, args); !ok {
		return code, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage, false
	}
	return 0, true
}

// parseArgs parses args: -h prints the command's usage to standard output (exit 0); a flag
// error, which the flag package has printed, gets a pointer to the usage on standard error
// (exit 2).
func parseArgs(fs *flag.FlagSet, args []string) (int, bool) {
	err := fs.Parse(args)
	if err == nil {
		return 0, true
	}
	if errors.Is(err, flag.ErrHelp) {
		out := fs.Output()
		if o, ok := out.(flagOutput); ok {
			out = o.stdout
		}
		printUsage(out, fs)
		return exitOK, false
	}
	fmt.Fprintf(fs.Output(), "run '%s -h' for its flags\n", fs.Name())
	return exitUsage, false
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
