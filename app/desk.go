package app

import (
	"context"
	"sync"
)

// Desk is a shared workstation's front: whose session is in front, and the
// sessions waiting locked behind the lock screen. When another person signs
// in, the session in front is locked, never shared: fast user switching.
type Desk struct {
	mu       sync.Mutex
	front    *Session
	sessions map[string]*Session // by user id; at most one per person
}

// NewDesk returns an empty desk (nobody signed in).
func NewDesk() *Desk { return &Desk{sessions: map[string]*Session{}} }

// Front is the session in front, or nil.
func (d *Desk) Front() *Session {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.front
}

// Present puts a freshly signed-in session in front. The session that was in
// front is locked first (reason "switch"); a person who signs in again while
// their older session waits locked gets a new session, and the old one ends.
func (d *Desk) Present(ctx context.Context, s *Session) error {
	d.mu.Lock()
	prev := d.front
	old := d.sessions[s.user.ID]
	d.sessions[s.user.ID] = s
	d.front = s
	d.mu.Unlock()
	if prev != nil && prev != s && prev.user.ID != s.user.ID {
		if err := prev.Lock(ctx, "switch"); err != nil {
			return err
		}
	}
	if old != nil && old != s {
		return old.SignOut(ctx)
	}
	return nil
}

// Resume brings a waiting session to the front after it was unlocked (PIN
// or password at the lock screen), locking the one in front.
func (d *Desk) Resume(ctx context.Context, s *Session) error {
	if s.Locked() {
		return ErrLocked
	}
	return d.Present(ctx, s)
}

// Waiting lists the locked sessions behind the lock screen (for "unlock as
// …" choices; names only, no patient data).
func (d *Desk) Waiting() []*Session {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ws []*Session
	for _, s := range d.sessions {
		if s.Locked() && !s.isEnded() {
			ws = append(ws, s)
		}
	}
	return ws
}

// SignOut ends the session in front; the desk shows the lock screen.
func (d *Desk) SignOut(ctx context.Context) error {
	d.mu.Lock()
	s := d.front
	d.front = nil
	if s != nil {
		delete(d.sessions, s.user.ID)
	}
	d.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.SignOut(ctx)
}

func (s *Session) isEnded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
}
