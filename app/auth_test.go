package app

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"time"

	"ward/assets/passwords"
	"ward/store"
	"ward/store/audit"
)

// Tests of authentication: passwords and the blocklist, lockout and
// back-off, the PIN, TOTP. They run on a fake clock; people they add get
// cheap password hashes so that a hundred wrong passwords take a second,
// not a minute (the cost is read from each stored hash, so nothing else
// changes).

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func cheapHashes(t *testing.T) {
	old := passwordKDF
	passwordKDF = kdf{time: 1, memory: 64, threads: 1}
	t.Cleanup(func() { passwordKDF = old })
}

// authClinic is a clinic on a fake clock with its administrator signed in.
func authClinic(t *testing.T) (*Clinic, *fakeClock, *Session, string) {
	t.Helper()
	c, dir, _ := newClinic(t)
	clock := &fakeClock{t: t0}
	c.SetClock(clock)
	admin := signIn(t, c, "root", adminPW)
	cheapHashes(t)
	return c, clock, admin, dir
}

func addPerson(t *testing.T, admin *Session, username, pw string, roles ...string) store.User {
	t.Helper()
	u, err := admin.AddUser(context.Background(), NewUser{Username: username, Roles: roles, Password: pw})
	if err != nil {
		t.Fatalf("add %s: %v", username, err)
	}
	return u
}

