package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/password"
	"github.com/warden-mcp/warden/models/store"
)

const userUsage = `usage: warden user SUBCOMMAND [flags]

  create        --username U --role admin|org_admin|viewer [--org NAME]... [--password-stdin]
                add a console user; an org_admin needs one --org per organization it
                administers. Without --password-stdin the user has no password (signs in by
                single sign-on only).
  set-password  U --password-stdin
                replace U's password; every session of U is signed out
  list          the users, their roles and organizations
  delete        U
                delete U, their sessions and API tokens (not the last admin)

Every subcommand takes --db URL (env WARDEN_DATABASE_URL) and --actor NAME (who the audit log
names; default cli). Passwords are read from the first line of standard input, never from
a flag (flags show in ps and shell history).
`

// runUser runs `warden user SUBCOMMAND`.
func runUser(ctx context.Context, e env, args []string) int {
	return runSubcommand(ctx, e, "user", userUsage, args, map[string]func(context.Context, env, []string) int{
		"create":       runUserCreate,
		"set-password": runUserSetPassword,
		"list":         runUserList,
		"delete":       runUserDelete,
	})
}

// orgList is a repeatable --org flag.
type orgList []string

func (o *orgList) String() string     { return strings.Join(*o, ",") }
func (o *orgList) Set(v string) error { *o = append(*o, v); return nil }

func runUserCreate(ctx context.Context, e env, args []string) int {
	fs := newFlags(e, "user create")
	db := dbFlag(fs, e)
	actor := fs.String("actor", "cli", "who the audit log names as creating the user")
	username := fs.String("username", "", "the new user's name")
	role := fs.String("role", "", "admin, org_admin or viewer")
	var orgs orgList
	fs.Var(&orgs, "org", "an organization an org_admin administers (repeat for several)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *username == "" || *role == "" {
		fmt.Fprint(e.stderr, "warden user create: --username and --role are required\n\n"+userUsage)
		return exitUsage
	}
	r, err := models.ParseRole(*role)
	if err != nil {
		return fail(e, "user create", err)
	}
	nu := store.NewUser{Username: *username, Role: r, Orgs: orgs}
	if err := nu.Check(); err != nil {
		return fail(e, "user create", err)
	}
	hash := ""
	if *fromStdin {
		if hash, err = readPasswordHash(ctx, e); err != nil {
			return fail(e, "user create", err)
		}
	}
	st, err := e.openStore(ctx, *db)
	if err != nil {
		return fail(e, "user create", err)
	}
	defer st.Close()
	if unknown, err := st.UnknownOrganizations(ctx, orgs); err != nil {
		return fail(e, "user create", err)
	} else if len(unknown) > 0 {
		return fail(e, "user create", models.Errorf(models.EInvalid, "--org: unknown organization %s", strings.Join(unknown, ", ")))
	}
	nu.PasswordHash = hash
	if _, err := st.CreateUser(ctx, nu, *actor); err != nil {
		return fail(e, "user create", err)
	}
	fmt.Fprintf(e.stderr, "created user %q (%s)\n", *username, r)
	return exitOK
}

func runUserSetPassword(ctx context.Context, e env, args []string) int {
	fs := newFlags(e, "user set-password")
	db := dbFlag(fs, e)
	actor := fs.String("actor", "cli", "who the audit log names as setting the password")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
	name, code, ok := parseNamed(e, fs, args, userUsage)
	if !ok {
		return code
	}
	if !*fromStdin {
		fmt.Fprint(e.stderr, "warden user set-password: --password-stdin is required (a password is never a flag)\n")
		return exitUsage
	}
	hash, err := readPasswordHash(ctx, e)
	if err != nil {
		return fail(e, "user set-password", err)
	}
	st, err := e.openStore(ctx, *db)
	if err != nil {
		return fail(e, "user set-password", err)
	}
	defer st.Close()
	if err := st.SetPassword(ctx, name, hash, *actor); err != nil {
		return fail(e, "user set-password", err)
	}
	fmt.Fprintf(e.stderr, "set the password of %q; their sessions are signed out\n", name)
	return exitOK
}

func runUserList(ctx context.Context, e env, args []string) int {
	fs := newFlags(e, "user list")
	db := dbFlag(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	st, err := e.openStore(ctx, *db)
	if err != nil {
		return fail(e, "user list", err)
	}
	defer st.Close()
	users, err := st.ListUsers(ctx)
	if err != nil {
		return fail(e, "user list", err)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "USERNAME\tROLE\tORGANIZATIONS\tSIGN-IN")
	for _, u := range users {
		how := "password"
		switch {
		case u.OIDCSubject != nil && u.PasswordHash != "":
			how = "sso, password"
		case u.OIDCSubject != nil:
			how = "sso"
		case u.PasswordHash == "":
			how = "none"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", u.Username, u.Role, strings.Join(u.Orgs, ","), how)
	}
	if err := w.Flush(); err != nil {
		return fail(e, "user list", err)
	}
	return exitOK
}

func runUserDelete(ctx context.Context, e env, args []string) int {
	fs := newFlags(e, "user delete")
	db := dbFlag(fs, e)
	actor := fs.String("actor", "cli", "who the audit log names as deleting the user")
	name, code, ok := parseNamed(e, fs, args, userUsage)
	if !ok {
		return code
	}
	st, err := e.openStore(ctx, *db)
	if err != nil {
		return fail(e, "user delete", err)
	}
	defer st.Close()
	if err := st.DeleteUser(ctx, name, *actor); err != nil {
		return fail(e, "user delete", err)
	}
	fmt.Fprintf(e.stderr, "deleted user %q\n", name)
	return exitOK
}

// readPasswordHash reads a password from the first line of standard input, checks it and
// hashes it.
func readPasswordHash(ctx context.Context, e env) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(e.stdin, password.MaxLength+2)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", models.Errorf(models.EInvalid, "read the password from standard input: %v", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if err := password.Check(pw); err != nil {
		return "", models.Errorf(models.EInvalid, "standard input: %v", err)
	}
	return password.Hash(ctx, pw)
}
