package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"ward/store"
	"ward/store/audit"
)

// Unlocking a locked session, and proving it is still you before a change
// to your own account. Both count wrong passwords against the same lockout
// as signing in: a locked or unattended session is not a free guessing
// window.

var (
	// ErrPasswordRequired: the PIN cannot unlock this session (no password
	// typed on this workstation within the PIN window, or too many wrong
	// PINs); unlock with the password.
	ErrPasswordRequired = errors.New("the PIN cannot unlock this session now: unlock with your password")
	// ErrWrongPassword: the person's own password, mistyped at the lock
	// screen or when changing their account.
	ErrWrongPassword = errors.New("the password is not right")
	// ErrNotLocked: there is nothing to unlock.
	ErrNotLocked = errors.New("this session is not locked")
)

// lockedForUnlock refuses an unlock of a session that is not locked or has
// ended.
func (s *Session) lockedForUnlock() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.ended:
		return ErrSignedOut
	case !s.locked:
		return ErrNotLocked
	}
	return nil
}

// freshUser re-reads the session's person: an administrator may have
// disabled the account, and the password may have changed, since the
// session opened.
func (s *Session) freshUser(ctx context.Context) (store.User, error) {
	var u store.User
	err := s.clinic.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		u, err = tx.UserByID(s.user.ID)
		return err
	})
	return u, err
}

// disabledWhileLocked ends a session whose account was disabled while it
// waited: it can never be unlocked.
func (s *Session) disabledWhileLocked(ctx context.Context, act Action) error {
	s.clinic.recordSystem(ctx, s.user.ID, act, audit.OutcomeDenied, "account disabled")
	s.SignOut(ctx)
	return ErrAccountDisabled
}

// UnlockWithPIN unlocks this locked session with the person's PIN. It works
// only for the person of this session (their PIN is the only one checked),
// only if they signed in or unlocked with their password on this
// workstation within the PIN window (setting session.pin-window-hours), and
// only until MaxPINFailures wrong PINs; otherwise ErrPasswordRequired.
// Every attempt is audited, never the PIN.
func (s *Session) UnlockWithPIN(ctx context.Context, pin string) error {
	if err := s.lockedForUnlock(); err != nil {
		return err
	}
	now := s.clinic.now()
	var hash string
	var refusal error
	var tries int
	err := s.clinic.db.Update(ctx, func(tx *store.Tx) error {
		u, err := tx.UserByID(s.user.ID)
		if err != nil {
			return err
		}
		st, err := tx.AuthState(s.user.ID)
		if err != nil {
			return err
		}
		cr, err := tx.Credentials(s.user.ID)
		if err != nil {
			return err
		}
		window, err := PINWindow(tx)
		if err != nil {
			return err
		}
		var why string
		switch since := now.Sub(st.PasswordAt); {
		case u.Disabled:
			refusal = ErrAccountDisabled
			return nil // handled below: the session ends
		case st.AdminLocked:
			refusal, why = ErrAccountLocked, "account locked after too many failures"
		case !strings.HasPrefix(s.method, "password"):
			refusal, why = ErrPasswordRequired, "session not opened with a password"
		case cr.PINHash == "":
			refusal, why = ErrNoPIN, "no PIN set"
		case st.PasswordAt.IsZero():
			refusal, why = ErrPasswordRequired, "no password typed on this workstation"
		case since < 0 || since >= window:
			refusal, why = ErrPasswordRequired, fmt.Sprintf("last password on this workstation over %s ago", humanDuration(window))
		case st.PINFailures >= MaxPINFailures:
			refusal, why = ErrPasswordRequired, fmt.Sprintf("%d wrong PINs since the last password", st.PINFailures)
		}
		if refusal != nil {
			_, err = tx.Audit(audit.Event{User: s.user.ID, Action: string(ActUnlock), Outcome: audit.OutcomeDenied,
				Detail: "PIN not accepted: " + why})
			return err
		}
		// Counted before the hash, as for passwords (lockout.go).
		st.PINFailures++
		tries, hash = st.PINFailures, cr.PINHash
		return tx.SaveAuthState(st)
	})
	switch {
	case err != nil:
		return err
	case errors.Is(refusal, ErrAccountDisabled):
		return s.disabledWhileLocked(ctx, ActUnlock)
	case refusal != nil:
		return refusal
	}
	ok, err := verifySecret(hash, pin)
	if err != nil {
		return err
	}
	if !ok {
		err := s.clinic.db.Update(ctx, func(tx *store.Tx) error {
			_, err := tx.Audit(audit.Event{User: s.user.ID, Action: string(ActUnlock), Outcome: audit.OutcomeFailure,
				Detail: fmt.Sprintf("wrong PIN (%d of %d)", tries, MaxPINFailures)})
			if err == nil && tries == MaxPINFailures {
				_, err = tx.Audit(audit.Event{User: s.user.ID, Action: string(ActLockout), Outcome: audit.OutcomeSuccess,
					Detail: fmt.Sprintf("PIN stopped working after %d wrong PINs: password needed", tries)})
			}
			return err
		})
		switch {
		case err != nil:
			return err
		case tries >= MaxPINFailures:
			return ErrPasswordRequired
		}
		return wrongPINError{left: MaxPINFailures - tries}
	}
	err = s.clinic.db.Update(ctx, func(tx *store.Tx) error {
		st, err := tx.AuthState(s.user.ID)
		if err != nil {
			return err
		}
		st.PINFailures = 0
		return tx.SaveAuthState(st)
	})
	if err != nil {
		return err
	}
	return s.markUnlocked(ctx, "PIN")
}

