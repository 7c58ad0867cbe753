package store

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func addAuthTestUser(t *testing.T, db *DB) User {
	t.Helper()
	var u User
	err := db.Update(context.Background(), func(tx *Tx) error {
		var err error
		u, err = tx.AddUser(User{Username: "ada", DisplayName: "Ada", PasswordHash: "$argon2id$old", Roles: []string{"clinician"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestAuthStateRoundTrip(t *testing.T) {
	db, key, dir := newTestDB(t)
	u := addAuthTestUser(t, db)
	ctx := context.Background()
	at := time.Unix(1_700_000_000, 0)
	err := db.Update(ctx, func(tx *Tx) error {
		st, err := tx.AuthState(u.ID)
		if err != nil {
			return err
		}
		if st != (AuthState{UserID: u.ID}) {
			t.Errorf("a person never seen here has state %+v, want the zero state", st)
		}
		st = AuthState{UserID: u.ID, Failures: 7, LockedUntil: at.Add(time.Minute), AdminLocked: true, PasswordAt: at,
			PINFailures: 3, LastTOTPStep: 56_666_666}
		if err := tx.SaveAuthState(st); err != nil {
			return err
		}
		st.Failures = 8 // the upsert path
		return tx.SaveAuthState(st)
	})
	if err != nil {
		t.Fatal(err)
	}
	// It survives closing and reopening the database.
	db.Close()
	db, err = Open(ctx, dir, key)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(ctx, func(tx *Tx) error {
		st, err := tx.AuthState(u.ID)
		want := AuthState{UserID: u.ID, Failures: 8, LockedUntil: at.Add(time.Minute), AdminLocked: true, PasswordAt: at,
			PINFailures: 3, LastTOTPStep: 56_666_666}
		if st != want {
			t.Errorf("after reopening: %+v, want %+v", st, want)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCredentialsStayOutOfTheChangeLog(t *testing.T) {
	db, _, _ := newTestDB(t)
	u := addAuthTestUser(t, db)
	ctx := context.Background()
	secret := []byte("totp-key-0123456789")
	at := time.Unix(1_700_000_000, 0)
	err := db.Update(ctx, func(tx *Tx) error {
		if err := tx.SetPasswordHash(u.ID, "$argon2id$new-hash", at); err != nil {
			return err
		}
		if err := tx.SetPINHash(u.ID, "$argon2id$pin-hash"); err != nil {
			return err
		}
		if err := tx.SetTOTP(u.ID, secret, true); err != nil {
			return err
		}
		c, err := tx.Credentials(u.ID)
		if err != nil {
			return err
		}
		if c.PINHash != "$argon2id$pin-hash" || !bytes.Equal(c.TOTPSecret, secret) || !c.TOTPEnabled || !c.PasswordChangedAt.Equal(at) {
			t.Errorf("credentials read back as %+v", c)
		}
		if got, _ := tx.UserByID(u.ID); got.PasswordHash != "$argon2id$new-hash" {
			t.Errorf("password hash not replaced: %q", got.PasswordHash)
		}
		if err := tx.SetTOTP(u.ID, nil, true); err != nil { // removing the key disables it too
			return err
		}
		if c, _ := tx.Credentials(u.ID); c.TOTPSecret != nil || c.TOTPEnabled {
			t.Errorf("TOTP not removed: %+v", c)
		}
		_, err = tx.Credentials("no-such-user")
		if err != ErrNotFound {
			t.Errorf("credentials of a missing user: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.sql.QueryContext(ctx, "SELECT data FROM change_log WHERE table_name = 'users' AND row_id = ?", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			t.Fatal(err)
		}
		n++
		for _, s := range []string{"argon2id", "hash", "totp", "pin", "dG90cC1rZXk", string(secret)} {
			if strings.Contains(strings.ToLower(data), s) {
				t.Errorf("change log row carries %q: %s", s, data)
			}
		}
	}
	if n != 5 { // add, password, PIN, TOTP on, TOTP off
		t.Errorf("%d change-log rows for the user, want 5", n)
	}
}
