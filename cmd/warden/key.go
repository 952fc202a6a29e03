package main

import (
	"context"
	"flag"
	"fmt"
)

const keyUsage = `usage: warden key secret NAME [--db URL] [--actor NAME] [--no-migrate]

  secret  issue a new secret for the existing key NAME and print it once; the key's previous
          secret stops working. Only its hash is stored.
`

// runKey runs `warden key SUBCOMMAND`.
func runKey(ctx context.Context, e env, args []string) int {
	return runSubcommand(ctx, e, "key", keyUsage, args, map[string]func(context.Context, env, []string) int{
		"secret": runKeySecret,
	})
}

// runKeySecret issues a new secret for a key. The secret alone goes to standard output, so
// scripts can capture it; the notice goes to standard error.
func runKeySecret(ctx context.Context, e env, args []string) int {
	fs := newFlags(e, "key secret")
	db := dbFlag(fs, e)
	actor := fs.String("actor", "cli", "who the audit log names as issuing the secret")
	name, code, ok := parseNamed(e, fs, args, keyUsage)
	if !ok {
		return code
	}
	st, err := e.openStore(ctx, *db)
	if err != nil {
		return fail(e, "key secret", err)
	}
	defer st.Close()
	secret, err := st.IssueKeySecret(ctx, name, *actor)
	if err != nil {
		return fail(e, "key secret", err)
	}
	fmt.Fprintln(e.stdout, secret)
	fmt.Fprintf(e.stderr, "issued a new secret for key %q; it is shown only this once, and the previous secret no longer works\n", name)
	return exitOK
}

// parseNamed parses the flags of a command that takes one name, which may come before or after
// the flags (`warden key secret NAME --db URL` or `warden key secret --db URL NAME`). A missing
// or extra argument prints usage and is a usage error.
func parseNamed(e env, fs *flag.FlagSet, args []string, usage string) (name string, code int, ok bool) {
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if code, ok := parseArgs(fs, args); !ok {
		return "", code, false
	}
	rest := fs.Args()
	if name == "" && len(rest) > 0 {
		name, rest = rest[0], rest[1:]
	}
	if name == "" || len(rest) > 0 {
		fmt.Fprint(e.stderr, usage)
		return "", exitUsage, false
	}
	return name, 0, true
}

// runSubcommand runs `warden NAME SUBCOMMAND ...` for a command made of subcommands: usage (to
// stderr, exit 2) without one or with an unknown one, usage to stdout for -h.
func runSubcommand(ctx context.Context, e env, name, usage string, args []string, subs map[string]func(context.Context, env, []string) int) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	if isHelp(args[0]) {
		fmt.Fprint(e.stdout, usage)
		return exitOK
	}
	run, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "warden %s: unknown subcommand %q\n\n%s", name, args[0], usage)
		return exitUsage
	}
	return run(ctx, e, args[1:])
}