// UnlockWithPassword unlocks this locked session with the person's
// password. It counts against the sign-in lockout, clears wrong PINs and
// starts a new PIN window. Audited.
func (s *Session) UnlockWithPassword(ctx context.Context, password string) error {
	if err := s.lockedForUnlock(); err != nil {
		return err
	}
	u, err := s.freshUser(ctx)
	if err != nil {
		return err
	}
	if u.Disabled {
		return s.disabledWhileLocked(ctx, ActUnlock)
	}
	a, err := s.clinic.passwordAttempt(ctx, u, ActUnlock, password)
	if err != nil {
		return err
	}
	err = s.clinic.db.Update(ctx, func(tx *store.Tx) error {
		_, err := a.succeed(tx)
		return err
	})
	if err != nil {
		a.undo(ctx)
		return err
	}
	return s.markUnlocked(ctx, "password")
}

// passwordAttempt checks a person's password for act as one attempt of
// the lockout: a refusal during a pause, a wrong password counted and
// audited (ErrWrongPassword). On success the caller ends the attempt with
// a.succeed in its transaction (or a.undo if that fails).
func (c *Clinic) passwordAttempt(ctx context.Context, u store.User, act Action, password string) (*attempt, error) {
	a, err := c.beginAttempt(ctx, u, act)
	if err != nil {
		return nil, err
	}
	ok, err := VerifyPassword(u.PasswordHash, password)
	if err != nil {
		a.undo(ctx)
		return nil, err
	}
	if !ok {
		if err := a.fail(ctx, "wrong password"); err != nil {
			return nil, err
		}
		return nil, ErrWrongPassword
	}
	return a, nil
}

// reauthenticate checks the signed-in person's password again before a
// change to their own account, then runs change in one transaction with
// the cleared counters and the audit entry for act (detail from change).
// A wrong password counts against the lockout like a sign-in.
func (s *Session) reauthenticate(ctx context.Context, act Action, password string, change func(tx *store.Tx) (string, error)) error {
	u, err := s.freshUser(ctx)
	if err != nil {
		return err
	}
	a, err := s.clinic.passwordAttempt(ctx, u, act, password)
	if err != nil {
		return err
	}
	err = s.clinic.db.Update(ctx, func(tx *store.Tx) error {
		if _, err := a.succeed(tx); err != nil {
			return err
		}
		detail, err := change(tx)
		if err != nil {
			return err
		}
		_, err = tx.Audit(audit.Event{User: s.user.ID, Action: string(act), Outcome: audit.OutcomeSuccess, Detail: detail})
		return err
	})
	if err != nil {
		a.undo(ctx) // the password was right: not a failure
	}
	return err
}
