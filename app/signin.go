package app

import (
	"context"
	"errors"

	"ward/store"
	"ward/store/audit"
)

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
	s, err := c.openSession(ctx, user, "password")
	if err != nil {
		return nil, err
	}
	return s, c.recordSystem(ctx, user.ID, ActSignIn, audit.OutcomeSuccess, "password")
}

// dummyHash makes a sign-in with an unknown username cost as much as one
// with a known username (argon2id of a throwaway password).
const dummyHash = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$Qk1mOKtiT0l1T3BQ2e7D0nYfU5cSx0s4mJQDk1Yd2ZA"
