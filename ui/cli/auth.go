package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"ward/app"
)

// A person's own account: PIN, second factor, password.
//
//	ward --user U user pin [--remove]
//	ward --user U user totp enroll [--qr FILE]
//	ward --user U user totp confirm
//	ward --user U user totp disable
//	ward --user U user password
//
// With --password-stdin, standard input holds, one per line: the password,
// the authenticator code if the account has a second factor, then what the
// command asks for (the new PIN, the first code, the new password).

// cmdUserAuth runs the user subcommands above; handled is false for any
// other subcommand. cmdUser calls it before reporting an unknown one.
func (e *env) cmdUserAuth(sub string, args []string) (handled bool, err error) {
	switch sub {
	case "pin":
		return true, e.cmdUserPIN(args)
	case "totp":
		return true, e.cmdUserTOTP(args)
	case "password":
		return true, e.cmdUserPassword(args)
	}
	return false, nil
}

// signInPerson signs e.user in with pw on c, asking for the authenticator
// code when the account needs one: the next line of standard input with
// --password-stdin, else a prompt. (cli.go's signIn calls it too.)
func (e *env) signInPerson(c *app.Clinic, pw string) (*app.Session, error) {
	s, err := c.SignIn(e.ctx, e.user, pw)
	if !errors.Is(err, app.ErrSecondFactorNeeded) {
		return s, err
	}
	code, err := e.secret("Code from your authenticator app")
	if err != nil {
		return nil, err
	}
	return c.SignInWithTOTP(e.ctx, e.user, pw, code)
}

// signInKeepPassword is signIn that also returns the password typed, for
// commands that must show it to app again (a change to one's own account
// asks for the password once more; the command line has just asked).
func (e *env) signInKeepPassword() (*app.Clinic, *app.Session, string, error) {
	if e.user == "" {
		return nil, nil, "", usagef("this command needs a person: add --user USERNAME")
	}
	c, err := e.openClinic()
	if err != nil {
		return nil, nil, "", err
	}
	pw, err := e.secret("Password for " + e.user)
	if err != nil {
		c.Close()
		return nil, nil, "", err
	}
	s, err := e.signInPerson(c, pw)
	if err != nil {
		c.Close()
		return nil, nil, "", err
	}
	return c, s, pw, nil
}

// newSecretTwice asks for something new twice on a terminal (once from
// standard input), naming it in the mismatch sentence.
func (e *env) newSecretTwice(prompt, what string) (string, error) {
	v, err := e.secret(prompt)
	if err != nil || e.passwordStdin {
		return v, err
	}
	again, err := e.secret("Type it again")
	if err != nil {
		return "", err
	}
	if again != v {
		return "", fmt.Errorf("the two %ss are not the same; nothing was changed", what)
	}
	return v, nil
}

func (e *env) cmdUserPIN(args []string) error {
	fs := flag.NewFlagSet("user pin", flag.ContinueOnError)
	remove := fs.Bool("remove", false, "")
	if _, err := e.parseFlags(fs, args, 0); err != nil {
		return err
	}
	c, s, pw, err := e.signInKeepPassword()
	if err != nil {
		return err
	}
	defer c.Close()
	if *remove {
		if err := s.RemovePIN(e.ctx); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "Your PIN is removed: only your password unlocks your sessions now.")
		return nil
	}
	pin, err := e.newSecretTwice(fmt.Sprintf("New PIN (%d to %d digits)", app.MinPINLen, app.MaxPINLen), "PIN")
	if err != nil {
		return err
	}
	if err := s.SetPIN(e.ctx, pw, pin); err != nil {
		return err
	}
	window, err := s.PINWindow(e.ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Your PIN is set. It unlocks your own locked session on a workstation for %d hours after you type your password there; after %d wrong PINs your password is needed.\n",
		int(window.Hours()), app.MaxPINFailures)
	return nil
}

func (e *env) cmdUserTOTP(args []string) error {
	if len(args) == 0 {
		return usagef("user totp needs a subcommand: enroll, confirm or disable")
	}
	switch args[0] {
	case "enroll":
		fs := flag.NewFlagSet("user totp enroll", flag.ContinueOnError)
		qrPath := fs.String("qr", "", "")
		if _, err := e.parseFlags(fs, args[1:], 0); err != nil {
			return err
		}
		return e.totpEnroll(*qrPath)
	case "confirm":
		if _, err := e.parseFlags(flag.NewFlagSet("user totp confirm", flag.ContinueOnError), args[1:], 0); err != nil {
			return err
		}
		return e.totpConfirm()
	case "disable":
		if _, err := e.parseFlags(flag.NewFlagSet("user totp disable", flag.ContinueOnError), args[1:], 0); err != nil {
			return err
		}
		c, s, pw, err := e.signInKeepPassword()
		if err != nil {
			return err
		}
		defer c.Close()
		if err := s.DisableTOTP(e.ctx, pw); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "Your second factor is turned off: you sign in with your password alone "+
			"(if your role requires a second factor, you will set up a new one at your next sign-in).")
		return nil
	}
	return usagef("unknown user totp subcommand %q (enroll, confirm, disable)", args[0])
}

