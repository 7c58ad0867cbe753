package app

import (
	"context"
	"errors"

	"ward/store"
	"ward/store/audit"
)

// Signing in. Every attempt, right or wrong, is in the audit chain; a wrong
// username and a wrong password get the same answer in about the same time.
// The order of checks is deliberate:
//
//  1. the pause or administrator lock (lockout.go), before the password is
//     even hashed, so a guesser gains nothing by trying during it;
//  2. the password; only someone who knows it learns more below:
//  3. that the account is disabled;
//  4. the second factor, if the account has one or its role requires one.

// SignIn checks a username and password and opens a session. For an account
// with a second factor it returns ErrSecondFactorNeeded once the password is
// right: ask for the code and call SignInWithTOTP. For a role that requires
// a second factor the person has not set up, ErrTOTPEnrolmentNeeded: see
// BeginTOTPAtSignIn.
func (c *Clinic) SignIn(ctx context.Context, username, password string) (*Session, error) {
	return c.signIn(ctx, username, password, "", false)
}

// SignInWithTOTP signs in with the password and the current code of the
// person's authenticator app. For an account without a second factor the
// code is not needed and not checked.
func (c *Clinic) SignInWithTOTP(ctx context.Context, username, password, code string) (*Session, error) {
	return c.signIn(ctx, username, password, code, true)
}

// IsSignInRefusal tells whether err is a sign-in that did not succeed
// because of what the person typed or the account's state (the CLI's exit
// code 4), rather than a fault.
func IsSignInRefusal(err error) bool {
	var lo *LockedOutError
	for _, e := range []error{ErrBadCredentials, ErrAccountLocked, ErrAccountDisabled, ErrSecondFactorNeeded,
		ErrWrongCode, ErrTOTPEnrolmentNeeded, ErrWrongPassword, ErrPasswordRequired, ErrWrongPIN} {
		if errors.Is(err, e) {
			return true
		}
	}
	return errors.As(err, &lo)
}

func (c *Clinic) signIn(ctx context.Context, username, password, code string, withCode bool) (*Session, error) {
	u, a, err := c.checkPassword(ctx, username, password)
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		a.undo(ctx)
		c.recordSystem(ctx, u.ID, ActSignIn, audit.OutcomeDenied, "account disabled")
		return nil, ErrAccountDisabled
	}
	var cr store.Credentials
	var required bool
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		if cr, err = tx.Credentials(u.ID); err != nil {
			return err
		}
		required, err = TOTPRequired(tx, u.Roles)
		return err
	})
	if err != nil {
		a.undo(ctx)
		return nil, err
	}
	method := "password"
	enrol := false // the code confirms a set-up started at sign-in
	switch {
	case !cr.TOTPEnabled && !required:
		// Password only; a code given anyway is not needed.
	case !withCode:
		// The password was right: not a failure, but not a success either.
		a.undo(ctx)
		if !cr.TOTPEnabled {
			c.recordSystem(ctx, u.ID, ActSignIn, audit.OutcomeDenied, "password right; role requires a second factor not yet set up")
			return nil, ErrTOTPEnrolmentNeeded
		}
		c.recordSystem(ctx, u.ID, ActSignIn, audit.OutcomeDenied, "password right; second factor needed")
		return nil, ErrSecondFactorNeeded
	case !cr.TOTPEnabled && cr.TOTPSecret == nil:
		a.undo(ctx)
		c.recordSystem(ctx, u.ID, ActSignIn, audit.OutcomeDenied, "password right; role requires a second factor not yet set up")
		return nil, ErrTOTPEnrolmentNeeded
	default:
		method, enrol = "password+totp", !cr.TOTPEnabled
	}

	var s *Session
	var wrongCode bool
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		if method == "password+totp" {
			st, err := tx.AuthState(u.ID)
			if err != nil {
				return err
			}
			step, ok := matchTOTP(cr.TOTPSecret, code, c.now(), st.LastTOTPStep)
			if !ok {
				wrongCode = true
				return errWrongCodeRollback
			}
			st.LastTOTPStep = step
			if err := tx.SaveAuthState(st); err != nil {
				return err
			}
		}
		if _, err := a.succeed(tx); err != nil {
			return err
		}
		if enrol {
			if err := tx.SetTOTP(u.ID, cr.TOTPSecret, true); err != nil {
				return err
			}
			if _, err := tx.Audit(audit.Event{User: u.ID, Action: string(ActTOTPEnroll), Outcome: audit.OutcomeSuccess,
				Detail: "second factor turned on at sign-in"}); err != nil {
				return err
			}
		}
		_, err := tx.Audit(audit.Event{User: u.ID, Action: string(ActSignIn), Outcome: audit.OutcomeSuccess, Detail: method})
		return err
	})
	if wrongCode {
		if err := a.fail(ctx, "wrong second-factor code"); err != nil {
			return nil, err
		}
		return nil, ErrWrongCode
	}
	if err != nil {
		return nil, err
	}
	// The session starts after the success is committed: a session never
	// exists without its sign-in entry.
	s, err = c.openSession(ctx, u, method)
	return s, err
}

