package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"ward/store"
	"ward/store/audit"
)

// Lockout: consecutive wrong passwords (or second-factor codes) for one
// person on this workstation earn a growing pause, and at the end an
// administrator's unlock. The counters live in auth_state in the encrypted
// database, so quitting Ward or rebooting does not reset them.
const (
	// FreeFailures wrong attempts in a row cost nothing: people mistype.
	FreeFailures = 5
	// FirstBackoff is the pause after the FreeFailures-th failure; it doubles
	// with each further failure up to MaxBackoff: from the tenth failure on,
	// a guesser gets four tries an hour, and AdminLockAt ends it (NIST SP
	// 800-63B §5.2.2 asks for at most 100 consecutive failures).
	FirstBackoff = 30 * time.Second
	MaxBackoff   = 15 * time.Minute
	// AdminLockAt consecutive failures lock the account until an
	// administrator unlocks it (issue 3: at most 100).
	AdminLockAt = 100
)

// LockedOutError is the answer to an attempt during a back-off pause: the
// password was not even checked. The GUI shows Until as a countdown.
type LockedOutError struct {
	Until time.Time     // when the next attempt will be checked
	Left  time.Duration // from the moment of the refusal
}

func (e *LockedOutError) Error() string {
	return fmt.Sprintf("too many wrong attempts in a row: wait %s before trying again (the password was not checked)", humanDuration(e.Left))
}

// ErrAccountLocked: AdminLockAt failures in a row; only an administrator
// lifts it (`ward user unlock USERNAME` or the admin screen).
var ErrAccountLocked = errors.New("this account is locked after too many wrong attempts in a row: " +
	"an administrator must unlock it (ward user unlock USERNAME)")

// ErrAccountDisabled: the account was deprovisioned.
var ErrAccountDisabled = errors.New("this account is disabled: ask the clinic's administrator")

// backoff is the pause earned by the n-th consecutive failure.
func backoff(n int) time.Duration {
	if n < FreeFailures {
		return 0
	}
	d := FirstBackoff
	for i := FreeFailures; i < n; i++ {
		d *= 2
		if d >= MaxBackoff {
			return MaxBackoff
		}
	}
	return d
}

// attempt is one check of a person's password (or password and code)
// against their lockout counters. beginAttempt counts it as a failure in
// advance, in the same transaction that checks the pause: attempts running
// in parallel (two Ward processes, a script) cannot get more guesses than
// the counters allow, and a crash during the slow hash leaves the failure
// counted. The caller then settles it: fail, undo, or succeed.
type attempt struct {
	c         *Clinic
	user      store.User
	act       Action    // what the audit entries name: sign-in, unlock, password change
	failures  int       // the count with this attempt failed
	until     time.Time // the pause this attempt set if it fails
	prevUntil time.Time
}

func (c *Clinic) beginAttempt(ctx context.Context, u store.User, act Action) (*attempt, error) {
	now := c.now()
	a := &attempt{c: c, user: u, act: act}
	var refusal error
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		st, err := tx.AuthState(u.ID)
		if err != nil {
			return err
		}
		switch {
		case st.AdminLocked || st.Failures >= AdminLockAt: // the latter: a crash before fail() recorded the lock
			refusal = ErrAccountLocked
			_, err = tx.Audit(audit.Event{User: u.ID, Action: string(act), Outcome: audit.OutcomeDenied,
				Detail: "account locked after too many failures: not checked"})
			return err
		case now.Before(st.LockedUntil):
			refusal = &LockedOutError{Until: st.LockedUntil, Left: st.LockedUntil.Sub(now)}
			_, err = tx.Audit(audit.Event{User: u.ID, Action: string(act), Outcome: audit.OutcomeDenied,
				Detail: fmt.Sprintf("during a pause after %d failures (%s left): not checked", st.Failures, humanDuration(st.LockedUntil.Sub(now)))})
			return err
		}
		a.prevUntil = st.LockedUntil
		st.Failures++
		a.failures = st.Failures
		if d := backoff(st.Failures); d > 0 {
			st.LockedUntil = now.Add(d)
		}
		a.until = st.LockedUntil
		return tx.SaveAuthState(st)
	})
	if err != nil {
		return nil, err
	}
	return a, refusal
}