func authState(t *testing.T, c *Clinic, userID string) store.AuthState {
	t.Helper()
	var st store.AuthState
	err := c.db.Update(context.Background(), func(tx *store.Tx) error {
		var err error
		st, err = tx.AuthState(userID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func saveAuthState(t *testing.T, c *Clinic, st store.AuthState) {
	t.Helper()
	if err := c.db.Update(context.Background(), func(tx *store.Tx) error { return tx.SaveAuthState(st) }); err != nil {
		t.Fatal(err)
	}
}

// noSecretsInAudit fails if any audit entry contains one of secrets.
func noSecretsInAudit(t *testing.T, c *Clinic, secrets ...string) {
	t.Helper()
	for _, e := range auditEntries(t, c) {
		for _, s := range secrets {
			if s != "" && strings.Contains(e.User+" "+e.Action+" "+e.Detail, s) {
				t.Errorf("audit entry %d holds a secret %q: %+v", e.Seq, s, e)
			}
		}
	}
}

// entriesSince returns the entries appended after n entries.
func entriesSince(t *testing.T, c *Clinic, n int) []audit.Entry {
	return auditEntries(t, c)[n:]
}

func hasAuthEntry(es []audit.Entry, user string, act Action, outcome, detailPart string) bool {
	for _, e := range es {
		if e.User == user && e.Action == string(act) && e.Outcome == outcome && strings.Contains(e.Detail, detailPart) {
			return true
		}
	}
	return false
}

func TestPasswordRules(t *testing.T) {
	for _, tc := range []struct {
		pw   string
		want error // nil: accepted; errAny: any refusal
	}{
		{"correct horse battery", nil},
		{"tuba lantern quietly", nil},
		{"Zürich Straßenbahn 7", nil},
		{strings.Repeat("long enough ", 11)[:MaxPasswordLen], nil},
		{"short", errAny},
		{strings.Repeat("x", MaxPasswordLen+1), errAny},
		{"password", ErrCommonPassword},
		{"PassWord", ErrCommonPassword}, // the list is compared without case
		{"iloveyou", ErrCommonPassword},
		{"qwertyuiop", ErrCommonPassword},
		{"ｐａｓｓｗｏｒｄ", ErrCommonPassword}, // full-width letters are the same password after NFKC
		{"Sunshine!!7", ErrCommonPasswordVariant},
		{"2024sunshine", ErrCommonPasswordVariant},
		{"pass word!", ErrCommonPasswordVariant},
		{"zzzzzzzzzzzzz", ErrPatternPassword},
		{"zxzxzxzxzx", ErrPatternPassword},
		{"hijklmnopq", ErrPatternPassword},
	} {
		err := CheckPasswordRules(tc.pw)
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("%q refused: %v", tc.pw, err)
		case tc.want == errAny && err == nil:
			t.Errorf("%q accepted", tc.pw)
		case tc.want != nil && tc.want != errAny && !errors.Is(err, tc.want):
			t.Errorf("%q: %v, want %v", tc.pw, err, tc.want)
		}
	}
	for _, tc := range []struct {
		pw, user, clinic string
		want             error
	}{
		{"ada.lovelace", "ada.lovelace", "Test Clinic", ErrPasswordIsUsername},
		{"Ada Lovelace 1815", "ada.lovelace", "Test Clinic", ErrPasswordIsUsername},
		{"quillfeather2026", "ada", "Quillfeather Family Practice", ErrPasswordIsClinic},
		{"Quillfeather Family Practice", "ada", "Quillfeather Family Practice", ErrPasswordIsClinic},
		{"Quillfeather!!", "ada", "Quillfeather Family Practice", ErrPasswordIsClinic},
		{"riverside2026", "ada", "Riverside Clinic", ErrCommonPasswordVariant}, // a listed word wins
		{"ward2026ward", "ada", "X", nil},                                      // contains "ward" but is not "ward" plus digits
		{"ward20262026", "ada", "X", ErrPasswordIsClinic},
		{"quillfeather otter tea", "ada", "Quillfeather Family Practice", nil},
	} {
		if err := CheckNewPassword(tc.pw, tc.user, tc.clinic); !errors.Is(err, tc.want) {
			t.Errorf("%q for %s at %q: %v, want %v", tc.pw, tc.user, tc.clinic, err, tc.want)
		}
	}
	if n := passwords.Len(); n != 100000 {
		t.Errorf("the blocklist has %d passwords, want 100000", n)
	}
}

var errAny = errors.New("any refusal")

func TestPasswordHashNormalizesAndKeepsCost(t *testing.T) {
	h, err := HashPassword("café au lait") // é composed
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := VerifyPassword(h, "cafe\u0301 au lait"); !ok { // é as e + combining accent
		t.Error("the same password typed with a decomposed accent does not verify")
	}
	if ok, _ := VerifyPassword(h, "cafe au lait"); ok {
		t.Error("a different password verifies")
	}
	// An unknown username costs what a known one does.
	want := fmt.Sprintf("$m=%d,t=%d,p=%d$", passwordKDF.memory, passwordKDF.time, passwordKDF.threads)
	if !strings.Contains(dummyHash, want) {
		t.Errorf("dummyHash %s does not have the password cost %s", dummyHash, want)
	}
	if ok, err := VerifyPassword(dummyHash, "anything"); err != nil || ok {
		t.Errorf("dummyHash: %v %v", ok, err)
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$aGFzaA", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA"} {
		if _, err := VerifyPassword(bad, "x"); err == nil {
			t.Errorf("a damaged hash %q verified without error", bad)
		}
	}
}

func TestBackoffSchedule(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 0, 4: 0, 5: 30 * time.Second, 6: time.Minute, 7: 2 * time.Minute,
		8: 4 * time.Minute, 9: 8 * time.Minute, 10: 15 * time.Minute, 11: 15 * time.Minute, 99: 15 * time.Minute} {
		if got := backoff(n); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{30 * time.Second: "30 seconds", time.Second: "1 second",
		90 * time.Second: "1 minute 30 seconds", 15 * time.Minute: "15 minutes", 1500 * time.Millisecond: "2 seconds",
		8 * time.Hour: "8 hours", 90 * time.Minute: "1 hour 30 minutes"} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestLockoutBackoffAndRestart(t *testing.T) {
	ctx := context.Background()
	c, clock, admin, dir := authClinic(t)
	ada := addPerson(t, admin, "ada", "analytical engine", RoleClinician)
	wrong := func() error { _, err := c.SignIn(ctx, "ada", "difference engine"); return err }

	n := len(auditEntries(t, c))
	for i := 1; i <= FreeFailures; i++ {
		if err := wrong(); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	es := entriesSince(t, c, n)
	if !hasAuthEntry(es, ada.ID, ActSignIn, audit.OutcomeFailure, "wrong password (5 in a row)") ||
		!hasAuthEntry(es, ada.ID, ActLockout, audit.OutcomeSuccess, "paused for 30 seconds after 5 failures") {
		t.Fatalf("failures and the pause not audited: %+v", es)
	}
	if st := authState(t, c, ada.ID); st.Failures != 5 || !st.LockedUntil.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("state after 5 failures: %+v", st)
	}

	// During the pause even the right password is refused, unchecked.
	clock.Advance(10 * time.Second)
	_, err := c.SignIn(ctx, "ada", "analytical engine")
	var lo *LockedOutError
	if !errors.As(err, &lo) || !lo.Until.Equal(t0.Add(30*time.Second)) || lo.Left != 20*time.Second {
		t.Fatalf("sign-in during the pause: %v", err)
	}
	if !strings.Contains(err.Error(), "wait 20 seconds") || !IsSignInRefusal(err) {
		t.Errorf("pause message: %q", err)
	}
	if e := lastEntry(t, c); e.Outcome != audit.OutcomeDenied || e.User != ada.ID || !strings.Contains(e.Detail, "not checked") {
		t.Errorf("refusal during the pause audited as %+v", e)
	}
	if st := authState(t, c, ada.ID); st.Failures != 5 {
		t.Errorf("a refused attempt was counted: %+v", st)
	}

	// Each further failure doubles the pause, up to 15 minutes.
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute} {
		clock.Advance(MaxBackoff)
		if err := wrong(); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v", 6+i, err)
		}
		if st := authState(t, c, ada.ID); !st.LockedUntil.Equal(clock.Now().Add(want)) {
			t.Fatalf("after failure %d the pause ends %v, want %v later", 6+i, st.LockedUntil, want)
		}
	}

	// The counters are in the database: closing and reopening Ward (a
	// restart, a reboot) does not reset them.
	c.Close()
	c2, err := Open(ctx, dir, osKeyring)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetClock(clock)
	if _, err := c2.SignIn(ctx, "ada", "analytical engine"); !errors.As(err, &lo) {
		t.Fatalf("after a restart, during the pause: %v", err)
	}
	clock.Advance(MaxBackoff)
	s, err := c2.SignIn(ctx, "ada", "analytical engine")
	if err != nil {
		t.Fatalf("after the pause, the right password: %v", err)
	}
	if st := authState(t, c2, ada.ID); st.Failures != 0 || !st.LockedUntil.IsZero() || !st.PasswordAt.Equal(clock.Now().Truncate(time.Second)) {
		t.Errorf("success did not reset the counters: %+v", st)
	}
	noSecretsInAudit(t, c2, "analytical engine", "difference engine")
	s.SignOut(ctx)
}

func TestAdminLockAtHundredAndUnlock(t *testing.T) {
	ctx := context.Background()
	c, clock, admin, _ := authClinic(t)
	ada := addPerson(t, admin, "ada", "analytical engine", RoleClinician)
	fd := addPerson(t, admin, "fd", "front desk pass", RoleFrontDesk)
	for i := 1; i <= AdminLockAt; i++ {
		clock.Advance(MaxBackoff)
		if _, err := c.SignIn(ctx, "ada", fmt.Sprintf("guess number %d", i)); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if e := lastEntry(t, c); e.Action != string(ActLockout) || !strings.Contains(e.Detail, "locked after 100 failures") {
		t.Fatalf("the administrator lock is audited as %+v", e)
	}
	clock.Advance(24 * time.Hour) // no pause ends it
	if _, err := c.SignIn(ctx, "ada", "analytical engine"); !errors.Is(err, ErrAccountLocked) {
		t.Fatalf("the right password on a locked account: %v", err)
	}

	// Only an administrator or security officer lifts it.
	fds := signIn(t, c, "fd", "front desk pass")
	var de *DeniedError
	if err := fds.UnlockAccount(ctx, "ada"); !errors.As(err, &de) {
		t.Fatalf("front desk unlocking an account: %v", err)
	}
	if err := admin.UnlockAccount(ctx, "nobody"); err == nil {
		t.Fatal("unlocking an unknown user succeeded")
	}
	admin = signIn(t, c, "root", adminPW) // the first session locked itself during the 25 hours
	if err := admin.UnlockAccount(ctx, "ada"); err != nil {
		t.Fatalf("admin unlock: %v", err)
	}
	if e := lastEntry(t, c); e.Action != string(ActUserUnlock) || e.User != admin.User().ID || !strings.Contains(e.Detail, ada.ID) {
		t.Fatalf("unlock audited as %+v", e)
	}
	if st := authState(t, c, ada.ID); st.AdminLocked || st.Failures != 0 || !st.LockedUntil.IsZero() {
		t.Fatalf("state after unlock: %+v", st)
	}
	if _, err := c.SignIn(ctx, "ada", "analytical engine"); err != nil {
		t.Fatalf("sign-in after unlock: %v", err)
	}
	_ = fd
}

func TestUnknownUsernameLikeKnown(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newClinic(t) // real password cost for root
	n := len(auditEntries(t, c))
	// The faster of two tries each, so a busy machine's pauses do not
	// decide the comparison (two failures stay below the back-off).
	var errKnown, errUnknown error
	fastest := func(user string, err *error) time.Duration {
		best := time.Hour
		for range 2 {
			start := time.Now()
			_, *err = c.SignIn(ctx, user, "not the password")
			best = min(best, time.Since(start))
		}
		return best
	}
	known := fastest("root", &errKnown)
	unknown := fastest("my secret password", &errUnknown)
	if !errors.Is(errKnown, ErrBadCredentials) || errKnown.Error() != errUnknown.Error() {
		t.Fatalf("different answers: %v / %v", errKnown, errUnknown)
	}
	if unknown < known/2 {
		t.Errorf("an unknown username answers in %v, a known one in %v: the difference tells which exist", unknown, known)
	}
	c.SignIn(ctx, "nobody", "x")
	es := entriesSince(t, c, n)
	if !hasAuthEntry(es, SystemUser, ActSignIn, audit.OutcomeFailure, "unknown username") {
		t.Errorf("unknown username not audited: %+v", es)
	}
	noSecretsInAudit(t, c, "my secret password", "nobody", "not the password")
}

func TestPINUnlock(t *testing.T) {
	ctx := context.Background()
	c, clock, admin, _ := authClinic(t)
	ada := addPerson(t, admin, "ada", "analytical engine", RoleClinician)
	addPerson(t, admin, "bob", "babbage's engine", RoleClinician)
	s := signIn(t, c, "ada", "analytical engine")
	bob := signIn(t, c, "bob", "babbage's engine")

	for _, bad := range []string{"123", "1234567890123", "12a4", "0000", "1234", "4321", "1212", "123123", " 2580"} {
		if err := s.SetPIN(ctx, "analytical engine", bad); !errors.Is(err, ErrBadPIN) {
			t.Errorf("PIN %q: %v", bad, err)
		}
	}
	if err := s.SetPIN(ctx, "wrong password", "2580"); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("setting a PIN with the wrong password: %v", err)
	}
	if err := s.SetPIN(ctx, "analytical engine", "2580"); err != nil {
		t.Fatal(err)
	}
	if e := lastEntry(t, c); e.Action != string(ActPINSet) || e.Outcome != audit.OutcomeSuccess || e.User != ada.ID {
		t.Fatalf("PIN set audited as %+v", e)
	}
	if err := bob.SetPIN(ctx, "babbage's engine", "7319"); err != nil {
		t.Fatal(err)
	}
	if err := s.UnlockWithPIN(ctx, "2580"); !errors.Is(err, ErrNotLocked) {
		t.Fatalf("PIN on an unlocked session: %v", err)
	}

	s.Lock(ctx, "user")
	if err := s.UnlockWithPIN(ctx, "7319"); !errors.Is(err, ErrWrongPIN) { // another person's PIN never unlocks
		t.Fatalf("bob's PIN on ada's session: %v", err)
	}
	if err := s.UnlockWithPIN(ctx, "2580"); err != nil || s.Locked() {
		t.Fatalf("PIN unlock: %v", err)
	}
	if e := lastEntry(t, c); e.Action != string(ActUnlock) || e.Detail != "unlocked with PIN" {
		t.Fatalf("PIN unlock audited as %+v", e)
	}
	if st := authState(t, c, ada.ID); st.PINFailures != 0 {
		t.Errorf("a right PIN left %d failures", st.PINFailures)
	}

	// Five wrong PINs: the PIN stops working, even the right one.
	s.Lock(ctx, "user")
	for i := 1; i < MaxPINFailures; i++ {
		err := s.UnlockWithPIN(ctx, "9999")
		left := fmt.Sprintf("%d more tries", MaxPINFailures-i)
		if MaxPINFailures-i == 1 {
			left = "one more wrong PIN"
		}
		if !errors.Is(err, ErrWrongPIN) || !strings.Contains(err.Error(), left) {
			t.Fatalf("wrong PIN %d: %v", i, err)
		}
	}
	if err := s.UnlockWithPIN(ctx, "9999"); !errors.Is(err, ErrPasswordRequired) {
		t.Fatalf("fifth wrong PIN: %v", err)
	}
	if e := lastEntry(t, c); e.Action != string(ActLockout) || !strings.Contains(e.Detail, "5 wrong PINs") {
		t.Errorf("PIN lock audited as %+v", e)
	}
	if err := s.UnlockWithPIN(ctx, "2580"); !errors.Is(err, ErrPasswordRequired) || !s.Locked() {
		t.Fatalf("right PIN after five wrong: %v", err)
	}
	if err := s.UnlockWithPassword(ctx, "analytical engine"); err != nil || s.Locked() {
		t.Fatalf("password unlock: %v", err)
	}
	if st := authState(t, c, ada.ID); st.PINFailures != 0 || !st.PasswordAt.Equal(clock.Now()) {
		t.Errorf("password unlock did not clear wrong PINs or restart the window: %+v", st)
	}
	s.Lock(ctx, "user")
	if err := s.UnlockWithPIN(ctx, "2580"); err != nil {
		t.Fatalf("PIN after a password unlock: %v", err)
	}

	// The window: 8 hours after the last password here, by default.
	clock.Advance(8*time.Hour - time.Second)
	s.Lock(ctx, "idle")
	if err := s.UnlockWithPIN(ctx, "2580"); err != nil {
		t.Fatalf("PIN just inside the window: %v", err)
	}
	clock.Advance(time.Second)
	s.Lock(ctx, "idle")
	if err := s.UnlockWithPIN(ctx, "2580"); !errors.Is(err, ErrPasswordRequired) {
		t.Fatalf("PIN after the window: %v", err)
	}
	if e := lastEntry(t, c); e.Outcome != audit.OutcomeDenied || !strings.Contains(e.Detail, "over 8 hours ago") {
		t.Errorf("window refusal audited as %+v", e)
	}
	if err := s.UnlockWithPassword(ctx, "wrong password"); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password at the lock screen: %v", err)
	}
	if err := s.UnlockWithPassword(ctx, "analytical engine"); err != nil {
		t.Fatal(err)
	}

	// A session whose password was typed on another workstation: this one
	// has no password_at for the person, and the PIN does not unlock.
	st := authState(t, c, ada.ID)
	st.PasswordAt = time.Time{}
	saveAuthState(t, c, st)
	s.Lock(ctx, "user")
	if err := s.UnlockWithPIN(ctx, "2580"); !errors.Is(err, ErrPasswordRequired) {
		t.Fatalf("PIN without a password on this workstation: %v", err)
	}
	if err := s.UnlockWithPassword(ctx, "analytical engine"); err != nil {
		t.Fatal(err)
	}

	// No PIN: say so. Removing the PIN is audited.
	if err := s.RemovePIN(ctx); err != nil {
		t.Fatal(err)
	}
	if has, _ := s.HasPIN(ctx); has {
		t.Error("PIN still there after RemovePIN")
	}
	s.Lock(ctx, "user")
	if err := s.UnlockWithPIN(ctx, "2580"); !errors.Is(err, ErrNoPIN) {
		t.Fatalf("unlock without a PIN set: %v", err)
	}

	// An account disabled while its session waits locked: no unlock, and
	// the session ends.
	bob.Lock(ctx, "user")
	admin = signIn(t, c, "root", adminPW)
	if err := admin.DisableUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := bob.UnlockWithPIN(ctx, "7319"); !errors.Is(err, ErrAccountDisabled) {
		t.Fatalf("PIN unlock of a disabled account: %v", err)
	}
	if err := bob.UnlockWithPassword(ctx, "babbage's engine"); !errors.Is(err, ErrSignedOut) {
		t.Fatalf("the disabled person's session did not end: %v", err)
	}
	noSecretsInAudit(t, c, "2580", "7319", "9999", "analytical engine", "babbage's engine")
}

func TestUnlockWithPasswordCountsTowardLockout(t *testing.T) {
	ctx := context.Background()
	c, clock, admin, _ := authClinic(t)
	ada := addPerson(t, admin, "ada", "analytical engine", RoleClinician)
	s := signIn(t, c, "ada", "analytical engine")
	s.Lock(ctx, "user")
	for i := 1; i <= FreeFailures; i++ {
		if err := s.UnlockWithPassword(ctx, "guess"); !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	var lo *LockedOutError
	if err := s.UnlockWithPassword(ctx, "analytical engine"); !errors.As(err, &lo) || !s.Locked() {
		t.Fatalf("unlock during the pause: %v", err)
	}
	// The pause is the person's, wherever they try: signing in anew too.
	if _, err := c.SignIn(ctx, "ada", "analytical engine"); !errors.As(err, &lo) {
		t.Fatalf("sign-in during the pause: %v", err)
	}
	clock.Advance(FirstBackoff)
	if err := s.UnlockWithPassword(ctx, "analytical engine"); err != nil {
		t.Fatal(err)
	}
	if st := authState(t, c, ada.ID); st.Failures != 0 {
		t.Errorf("counters after unlock: %+v", st)
	}
}

// RFC 6238 Appendix B, the SHA-1 rows (8 digits), and RFC 4226 Appendix D
// (HOTP, 6 digits): the algorithm matches the specification.
func TestTOTPVectors(t *testing.T) {
	key := []byte("12345678901234567890")
	for _, v := range []struct {
		unix int64
		code string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		if got := totpAt(key, time.Unix(v.unix, 0), 8); got != v.code {
			t.Errorf("TOTP at %d = %s, want %s", v.unix, got, v.code)
		}
	}
	for i, want := range []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"} {
		if got := hotp(key, uint64(i), 6); got != want {
			t.Errorf("HOTP(%d) = %s, want %s", i, got, want)
		}
	}
}

func TestTOTPSkewAndReplay(t *testing.T) {
	key := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	step := totpStep(now)
	code := func(d int64) string { return hotp(key, uint64(step+d), totpDigits) }
	for d, want := range map[int64]bool{-2: false, -1: true, 0: true, 1: true, 2: false} {
		got, ok := matchTOTP(key, code(d), now, 0)
		if ok != want || (ok && got != step+d) {
			t.Errorf("code of step %+d: ok=%v step=%d", d, ok, got)
		}
	}
	if _, ok := matchTOTP(key, code(0), now, step); ok {
		t.Error("a code was accepted twice")
	}
	if _, ok := matchTOTP(key, code(-1), now, step); ok {
		t.Error("an older code was accepted after a newer one")
	}
	if _, ok := matchTOTP(key, code(1), now, step); !ok {
		t.Error("the next code was refused after this one")
	}
	c := code(0)
	if _, ok := matchTOTP(key, c[:3]+" "+c[3:], now, 0); !ok {
		t.Error("a code typed as the app shows it (123 456) was refused")
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := matchTOTP(key, bad, now, 0); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func keyOf(t *testing.T, enr TOTPEnrollment) []byte {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enr.Secret)
	if err != nil || len(key) != totpSecretLen {
		t.Fatalf("secret %q: %v (%d bytes)", enr.Secret, err, len(key))
	}
	return key
}

func TestTOTPEnrolmentAndSignIn(t *testing.T) {
	ctx := context.Background()
	c, clock, admin, _ := authClinic(t)
	ada := addPerson(t, admin, "ada", "analytical engine", RoleClinician)
	s := signIn(t, c, "ada", "analytical engine")

	enr, err := s.BeginTOTP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key := keyOf(t, enr)
	wantURI := "otpauth://totp/Ward:ada?secret=" + enr.Secret + "&issuer=Ward&algorithm=SHA1&digits=6&period=30"
	if enr.URI != wantURI {
		t.Errorf("URI %s, want %s", enr.URI, wantURI)
	}
	checkQR(t, enr.QRPNG)
	// Not in force until confirmed: sign-in still needs the password only.
	if s2, err := c.SignIn(ctx, "ada", "analytical engine"); err != nil {
		t.Fatalf("sign-in with an unconfirmed set-up: %v", err)
	} else {
		s2.SignOut(ctx)
	}
	if err := s.ConfirmTOTP(ctx, "000000"); !errors.Is(err, ErrWrongCode) {
		t.Fatalf("confirming with a wrong code: %v", err)
	}
	first := totpAt(key, clock.Now(), 6)
	if err := s.ConfirmTOTP(ctx, first); err != nil {
		t.Fatal(err)
	}
	if e := lastEntry(t, c); e.Action != string(ActTOTPEnroll) || e.Detail != "second factor turned on" {
		t.Fatalf("enrolment audited as %+v", e)
	}
	if _, err := s.BeginTOTP(ctx); !errors.Is(err, ErrTOTPAlreadyOn) {
		t.Fatalf("a second set-up over one in force: %v", err)
	}

	// Sign-in now needs the code.
	if _, err := c.SignIn(ctx, "ada", "analytical engine"); !errors.Is(err, ErrSecondFactorNeeded) {
		t.Fatalf("password only: %v", err)
	}
	if st := authState(t, c, ada.ID); st.Failures != 0 {
		t.Errorf("a right password waiting for its code counted as a failure: %+v", st)
	}
	if _, err := c.SignInWithTOTP(ctx, "ada", "analytical engine", first); !errors.Is(err, ErrWrongCode) {
		t.Fatalf("the confirmation code replayed at sign-in: %v", err)
	}
	if _, err := c.SignInWithTOTP(ctx, "ada", "wrong password", totpAt(key, clock.Now(), 6)); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong password, good code: %v", err)
	}
	clock.Advance(30 * time.Second)
	code := totpAt(key, clock.Now(), 6)
	s3, err := c.SignInWithTOTP(ctx, "ada", "analytical engine", code)
	if err != nil {
		t.Fatalf("password and code: %v", err)
	}
	if e := lastEntry(t, c); e.Action != string(ActSignIn) || e.Outcome != audit.OutcomeSuccess || e.Detail != "password+totp" {
		t.Errorf("sign-in audited as %+v", e)
	}
	if _, err := c.SignInWithTOTP(ctx, "ada", "analytical engine", code); !errors.Is(err, ErrWrongCode) {
		t.Fatalf("the same code twice: %v", err)
	}
	clock.Advance(30 * time.Second)
	late := totpAt(key, clock.Now().Add(-30*time.Second), 6) // the phone is a step behind
	if _, err := c.SignInWithTOTP(ctx, "ada", "analytical engine", late); err == nil {
		t.Fatal("a code older than the last accepted one was accepted")
	}
	clock.Advance(30 * time.Second)
	late = totpAt(key, clock.Now().Add(-30*time.Second), 6)
	if _, err := c.SignInWithTOTP(ctx, "ada", "analytical engine", late); err != nil {
		t.Fatalf("a code one step late: %v", err)
	}

	// Guessing codes counts like guessing passwords.
	clock.Advance(MaxBackoff)
	for i := 1; i <= FreeFailures; i++ {
		if _, err := c.SignInWithTOTP(ctx, "ada", "analytical engine", fmt.Sprintf("%06d", i)); !errors.Is(err, ErrWrongCode) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	var lo *LockedOutError
	if _, err := c.SignInWithTOTP(ctx, "ada", "analytical engine", totpAt(key, clock.Now(), 6)); !errors.As(err, &lo) {
		t.Fatalf("after %d wrong codes: %v", FreeFailures, err)
	}
	if !hasAuthEntry(auditEntries(t, c), ada.ID, ActSignIn, audit.OutcomeFailure, "wrong second-factor code") {
		t.Error("wrong codes not audited")
	}

	// Turning it off needs the password.
	clock.Advance(MaxBackoff)
	s3, err = c.SignInWithTOTP(ctx, "ada", "analytical engine", totpAt(key, clock.Now(), 6))
	if err != nil {
		t.Fatal(err)
	}
	if err := s3.DisableTOTP(ctx, "guess"); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("disable with a wrong password: %v", err)
	}
	if err := s3.DisableTOTP(ctx, "analytical engine"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SignIn(ctx, "ada", "analytical engine"); err != nil {
		t.Fatalf("sign-in after turning TOTP off: %v", err)
	}
	noSecretsInAudit(t, c, enr.Secret, first, code, "analytical engine")
}

// checkQR decodes the PNG: a square image of a size a phone can read off a
// screen, white quiet zone, the finder pattern's dark corner where QR puts it.
func checkQR(t *testing.T, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("QR code is not a PNG: %v", err)
	}
	r := img.Bounds()
	if r.Dx() != r.Dy() || r.Dx() < 200 || r.Dx() > 1200 {
		t.Fatalf("QR code is %dx%d", r.Dx(), r.Dy())
	}
	dark := func(x, y int) bool { g := color.GrayModel.Convert(img.At(x, y)).(color.Gray); return g.Y < 128 }
	const scale, quiet = 8, 4 * 8
	if dark(0, 0) || dark(quiet-1, quiet-1) || dark(r.Dx()-1, r.Dy()-1) {
		t.Error("the quiet zone is not white")
	}
	// The top-left finder pattern: a dark 7×7 ring with a light ring inside.
	if !dark(quiet, quiet) || !dark(quiet+6*scale, quiet) || dark(quiet+scale+1, quiet+scale+1) || !dark(quiet+3*scale, quiet+3*scale) {
		t.Error("no finder pattern at the top left")
	}
}

func TestTOTPRequiredByRole(t *testing.T) {
	ctx := context.Background()
	c, clock, admin, _ := authClinic(t)
	ada := addPerson(t, admin, "ada", "analytical engine", RoleClinician)
	addPerson(t, admin, "fd", "front desk pass", RoleFrontDesk)
	if err := admin.SetSetting(ctx, SettingTOTPRoles, RoleClinician); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SignIn(ctx, "fd", "front desk pass"); err != nil {
		t.Fatalf("a role without the requirement: %v", err)
	}
	_, err := c.SignIn(ctx, "ada", "analytical engine")
	if !errors.Is(err, ErrTOTPEnrolmentNeeded) || !IsSignInRefusal(err) {
		t.Fatalf("clinician without TOTP: %v", err)
	}
	if _, err := c.SignInWithTOTP(ctx, "ada", "analytical engine", "123456"); !errors.Is(err, ErrTOTPEnrolmentNeeded) {
		t.Fatalf("a code with nothing set up: %v", err)
	}
	if _, err := c.BeginTOTPAtSignIn(ctx, "ada", "wrong"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("set-up at sign-in with a wrong password: %v", err)
	}
	if _, err := c.BeginTOTPAtSignIn(ctx, "fd", "front desk pass"); err == nil {
		t.Fatal("set-up at sign-in for a role that does not require it")
	}
	enr, err := c.BeginTOTPAtSignIn(ctx, "ada", "analytical engine")
	if err != nil {
		t.Fatal(err)
	}
	key := keyOf(t, enr)
	if _, err := c.SignInWithTOTP(ctx, "ada", "analytical engine", "000000"); !errors.Is(err, ErrWrongCode) {
		t.Fatalf("wrong first code: %v", err)
	}
	s, err := c.SignInWithTOTP(ctx, "ada", "analytical engine", totpAt(key, clock.Now(), 6))
	if err != nil {
		t.Fatalf("first code at sign-in: %v", err)
	}
	if !hasAuthEntry(auditEntries(t, c), ada.ID, ActTOTPEnroll, audit.OutcomeSuccess, "turned on at sign-in") {
		t.Error("enrolment at sign-in not audited")
	}
	clock.Advance(30 * time.Second)
	if _, err := c.SignIn(ctx, "ada", "analytical engine"); !errors.Is(err, ErrSecondFactorNeeded) {
		t.Fatalf("after enrolment: %v", err)
	}
	// A lost phone: an administrator removes the factor; the person sets up
	// a new one at the next sign-in.
	if err := admin.ResetTOTP(ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SignIn(ctx, "ada", "analytical engine"); !errors.Is(err, ErrTOTPEnrolmentNeeded) {
		t.Fatalf("after the reset: %v", err)
	}
	if err := s.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestChangePassword(t *testing.T) {
	ctx := context.Background()
	c, clock, admin, _ := authClinic(t)
	ada := addPerson(t, admin, "ada", "analytical engine", RoleClinician)
	s := signIn(t, c, "ada", "analytical engine")
	if err := s.ChangePassword(ctx, "wrong", "brass gears turning"); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong current password: %v", err)
	}
	if e := lastEntry(t, c); e.Action != string(ActPasswordSet) || e.Outcome != audit.OutcomeFailure {
		t.Errorf("wrong current password audited as %+v", e)
	}
	for bad, want := range map[string]error{"sunshine": ErrCommonPassword, "Ada2026!": ErrPasswordIsUsername, "Test Clinic": ErrPasswordIsClinic} {
		if err := s.ChangePassword(ctx, "analytical engine", bad); !errors.Is(err, want) {
			t.Errorf("new password %q: %v, want %v", bad, err, want)
		}
	}
	clock.Advance(time.Minute)
	if err := s.ChangePassword(ctx, "analytical engine", "brass gears turning"); err != nil {
		t.Fatal(err)
	}
	if e := lastEntry(t, c); e.Action != string(ActPasswordSet) || e.Outcome != audit.OutcomeSuccess || e.User != ada.ID {
		t.Errorf("change audited as %+v", e)
	}
	if _, err := c.SignIn(ctx, "ada", "analytical engine"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("the old password still works: %v", err)
	}
	if _, err := c.SignIn(ctx, "ada", "brass gears turning"); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	var cr store.Credentials
	c.db.Update(ctx, func(tx *store.Tx) error { cr, _ = tx.Credentials(ada.ID); return nil })
	if !cr.PasswordChangedAt.Equal(clock.Now()) {
		t.Errorf("password_changed_at %v, want %v", cr.PasswordChangedAt, clock.Now())
	}
	// The session's own re-authentication uses the new password.
	if err := s.SetPIN(ctx, "brass gears turning", "2580"); err != nil {
		t.Fatalf("PIN with the new password: %v", err)
	}
	noSecretsInAudit(t, c, "analytical engine", "brass gears turning", "sunshine")
}

func TestClearAfterReset(t *testing.T) {
	c, clock, admin, _ := authClinic(t)
	ada := addPerson(t, admin, "ada", "analytical engine", RoleClinician)
	saveAuthState(t, c, store.AuthState{UserID: ada.ID, Failures: 100, LockedUntil: clock.Now().Add(time.Hour), AdminLocked: true,
		PasswordAt: clock.Now(), PINFailures: 5, LastTOTPStep: 42})
	if err := c.db.Update(context.Background(), func(tx *store.Tx) error { return clearAfterReset(tx, ada.ID) }); err != nil {
		t.Fatal(err)
	}
	// A fresh start, but a used TOTP code stays used.
	if st := authState(t, c, ada.ID); st != (store.AuthState{UserID: ada.ID, LastTOTPStep: 42}) {
		t.Fatalf("after a reset: %+v", st)
	}
}
