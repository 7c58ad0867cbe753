package app

import (
	"context"
	"errors"
	"testing"

	"ward/store"
)

// Accounts shows each person's sign-in state on this workstation: a pause
// after wrong passwords, the administrator lock, the PIN lock and the
// second factor; an unlock clears them. Front desk may not list accounts.
func TestAccountsShowSignInState(t *testing.T) {
	ctx := context.Background()
	c, clock, admin, _ := authClinic(t)
	ada := addPerson(t, admin, "ada", "analytical engine", RoleClinician)
	fd := addPerson(t, admin, "fd", "front desk pass", RoleFrontDesk)
	for i := 0; i < FreeFailures; i++ {
		c.SignIn(ctx, "ada", "a wrong guess")
	}
	st := authState(t, c, fd.ID)
	st.PINFailures = MaxPINFailures
	saveAuthState(t, c, st)
	if err := c.db.Update(ctx, func(tx *store.Tx) error { return tx.SetTOTP(fd.ID, []byte("0123456789abcdefghij"), true) }); err != nil {
		t.Fatal(err)
	}

	byName := func() map[string]Account {
		as, err := admin.Accounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]Account{}
		for _, a := range as {
			m[a.Username] = a
		}
		return m
	}
	as := byName()
	if a := as["ada"]; a.ID != ada.ID || a.Failures != FreeFailures || !a.Paused(clock.Now()) || a.Locked || a.SecondFactor {
		t.Fatalf("ada after %d wrong passwords: %+v", FreeFailures, a)
	}
	if a := as["fd"]; !a.PINLocked || !a.SecondFactor || a.Paused(clock.Now()) {
		t.Fatalf("fd with the PIN locked and a second factor: %+v", a)
	}
	if e := lastEntry(t, c); e.Action != string(ActUserList) || e.User != admin.User().ID {
		t.Fatalf("listing accounts is audited as %+v", e)
	}
	if err := admin.UnlockAccount(ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	if a := byName()["ada"]; a.Failures != 0 || a.Paused(clock.Now()) {
		t.Fatalf("ada after an unlock: %+v", a)
	}
	addPerson(t, admin, "desk", "at the front desk", RoleFrontDesk)
	var de *DeniedError
	if _, err := signIn(t, c, "desk", "at the front desk").Accounts(ctx); !errors.As(err, &de) {
		t.Fatalf("front desk listing accounts: %v", err)
	}
}

// HasTOTP follows the person's own second factor.
func TestHasTOTP(t *testing.T) {
	ctx := context.Background()
	c, _, admin, _ := authClinic(t)
	on, err := admin.HasTOTP(ctx)
	if err != nil || on {
		t.Fatalf("before set-up: %v, %v", on, err)
	}
	if err := c.db.Update(ctx, func(tx *store.Tx) error { return tx.SetTOTP(admin.User().ID, []byte("0123456789abcdefghij"), true) }); err != nil {
		t.Fatal(err)
	}
	if on, err := admin.HasTOTP(ctx); err != nil || !on {
		t.Fatalf("after set-up: %v, %v", on, err)
	}
}