// errWrongCodeRollback leaves the success transaction without committing;
// the failure is then counted and audited by attempt.fail.
var errWrongCodeRollback = errors.New("wrong code")

// checkPassword is steps 1–2 above for a typed username: it returns the
// person and their open attempt when the password is right. An unknown
// username costs one hash of a throwaway password, like a known one, and is
// audited without the typed name (people type passwords into that field).
func (c *Clinic) checkPassword(ctx context.Context, username, password string) (store.User, *attempt, error) {
	var u store.User
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		u, err = tx.UserByUsername(username)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		VerifyPassword(dummyHash, password)
		c.recordSystem(ctx, "", ActSignIn, audit.OutcomeFailure, "unknown username")
		return u, nil, ErrBadCredentials
	}
	if err != nil {
		return u, nil, err
	}
	a, err := c.beginAttempt(ctx, u, ActSignIn)
	if err != nil {
		return u, nil, err
	}
	ok, err := VerifyPassword(u.PasswordHash, password)
	if err != nil {
		a.undo(ctx)
		return u, nil, err
	}
	if !ok {
		if err := a.fail(ctx, "wrong password"); err != nil {
			return u, nil, err
		}
		return u, nil, ErrBadCredentials
	}
	return u, a, nil
}

// BeginTOTPAtSignIn is the sign-in of a person whose role requires a
// second factor they have not set up (SignIn said ErrTOTPEnrolmentNeeded):
// with the right password it starts the set-up and returns the key, URI and
// QR code to show; the person then signs in with SignInWithTOTP and a code
// from the app, which turns the factor on. Until then the password alone
// protects the account, as it did before the role required more — see
// docs/passwords.md for why Ward chose this over an administrator-only
// set-up.
func (c *Clinic) BeginTOTPAtSignIn(ctx context.Context, username, password string) (TOTPEnrollment, error) {
	u, a, err := c.checkPassword(ctx, username, password)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	// The set-up itself proves nothing yet: the attempt is neither a
	// failure nor a success until the code arrives.
	a.undo(ctx)
	if u.Disabled {
		c.recordSystem(ctx, u.ID, ActSignIn, audit.OutcomeDenied, "account disabled")
		return TOTPEnrollment{}, ErrAccountDisabled
	}
	key, err := newTOTPSecret()
	if err != nil {
		return TOTPEnrollment{}, err
	}
	enr, err := enrollmentFor(u.Username, key)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		cr, err := tx.Credentials(u.ID)
		if err != nil {
			return err
		}
		if cr.TOTPEnabled {
			return ErrSecondFactorNeeded
		}
		required, err := TOTPRequired(tx, u.Roles)
		if err != nil {
			return err
		}
		if !required {
			return errors.New("your role does not require a second factor: sign in, then set one up (ward --user USERNAME user totp enroll)")
		}
		if err := tx.SetTOTP(u.ID, key, false); err != nil {
			return err
		}
		_, err = tx.Audit(audit.Event{User: u.ID, Action: string(ActTOTPEnroll), Outcome: audit.OutcomeSuccess,
			Detail: "second-factor set-up started at sign-in"})
		return err
	})
	if err != nil {
		return TOTPEnrollment{}, err
	}
	return enr, nil
}

// dummyHash makes a sign-in with an unknown username cost as much as one
// with a known username: argon2id of a throwaway password, with the
// password cost (TestDummyHashCost keeps them equal).
const dummyHash = "$argon2id$v=19$m=131072,t=5,p=2$c29tZXNhbHRzb21lc2FsdA$PGI/gXE5D6TLRCGePjysR7hh+ia/UoKOSnszDc3JiEw"