// totpEnroll starts a set-up, shows it, and finishes it if a code follows.
// A person whose role requires a second factor cannot sign in without one:
// for them the set-up is part of signing in.
func (e *env) totpEnroll(qrPath string) error {
	if e.user == "" {
		return usagef("this command needs a person: add --user USERNAME")
	}
	c, err := e.openClinic()
	if err != nil {
		return err
	}
	defer c.Close()
	pw, err := e.secret("Password for " + e.user)
	if err != nil {
		return err
	}
	var enr app.TOTPEnrollment
	var s *app.Session
	s, err = e.signInPerson(c, pw)
	switch {
	case errors.Is(err, app.ErrTOTPEnrolmentNeeded):
		if enr, err = c.BeginTOTPAtSignIn(e.ctx, e.user, pw); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if enr, err = s.BeginTOTP(e.ctx); err != nil {
			return err
		}
	}
	if qrPath != "" {
		// 0600: the image is the key itself.
		if err := os.WriteFile(qrPath, enr.QRPNG, 0o600); err != nil {
			return fmt.Errorf("cannot write the QR code image: %w", err)
		}
	}
	fmt.Fprintln(e.stdout, "Add Ward to your authenticator app (Aegis, FreeOTP, Google Authenticator, 1Password, …):")
	if qrPath != "" {
		fmt.Fprintf(e.stdout, "  scan the QR code in %s (then delete the file: it holds your key), or\n", qrPath)
	}
	fmt.Fprintf(e.stdout, "  open this link on the phone: %s\n  or type the key by hand: %s\n", enr.URI, groupKey(enr.Secret))
	if e.noMoreInput() {
		fmt.Fprintf(e.stdout, "When the app shows a 6-digit code, finish with: ward --user %s user totp confirm\n", e.user)
		return nil
	}
	code, err := e.secret("Code the app shows now")
	if err != nil {
		return err
	}
	if s == nil {
		return e.finishAtSignIn(c, pw, code)
	}
	if err := s.ConfirmTOTP(e.ctx, code); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "Your second factor is on: from now on Ward asks for the app's code after your password.")
	return nil
}

// totpConfirm finishes a set-up started by `user totp enroll`.
func (e *env) totpConfirm() error {
	if e.user == "" {
		return usagef("this command needs a person: add --user USERNAME")
	}
	c, err := e.openClinic()
	if err != nil {
		return err
	}
	defer c.Close()
	pw, err := e.secret("Password for " + e.user)
	if err != nil {
		return err
	}
	s, err := c.SignIn(e.ctx, e.user, pw)
	switch {
	case errors.Is(err, app.ErrTOTPEnrolmentNeeded):
		code, err := e.secret("Code the app shows now")
		if err != nil {
			return err
		}
		return e.finishAtSignIn(c, pw, code)
	case errors.Is(err, app.ErrSecondFactorNeeded):
		return app.ErrTOTPAlreadyOn
	case err != nil:
		return err
	}
	code, err := e.secret("Code the app shows now")
	if err != nil {
		return err
	}
	if err := s.ConfirmTOTP(e.ctx, code); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "Your second factor is on: from now on Ward asks for the app's code after your password.")
	return nil
}

// finishAtSignIn confirms a set-up begun at sign-in: signing in with its
// first code turns it on.
func (e *env) finishAtSignIn(c *app.Clinic, pw, code string) error {
	if _, err := c.SignInWithTOTP(e.ctx, e.user, pw, code); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "Your second factor is on: from now on Ward asks for the app's code after your password.")
	return nil
}

func (e *env) cmdUserPassword(args []string) error {
	if _, err := e.parseFlags(flag.NewFlagSet("user password", flag.ContinueOnError), args, 0); err != nil {
		return err
	}
	c, s, pw, err := e.signInKeepPassword()
	if err != nil {
		return err
	}
	defer c.Close()
	next, err := e.newSecretTwice("New password", "password")
	if err != nil {
		return err
	}
	if err := s.ChangePassword(e.ctx, pw, next); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "Your password is changed: use the new one from now on.")
	return nil
}

// noMoreInput tells whether --password-stdin input has run out (a script
// that will confirm the set-up later, once it can compute a code).
func (e *env) noMoreInput() bool {
	if !e.passwordStdin {
		return false
	}
	_, err := e.stdin.Peek(1)
	return errors.Is(err, io.EOF)
}

// groupKey shows a base32 key in groups of four, as apps ask for it.
func groupKey(k string) string {
	var b strings.Builder
	for i, r := range k {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}