// fail records the failed attempt (already counted) and, when it earned a
// pause or the administrator lock, an ActLockout entry, in one transaction.
func (a *attempt) fail(ctx context.Context, detail string) error {
	return a.c.db.Update(ctx, func(tx *store.Tx) error {
		if a.failures >= AdminLockAt {
			st, err := tx.AuthState(a.user.ID)
			if err != nil {
				return err
			}
			st.AdminLocked = true
			if err := tx.SaveAuthState(st); err != nil {
				return err
			}
		}
		_, err := tx.Audit(audit.Event{User: a.user.ID, Action: string(a.act), Outcome: audit.OutcomeFailure,
			Detail: fmt.Sprintf("%s (%d in a row)", detail, a.failures)})
		if err != nil {
			return err
		}
		var lock string
		switch {
		case a.failures == AdminLockAt:
			lock = fmt.Sprintf("account locked after %d failures in a row: an administrator must unlock it", a.failures)
		case a.failures < AdminLockAt && backoff(a.failures) > 0:
			lock = fmt.Sprintf("attempts paused for %s after %d failures in a row", humanDuration(backoff(a.failures)), a.failures)
		}
		if lock != "" {
			_, err = tx.Audit(audit.Event{User: a.user.ID, Action: string(ActLockout), Outcome: audit.OutcomeSuccess, Detail: lock})
		}
		return err
	})
}

// undo takes back the advance count of an attempt that neither failed nor
// succeeded (the password was right but a second factor is still needed,
// or the account is disabled): earlier failures stay counted.
func (a *attempt) undo(ctx context.Context) error {
	return a.c.db.Update(ctx, func(tx *store.Tx) error {
		st, err := tx.AuthState(a.user.ID)
		if err != nil {
			return err
		}
		st.Failures = max(0, st.Failures-1)
		if st.LockedUntil.Equal(a.until) {
			st.LockedUntil = a.prevUntil
		}
		return tx.SaveAuthState(st)
	})
}

// succeed clears the counters inside the caller's transaction (so the
// success, its audit entry and the cleared counters commit together) and
// notes that the password was typed here now: the PIN window starts. It
// refuses if an administrator lock landed while the hash was computed.
func (a *attempt) succeed(tx *store.Tx) (store.AuthState, error) {
	st, err := tx.AuthState(a.user.ID)
	if err != nil {
		return st, err
	}
	if st.AdminLocked {
		return st, ErrAccountLocked
	}
	st.Failures, st.LockedUntil, st.PINFailures = 0, time.Time{}, 0
	st.PasswordAt = a.c.now()
	return st, tx.SaveAuthState(st)
}

// UnlockAccount lifts a person's pause or administrator lock on this
// workstation, and their PIN lock (an administrator or security officer).
// The counters are per workstation, so this is done where the lock is.
func (s *Session) UnlockAccount(ctx context.Context, username string) error {
	return s.Do(ctx, ActUserUnlock, "", func(tx *store.Tx, w *Work) error {
		u, err := s.userByName(tx, username)
		if err != nil {
			return err
		}
		st, err := tx.AuthState(u.ID)
		if err != nil {
			return err
		}
		w.Detail = fmt.Sprintf("lifted the lockout of user %s (%d failures in a row, administrator lock %v, %d wrong PINs)",
			u.ID, st.Failures, st.AdminLocked, st.PINFailures)
		st.Failures, st.LockedUntil, st.AdminLocked, st.PINFailures = 0, time.Time{}, false, 0
		return tx.SaveAuthState(st)
	})
}

// clearAfterReset is for an administrator's password reset (useradmin.go's
// ResetPassword calls it in its transaction): the person starts afresh on
// this workstation — no pause, no administrator lock, no wrong PINs — and
// their PIN stops unlocking here until they type the new password here.
func clearAfterReset(tx *store.Tx, userID string) error {
	st, err := tx.AuthState(userID)
	if err != nil {
		return err
	}
	st.Failures, st.LockedUntil, st.AdminLocked, st.PINFailures, st.PasswordAt = 0, time.Time{}, false, 0, time.Time{}
	return tx.SaveAuthState(st)
}

// humanDuration says a wait the way a person reads it: "30 seconds",
// "1 minute 30 seconds", "8 hours" (rounded up to the second).
func humanDuration(d time.Duration) string {
	secs := int((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	if secs >= 3600 { // the PIN window: hours and minutes are enough
		h, m := secs/3600, secs%3600/60
		if m == 0 {
			return plural(h, "hour")
		}
		return plural(h, "hour") + " " + plural(m, "minute")
	}
	m, s := secs/60, secs%60
	switch {
	case m == 0:
		return plural(s, "second")
	case s == 0:
		return plural(m, "minute")
	}
	return plural(m, "minute") + " " + plural(s, "second")
}
