// Package cli is Ward's command line for administrators, security officers
// and scripts. It talks to app only. Its commands, flags, exit codes and
// error sentences are a contract: testdata/*.txtar scripts pin them.
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/term"

	"ward/app"
	"ward/store"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // the command ran and found a problem, or could not do its work
	exitUsage  = 2 // the command line is wrong
	exitDenied = 3 // signed in, but not allowed
	exitSignIn = 4 // the sign-in failed
)

// env is one invocation: its streams, global flags and the clinic it opens.
type env struct {
	ctx            context.Context
	stdin          *bufio.Reader
	stdinFile      *os.File // when stdin is a terminal, for no-echo prompts
	stdout, stderr io.Writer
	dataDir        string
	user           string
	kitPath        string
	passwordStdin  bool
	keyring        store.Keyring
}

// usageError marks a mistake in the command line (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

const usageText = `Ward — clinic records that keep working offline.

Usage: ward [global flags] <command> [flags]
       ward                    (no command: the window)
       ward status             the clinic in the data folder, without signing in

Global flags:
  --data DIR         the data folder (default: $WARD_DATA, or the user data folder)
  --user U           sign in as U (password asked on the terminal)
  --kit FILE         open the database with this emergency kit (recovery code asked)
  --password-stdin   read passwords and codes from standard input, one per line

Commands:
  init --clinic NAME --admin USER [--admin-name N] [--node NAME]
  user add --username U --name N --role R[,R]     user list
  patient add --name N --dob YYYY-MM-DD [--mrn M] [--phone P] [--sex S] [--address A]
  patient search QUERY     patient show ID
  demo --patients N        a demo clinic with N synthetic patients
  check                    database integrity and audit chain verification
  recover                  with --kit: put the database key back in the OS keyring
  rekey                    rotate the database key and make a new emergency kit
  audit verify             audit export --format jsonl|csv|fhir --out FILE [--from T] [--to T] [--user U] [--patient P]
  audit verify-export FILE [--manifest M] [--trust-key FINGERPRINT]
  user disable|enable|unlock|reset-password USERNAME      user roles USERNAME --role R[,R]
  patient restrict ID --clinician U[,U]     patient unrestrict ID
  settings get [KEY]       settings set KEY VALUE
  user password            change your own password
  user pin [--remove]      set (or remove) your quick-unlock PIN
  user totp enroll [--qr FILE] | confirm | disable      your authenticator app (TOTP)
` + recordsUsage + backupUsage + syncUsage + emergencyUsage + downtimeUsage + complianceUsage

// Main runs the command line and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	e := &env{ctx: ctx, stdin: bufio.NewReader(stdin), stdout: stdout, stderr: stderr, keyring: store.OSKeyring{}}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		e.stdinFile = f
	}
	err := e.run(args)
	return e.report(err)
}

func (e *env) report(err error) int {
	if err == nil {
		return exitOK
	}
	var ue usageError
	var de *app.DeniedError
	var fe failedError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "ward: %v\nRun 'ward help' for the commands.\n", err)
		return exitUsage
	case errors.As(err, &de):
		fmt.Fprintf(e.stderr, "ward: %v\n", err)
		return exitDenied
	case app.IsSignInRefusal(err):
		fmt.Fprintf(e.stderr, "ward: %v\n", err)
		return exitSignIn
	case errors.As(err, &fe):
		return exitFailed // the command has said what it found
	}
	fmt.Fprintf(e.stderr, "ward: %v\n", err)
	return exitFailed
}

// failedError: the command ran and already printed why it fails (exit 1).
type failedError struct{}

func (failedError) Error() string { return "failed" }

func (e *env) run(args []string) error {
	fs := flag.NewFlagSet("ward", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.dataDir, "data", "", "")
	fs.StringVar(&e.user, "user", "", "")
	fs.StringVar(&e.kitPath, "kit", "", "")
	fs.BoolVar(&e.passwordStdin, "password-stdin", false, "")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	if e.dataDir == "" {
		e.dataDir = DefaultDataDir()
	}
	rest := fs.Args()
	if len(rest) == 0 {
		if OpenWindow != nil {
			return OpenWindow(e.dataDir)
		}
		return e.cmdStatus()
	}
	cmd, rest := rest[0], rest[1:]
	if handled, err := e.cmdRecords(cmd, rest); handled {
		return err
	}
	switch cmd {
	case "status":
		if _, err := e.parseFlags(flag.NewFlagSet("status", flag.ContinueOnError), rest, 0); err != nil {
			return err
		}
		return e.cmdStatus()
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usageText)
		return nil
	case "init":
		return e.cmdInit(rest)
	case "user":
		return e.cmdUser(rest)
	case "patient":
		return e.cmdPatient(rest)
	case "demo":
		return e.cmdDemo(rest)
	case "check":
		return e.cmdCheck(rest)
	case "recover":
		return e.cmdRecover(rest)
	case "rekey":
		return e.cmdRekey(rest)
	case "audit":
		return e.cmdAudit(rest)
	case "settings":
		return e.cmdSettings(rest)
	case "backup":
		return e.cmdBackup(rest)
	case "restore":
		return e.cmdRestore(rest)
	case "serve":
		return e.cmdServe(rest)
	case "sync":
		return e.cmdSync(rest)
	case "compliance":
		return e.cmdCompliance(rest)
	case "emergency":
		return e.cmdEmergency(rest)
	}
	return usagef("unknown command %q", cmd)
}

