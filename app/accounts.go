package app

import (
	"context"
	"time"

	"ward/store"
)

// Account is a person as the administrators' People screen shows them: the
// user record and, on this workstation, what stands between them and
// signing in (the lockout counters live per workstation, see lockout.go).
type Account struct {
	store.User
	Failures     int       // wrong passwords in a row here
	PausedUntil  time.Time // no attempt is checked before this; zero = none
	Locked       bool      // an administrator must unlock (AdminLockAt failures)
	PINLocked    bool      // MaxPINFailures wrong PINs: the password is needed
	SecondFactor bool      // a TOTP second factor is in force
}

// Paused tells whether the account is in a back-off pause at now.
func (a Account) Paused(now time.Time) bool { return now.Before(a.PausedUntil) }

// Accounts lists every person with their sign-in state on this workstation
// (ActUserList, audited like Users). It holds no secret: not the hashes,
// not the TOTP key.
func (s *Session) Accounts(ctx context.Context) ([]Account, error) {
	var out []Account
	err := s.Do(ctx, ActUserList, "", func(tx *store.Tx, w *Work) error {
		us, err := tx.Users()
		if err != nil {
			return err
		}
		for _, u := range us {
			st, err := tx.AuthState(u.ID)
			if err != nil {
				return err
			}
			cr, err := tx.Credentials(u.ID)
			if err != nil {
				return err
			}
			out = append(out, Account{User: u, Failures: st.Failures, PausedUntil: st.LockedUntil,
				Locked: st.AdminLocked || st.Failures >= AdminLockAt, PINLocked: st.PINFailures >= MaxPINFailures,
				SecondFactor: cr.TOTPEnabled})
		}
		w.Detail = "listed accounts with their sign-in state"
		return nil
	})
	return out, err
}

// HasTOTP tells whether the signed-in person's second factor is in force
// (their account screen offers to set one up, or to turn it off).
func (s *Session) HasTOTP(ctx context.Context) (bool, error) {
	if err := s.active(ctx); err != nil {
		return false, err
	}
	var on bool
	err := s.clinic.db.Update(ctx, func(tx *store.Tx) error {
		cr, err := tx.Credentials(s.user.ID)
		on = cr.TOTPEnabled
		return err
	})
	return on, err
}
