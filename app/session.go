package app

import (
	"context"
	"errors"
	"time"

	"ward/store"
	"ward/store/audit"
)

// Session is one signed-in person on this workstation.
type Session struct {
	clinic   *Clinic
	user     store.User
	signedIn time.Time
}

// User is the signed-in person.
func (s *Session) User() store.User { return s.user }

// Clinic is the workstation the session is on.
func (s *Session) Clinic() *Clinic { return s.clinic }

// SignIn checks a username and password and opens a session. Every attempt,
// right or wrong, is in the audit chain. A wrong username and a wrong
// password get the same answer.
func (c *Clinic) SignIn(ctx context.Context, username, password string) (*Session, error) {
	var user store.User
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		user, err = tx.UserByUsername(username)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		// The typed name is not recorded: people type passwords into the
		// username field, and the chain must never hold one.
		c.recordSystem(ctx, "", ActSignIn, audit.OutcomeFailure, "unknown username")
		VerifyPassword(dummyHash, password) // same time as a known user
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, err
	}
	ok, err := VerifyPassword(user.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		c.recordSystem(ctx, user.ID, ActSignIn, audit.OutcomeFailure, "wrong password")
		return nil, ErrBadCredentials
	}
	if user.Disabled {
		c.recordSystem(ctx, user.ID, ActSignIn, audit.OutcomeDenied, "account disabled")
		return nil, errors.New("this account is disabled: ask the clinic's administrator")
	}
	s := &Session{clinic: c, user: user, signedIn: time.Now()}
	return s, c.recordSystem(ctx, user.ID, ActSignIn, audit.OutcomeSuccess, "password")
}

// dummyHash makes a sign-in with an unknown username cost as much as one
// with a known username (argon2id of a throwaway password).
const dummyHash = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$Qk1mOKtiT0l1T3BQ2e7D0nYfU5cSx0s4mJQDk1Yd2ZA"

// Work describes an operation for the audit entry; the work function may
// fill in what it learns (a new patient's id, a count).
type Work struct {
	Patient string
	Detail  string
}

// Do is the one door to clinic records: it checks the person's permission
// for act, runs fn in one transaction, and appends the audit entry to the
// chain in that same transaction — so no record is read or written without a
// permission check and an entry, and no entry exists for work that did not
// commit. A denied attempt or a failed one is audited on its own.
func (s *Session) Do(ctx context.Context, act Action, patient string, fn func(tx *store.Tx, w *Work) error) error {
	if err := s.authorize(ctx, act, patient); err != nil {
		return err
	}
	w := &Work{Patient: patient}
	err := s.clinic.db.Update(ctx, func(tx *store.Tx) error {
		if err := fn(tx, w); err != nil {
			return err
		}
		_, err := tx.Audit(audit.Event{User: s.user.ID, Action: string(act), Patient: w.Patient,
			Outcome: audit.OutcomeSuccess, Detail: w.Detail})
		return err
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		s.record(ctx, act, w.Patient, audit.OutcomeFailure, failureDetail(err))
	}
	return err
}

// authorize checks the permission table; a refusal is audited as denied.
func (s *Session) authorize(ctx context.Context, act Action, patient string) error {
	if Allowed(s.user.Roles, act) {
		return nil
	}
	s.record(ctx, act, patient, audit.OutcomeDenied, "role not permitted")
	return &DeniedError{Action: act, Roles: s.user.Roles}
}

// record writes an audit entry on its own, for outcomes with no work to
// commit (denied, failed).
func (s *Session) record(ctx context.Context, act Action, patient, outcome, detail string) error {
	return s.clinic.db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.Audit(audit.Event{User: s.user.ID, Action: string(act), Patient: patient, Outcome: outcome, Detail: detail})
		return err
	})
}

func (c *Clinic) recordSystem(ctx context.Context, user string, act Action, outcome, detail string) error {
	if user == "" {
		user = SystemUser
	}
	return c.db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.Audit(audit.Event{User: user, Action: string(act), Outcome: outcome, Detail: detail})
		return err
	})
}

// failureDetail keeps the audit detail free of patient data: it names the
// kind of failure, never the values that caused it.
func failureDetail(err error) string {
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		return "invalid input: " + ve.Field
	case errors.Is(err, store.ErrNotFound):
		return "not found"
	default:
		return "error"
	}
}