// DefaultDataDir is where Ward keeps a workstation's data unless told
// otherwise: $WARD_DATA, else the user data folder of the OS.
func DefaultDataDir() string {
	if d := os.Getenv("WARD_DATA"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	switch runtime.GOOS {
	case "darwin":
		return filepath.Join(home, "Library", "Application Support", "Ward")
	case "windows":
		if d := os.Getenv("LocalAppData"); d != "" {
			return filepath.Join(d, "Ward")
		}
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "ward")
	}
	return filepath.Join(home, ".local", "share", "ward")
}

// secret reads a password or code: a line of stdin with --password-stdin,
// else a no-echo prompt on the terminal. Never from argv.
func (e *env) secret(prompt string) (string, error) {
	if e.passwordStdin {
		line, err := e.stdin.ReadString('\n')
		if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
			return "", fmt.Errorf("expected %s on standard input (--password-stdin), one per line", strings.ToLower(prompt))
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	if e.stdinFile == nil {
		return "", usagef("no terminal to ask for the %s: type it at a terminal, or give it on standard input with --password-stdin", strings.ToLower(prompt))
	}
	fmt.Fprintf(e.stderr, "%s: ", prompt)
	b, err := term.ReadPassword(int(e.stdinFile.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// newSecret asks for a new password twice on a terminal (once on stdin).
func (e *env) newSecret(prompt string) (string, error) {
	pw, err := e.secret(prompt)
	if err != nil || e.passwordStdin {
		return pw, err
	}
	again, err := e.secret("Type it again")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the two passwords are not the same; nothing was changed")
	}
	return pw, nil
}

// openClinic opens the data folder with the keyring, or with the emergency
// kit when --kit is given.
func (e *env) openClinic() (*app.Clinic, error) {
	if e.kitPath != "" {
		if err := store.CheckFile(e.dataDir); err != nil {
			return nil, err
		}
		code, err := e.secret("Recovery code")
		if err != nil {
			return nil, err
		}
		fmt.Fprintln(e.stderr, "Opening the emergency kit (this takes a few seconds)…")
		return app.OpenWithKit(e.ctx, e.dataDir, e.kitPath, code, e.keyring)
	}
	return app.Open(e.ctx, e.dataDir, e.keyring)
}

// signIn opens the clinic and signs in --user with a password.
func (e *env) signIn() (*app.Clinic, *app.Session, error) {
	if e.user == "" {
		return nil, nil, usagef("this command needs a person: add --user USERNAME")
	}
	c, err := e.openClinic()
	if err != nil {
		return nil, nil, err
	}
	pw, err := e.secret("Password for " + e.user)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	s, err := e.signInPerson(c, pw)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, s, nil
}

// parseFlags parses a subcommand's flags, rejecting stray arguments unless
// positional says how many are expected. The global --data, --kit and
// --password-stdin may also follow the subcommand; --user may not, as
// `audit export --user U` is a filter.
func (e *env) parseFlags(fs *flag.FlagSet, args []string, positional int) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.dataDir, "data", e.dataDir, "")
	fs.StringVar(&e.kitPath, "kit", e.kitPath, "")
	fs.BoolVar(&e.passwordStdin, "password-stdin", e.passwordStdin, "")
	// Allow flags after positional arguments: `patient search ada --limit 5`.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if positional == -2 { // any number: the command checks them
		return pos, nil
	}
	if positional == -1 { // optional single argument
		if len(pos) > 1 {
			return nil, usagef("%s: at most one argument", fs.Name())
		}
		return pos, nil
	}
	if len(pos) != positional {
		if positional == 0 {
			return nil, usagef("%s: unexpected argument %q", fs.Name(), pos[0])
		}
		return nil, usagef("%s: expected %d argument(s), got %d", fs.Name(), positional, len(pos))
	}
	return pos, nil
}

// OpenWindow opens Ward's window on a data folder: `ward` with no command.
// main sets it (the GUI package); without it, `ward` alone is `ward status`.
var OpenWindow func(dataDir string) error

// cmdStatus is `ward status`: what a person at this workstation can check
// without signing in — no patient data — and the commands.
func (e *env) cmdStatus() error {
	if !store.Exists(e.dataDir) {
		fmt.Fprintf(e.stdout, "There is no clinic in %s yet: create one with `ward init`, or a demo with `ward demo`.\n\n", e.dataDir)
		fmt.Fprint(e.stdout, usageText)
		return nil
	}
	c, err := e.openClinic()
	if err != nil {
		return err
	}
	defer c.Close()
	n, err := c.PatientCount(e.ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Ward — clinic %q in %s\nWorkstation %s (%s); %d patients; the database opens with the key in the OS keyring.\n",
		c.Name(), c.Dir(), c.Node().ID, c.Node().Name, n)
	if demo, _ := c.IsDemo(e.ctx); demo {
		fmt.Fprintf(e.stdout, "This is the demo clinic: sign in as admin, frontdesk, clinician or security with password %q,\n"+
			"e.g. ward --data %s --user frontdesk patient search ada\n", app.DemoPassword, e.dataDir)
	}
	fmt.Fprint(e.stdout, "\nRun `ward` with no command for the window.\n\n", usageText)
	return nil
}
