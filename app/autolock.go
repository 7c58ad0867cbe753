package app

import (
	"context"
	"time"

	"ward/store/audit"
)

// Clock is wall-clock time. Idle timeouts compare wall-clock readings, not
// a ticking timer, so a machine that sleeps past the timeout is locked the
// moment anything looks at the session after it wakes. Tests use a fake.
type Clock interface{ Now() time.Time }

type wallClock struct{}

// Now strips the monotonic reading on purpose: it stops while the machine
// is suspended, and a suspended machine must count as idle.
func (wallClock) Now() time.Time { return time.Now().Round(0) }

func (c *Clinic) now() time.Time {
	if c.clock == nil {
		return wallClock{}.Now()
	}
	return c.clock.Now()
}

// SetClock replaces the clinic's clock (tests).
func (c *Clinic) SetClock(k Clock) { c.clock = k }

// Touch records input from this session's person (a key, a click, a pointer
// move). It does not unlock a locked session.
func (s *Session) Touch() {
	s.mu.Lock()
	if !s.locked && !s.ended {
		s.lastActivity = s.clinic.now()
	}
	s.mu.Unlock()
}

// IdleRemaining is how long until the session locks for idleness (0 when
// locked or due).
func (s *Session) IdleRemaining() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locked || s.ended {
		return 0
	}
	return max(0, s.idle-s.clinic.now().Sub(s.lastActivity))
}

// IdleTimeout is this session's timeout.
func (s *Session) IdleTimeout() time.Duration { return s.idle }

// CheckIdle locks the session if it has been idle for its timeout. The GUI
// calls it every second; Do calls it before any work. It reports whether the
// session is locked afterwards.
func (s *Session) CheckIdle(ctx context.Context) bool {
	s.mu.Lock()
	due := !s.locked && !s.ended && s.clinic.now().Sub(s.lastActivity) >= s.idle
	locked := s.locked
	s.mu.Unlock()
	if due {
		s.Lock(ctx, "idle")
		return true
	}
	return locked
}

// Lock locks the session (reason: "idle", "user", "switch", "screen",
// "focus"). Audited. Locking a locked session does nothing.
func (s *Session) Lock(ctx context.Context, reason string) error {
	s.mu.Lock()
	if s.locked || s.ended {
		s.mu.Unlock()
		return nil
	}
	s.locked = true
	s.mu.Unlock()
	return s.clinic.recordSystem(ctx, s.user.ID, ActLock, audit.OutcomeSuccess, "locked: "+reason)
}

// Locked tells whether the session is locked.
func (s *Session) Locked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.locked
}

// markUnlocked is called once a person proved who they are at the lock
// screen (PIN or password, see unlock.go). Audited.
func (s *Session) markUnlocked(ctx context.Context, method string) error {
	s.mu.Lock()
	s.locked = false
	s.lastActivity = s.clinic.now()
	s.mu.Unlock()
	return s.clinic.recordSystem(ctx, s.user.ID, ActUnlock, audit.OutcomeSuccess, "unlocked with "+method)
}

// SignOut ends the session. Audited.
func (s *Session) SignOut(ctx context.Context) error {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return nil
	}
	s.ended = true
	s.mu.Unlock()
	return s.clinic.recordSystem(ctx, s.user.ID, ActSignOut, audit.OutcomeSuccess, "")
}

// active refuses work for a locked or ended session, locking it first if
// it has been idle too long (the machine may just have woken up).
func (s *Session) active(ctx context.Context) error {
	return s.open(ctx, true)
}

// stillOpen refuses work for a locked or ended session, like active, but
// without counting as the person's activity.
func (s *Session) stillOpen(ctx context.Context) error {
	return s.open(ctx, false)
}

func (s *Session) open(ctx context.Context, activity bool) error {
	if s.CheckIdle(ctx) {
		return ErrLocked
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return ErrSignedOut
	}
	if activity {
		s.lastActivity = s.clinic.now() // asking for work is activity
	}
	return nil
}
