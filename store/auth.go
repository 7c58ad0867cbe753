package store

import (
	"database/sql"
	"errors"
	"time"
)

// AuthState is the sign-in protection of THIS workstation for one person
// (table auth_state). It is deliberately not replicated: a lockout answers
// guessing at this keyboard, and the PIN window is about a password typed
// here. A person with no row has the zero state.
type AuthState struct {
	UserID       string
	Failures     int       // consecutive failed sign-ins and password unlocks
	LockedUntil  time.Time // back-off: no attempt is checked before this; zero = none
	AdminLocked  bool      // too many failures: an administrator must lift it
	PasswordAt   time.Time // last password sign-in or unlock here; zero = never
	PINFailures  int       // wrong PINs since that password
	LastTOTPStep int64     // the last TOTP time step accepted: each code works once
}

// AuthState reads a person's sign-in protection on this workstation.
func (tx *Tx) AuthState(userID string) (AuthState, error) {
	st := AuthState{UserID: userID}
	var locked, pwAt int64
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT failures, locked_until, admin_locked, password_at, pin_failures, last_totp_step
		FROM auth_state WHERE user_id = ?`, userID).Scan(&st.Failures, &locked, &st.AdminLocked, &pwAt, &st.PINFailures, &st.LastTOTPStep)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	st.LockedUntil, st.PasswordAt = authTime(locked), authTime(pwAt)
	return st, err
}

// SaveAuthState writes a person's sign-in protection on this workstation.
// No change-log row: auth_state never leaves the workstation.
func (tx *Tx) SaveAuthState(st AuthState) error {
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO auth_state(user_id, failures, locked_until, admin_locked, password_at, pin_failures, last_totp_step)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(user_id) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until,
			admin_locked = excluded.admin_locked, password_at = excluded.password_at,
			pin_failures = excluded.pin_failures, last_totp_step = excluded.last_totp_step`,
		st.UserID, st.Failures, authSeconds(st.LockedUntil), st.AdminLocked, authSeconds(st.PasswordAt), st.PINFailures, st.LastTOTPStep)
	return err
}

// Credentials are a person's secrets besides the password hash. They live
// in the users row and replicate with it by the replica's own rule; the
// json:"-" tags keep them out of anything marshalled, the change log above all.
type Credentials struct {
	PINHash           string `json:"-"` // argon2id PHC string; "" = no PIN
	TOTPSecret        []byte `json:"-"` // RFC 6238 key; set but not enabled = enrolment not confirmed
	TOTPEnabled       bool   `json:"-"`
	PasswordChangedAt time.Time
}

// Credentials reads a person's PIN hash, TOTP key and password date.
func (tx *Tx) Credentials(userID string) (Credentials, error) {
	var c Credentials
	var changed int64
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT pin_hash, totp_secret, totp_enabled, password_changed_at
		FROM users WHERE id = ? AND deleted = 0`, userID).Scan(&c.PINHash, &c.TOTPSecret, &c.TOTPEnabled, &changed)
	if err != nil {
		return Credentials{}, notFound(err)
	}
	c.PasswordChangedAt = authTime(changed)
	return c, nil
}

// SetPasswordHash replaces a person's password hash and records when.
func (tx *Tx) SetPasswordHash(userID, hash string, at time.Time) error {
	return tx.updateCredentials(userID, "password_hash = ?, password_changed_at = ?", hash, authSeconds(at))
}

// SetPINHash sets (or, with "", removes) a person's PIN hash.
func (tx *Tx) SetPINHash(userID, hash string) error {
	return tx.updateCredentials(userID, "pin_hash = ?", hash)
}

// SetTOTP stores a person's TOTP key: enabled=false while an enrolment waits
// for its first code, true once confirmed; a nil secret removes it.
func (tx *Tx) SetTOTP(userID string, secret []byte, enabled bool) error {
	if secret == nil {
		enabled = false
	}
	return tx.updateCredentials(userID, "totp_secret = ?, totp_enabled = ?", secret, enabled)
}

// updateCredentials changes secret columns of a users row, stamps it for the
// replica and logs the row — as store.User, whose JSON carries no secret.
func (tx *Tx) updateCredentials(id, set string, values ...any) error {
	u, err := tx.UserByID(id)
	if err != nil {
		return err
	}
	origin, hlc := tx.stamp()
	args := append(values, origin, int64(hlc), id)
	if _, err := tx.tx.ExecContext(tx.ctx, "UPDATE users SET "+set+", origin = ?, hlc = ? WHERE id = ?", args...); err != nil {
		return err
	}
	u.PasswordHash = "" // not marshalled anyway; nothing secret rides along
	return tx.logChange("users", id, "upsert", hlc, u)
}

func authSeconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func authTime(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}
