package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"ward/store"
	"ward/store/audit"
)

// The quick-unlock PIN: short digits that unlock a person's own locked
// session on this workstation, for a few hours after they typed their
// password here (unlock.go), and never anything else. Its strength is not
// the hash — 10^4 to 10^12 PINs fall to any hash offline — but the five
// tries it gets before the password is required again, the window, and the
// encrypted database it lives in.
const (
	MinPINLen = 4
	MaxPINLen = 12
	// MaxPINFailures wrong PINs in a row and the PIN stops working until the
	// person signs in or unlocks with their password.
	MaxPINFailures = 5
)

// pinKDF is lighter than the password's: argon2id t=2, m=19 MiB, p=1 (the
// OWASP minimum for argon2id), ≈30–60 ms here, so unlocking feels instant.
// A heavier hash would not make a short PIN safe offline (see above); the
// hash is there so the PIN — often the same as a bank card's — is never
// stored as it was typed, in this database or its replicas.
var pinKDF = kdf{time: 2, memory: 19 * 1024, threads: 1}

var (
	ErrNoPIN    = errors.New("you have not set a PIN: unlock with your password (you can set a PIN afterwards: ward user pin)")
	ErrWrongPIN = errors.New("the PIN is not right")
	ErrBadPIN   = fmt.Errorf("a PIN is %d to %d digits, and not one digit repeated or a run like 1234 or 4321", MinPINLen, MaxPINLen)
)

// wrongPINError says how many tries are left; errors.Is(err, ErrWrongPIN).
type wrongPINError struct{ left int }

func (e wrongPINError) Error() string {
	if e.left == 1 {
		return "the PIN is not right: one more wrong PIN and your password will be needed"
	}
	return fmt.Sprintf("the PIN is not right: %d more tries before your password is needed", e.left)
}

func (e wrongPINError) Is(target error) bool { return target == ErrWrongPIN }

// CheckPINRules: 4–12 ASCII digits, not a repeated digit or short group
// ("0000", "1212") nor a straight run ("1234", "9876") — the PINs tried first.
func CheckPINRules(pin string) error {
	if len(pin) < MinPINLen || len(pin) > MaxPINLen {
		return ErrBadPIN
	}
	for _, r := range pin {
		if r < '0' || r > '9' {
			return ErrBadPIN
		}
	}
	if repetitive(pin) || sequential(pin) {
		return ErrBadPIN
	}
	return nil
}

// SetPIN sets the signed-in person's quick-unlock PIN (replacing any). It
// asks for the password again: someone at an unlocked session left
// unattended must not be able to give themselves a way back in once it
// locks. Audited (ActPINSet), never the PIN.
func (s *Session) SetPIN(ctx context.Context, password, pin string) error {
	if err := s.active(ctx); err != nil {
		return err
	}
	if err := CheckPINRules(pin); err != nil {
		return err
	}
	hash, err := hashSecret(pin, pinKDF)
	if err != nil {
		return err
	}
	return s.reauthenticate(ctx, ActPINSet, password, func(tx *store.Tx) (string, error) {
		return "PIN set", tx.SetPINHash(s.user.ID, hash)
	})
}

// RemovePIN removes the person's PIN: from then on only the password
// unlocks. Audited (ActPINSet).
func (s *Session) RemovePIN(ctx context.Context) error {
	if err := s.active(ctx); err != nil {
		return err
	}
	return s.clinic.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.SetPINHash(s.user.ID, ""); err != nil {
			return err
		}
		_, err := tx.Audit(audit.Event{User: s.user.ID, Action: string(ActPINSet), Outcome: audit.OutcomeSuccess, Detail: "PIN removed"})
		return err
	})
}

// HasPIN tells whether the person has a PIN (the lock screen offers the
// PIN field only then).
func (s *Session) HasPIN(ctx context.Context) (bool, error) {
	var has bool
	err := s.clinic.db.Update(ctx, func(tx *store.Tx) error {
		cr, err := tx.Credentials(s.user.ID)
		has = cr.PINHash != ""
		return err
	})
	return has, err
}

// PINWindow is how long after a password on this workstation the PIN
// unlocks (the clinic setting session.pin-window-hours), for telling the
// person.
func (s *Session) PINWindow(ctx context.Context) (time.Duration, error) {
	var w time.Duration
	err := s.clinic.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		w, err = PINWindow(tx)
		return err
	})
	return w, err
}
