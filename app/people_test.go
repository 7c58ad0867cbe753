package app

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"ward/store"
	"ward/store/audit"
)

// fakeClock is a settable wall clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// staff adds one person per role (password "<role> password") and signs
// each in.
func staff(t *testing.T, c *Clinic) map[string]*Session {
	t.Helper()
	ctx := context.Background()
	admin := signIn(t, c, "root", adminPW)
	out := map[string]*Session{}
	for _, r := range AllRoles {
		if _, err := admin.AddUser(ctx, NewUser{Username: "u-" + r, Roles: []string{r}, Password: r + " password"}); err != nil {
			t.Fatal(err)
		}
		out[r] = signIn(t, c, "u-"+r, r+" password")
	}
	return out
}

// TestPermissionMatrix drives every role through every action of the
// permission table, and checks both the answer and the audit entry.
func TestPermissionMatrix(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newClinic(t)
	people := staff(t, c)
	var acts []Action
	for a := range permissions {
		acts = append(acts, a)
	}
	sort.Slice(acts, func(i, j int) bool { return acts[i] < acts[j] })
	for _, role := range AllRoles {
		s := people[role]
		for _, act := range acts {
			want := false
			for _, r := range permissions[act] {
				want = want || r == role
			}
			ran := false
			err := s.Do(ctx, act, "", func(tx *store.Tx, w *Work) error { ran = true; return nil })
			e := lastEntry(t, c)
			if e.Action != string(act) || e.User != s.User().ID {
				t.Fatalf("%s/%s: last audit entry is %+v", role, act, e)
			}
			if want {
				if err != nil || !ran || e.Outcome != audit.OutcomeSuccess {
					t.Errorf("%s may %s: err=%v ran=%v outcome=%s", role, act, err, ran, e.Outcome)
				}
				continue
			}
			var de *DeniedError
			if !errors.As(err, &de) || ran || e.Outcome != audit.OutcomeDenied {
				t.Errorf("%s may not %s: err=%v ran=%v outcome=%s", role, act, err, ran, e.Outcome)
			}
		}
	}
}

func TestAutoLockOnWallClock(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newClinic(t)
	clock := &fakeClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	c.SetClock(clock)
	people := staff(t, c)
	fd := people[RoleFrontDesk]
	if fd.IdleTimeout() != 15*time.Minute {
		t.Fatalf("default idle timeout %v, want 15m", fd.IdleTimeout())
	}
	work := func(s *Session) error {
		return s.Do(ctx, ActPatientSearch, "", func(tx *store.Tx, w *Work) error { return nil })
	}
	clock.Advance(14 * time.Minute)
	if err := work(fd); err != nil {
		t.Fatalf("after 14 idle minutes: %v", err)
	}
	clock.Advance(10 * time.Minute) // the work above was activity
	fd.Touch()
	clock.Advance(14*time.Minute + 59*time.Second)
	if fd.CheckIdle(ctx) || fd.IdleRemaining() != time.Second {
		t.Fatalf("locked too early; remaining %v", fd.IdleRemaining())
	}
	clock.Advance(time.Second)
	if !fd.CheckIdle(ctx) {
		t.Fatal("not locked at the timeout")
	}
	if e := lastEntry(t, c); e.Action != string(ActLock) || e.Detail != "locked: idle" || e.User != fd.User().ID {
		t.Fatalf("lock audited as %+v", e)
	}
	if err := work(fd); !errors.Is(err, ErrLocked) {
		t.Fatalf("work on a locked session: %v", err)
	}
	fd.Touch() // input at the lock screen does not unlock
	if !fd.Locked() {
		t.Fatal("touch unlocked the session")
	}

	// A machine that sleeps past the timeout: the clock jumps, no timer
	// ran, and the very next request finds the session locked.
	cl := people[RoleClinician]
	cl.Touch()
	clock.Advance(3 * time.Hour)
	if err := work(cl); !errors.Is(err, ErrLocked) {
		t.Fatalf("after a suspend jump: %v", err)
	}

	// Per-role timeouts; a person with several roles gets the shortest.
	if err := work(people[RoleAdmin]); !errors.Is(err, ErrLocked) {
		t.Fatalf("every idle session is locked after the jump: %v", err)
	}
	admin := signIn(t, c, "u-admin", "admin password")
	if err := admin.SetSetting(ctx, SettingIdlePrefix+RoleFrontDesk, "5"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"0", "61", "x"} {
		var ve *ValidationError
		if err := admin.SetSetting(ctx, SettingIdlePrefix+RoleFrontDesk, bad); !errors.As(err, &ve) {
			t.Errorf("idle timeout %q accepted: %v", bad, err)
		}
	}
	admin.AddUser(ctx, NewUser{Username: "both", Roles: []string{RoleClinician, RoleFrontDesk}, Password: "two roles password"})
	both := signIn(t, c, "both", "two roles password")
	if both.IdleTimeout() != 5*time.Minute {
		t.Fatalf("two roles: timeout %v, want the shorter 5m", both.IdleTimeout())
	}
	// Explicit lock and sign-out are audited too.
	both.Lock(ctx, "user")
	if e := lastEntry(t, c); e.Detail != "locked: user" {
		t.Fatalf("explicit lock audited as %+v", e)
	}
	both.SignOut(ctx)
	if err := work(both); !errors.Is(err, ErrLocked) && !errors.Is(err, ErrSignedOut) {
		t.Fatalf("work after sign-out: %v", err)
	}
}

func TestFastUserSwitch(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newClinic(t)
	people := staff(t, c)
	desk := NewDesk()
	fd, cl := people[RoleFrontDesk], people[RoleClinician]
	if err := desk.Present(ctx, fd); err != nil {
		t.Fatal(err)
	}
	if err := desk.Present(ctx, cl); err != nil { // the clinician signs in at the lock screen
		t.Fatal(err)
	}
	if !fd.Locked() || cl.Locked() || desk.Front() != cl {
		t.Fatalf("after switching: front desk locked=%v, clinician locked=%v", fd.Locked(), cl.Locked())
	}
	if e := auditEntries(t, c); !hasEntry(e, fd.User().ID, ActLock, "locked: switch") {
		t.Fatal("the switch lock is not audited")
	}
	err := fd.Do(ctx, ActPatientSearch, "", func(tx *store.Tx, w *Work) error { return nil })
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("the locked session still works: %v", err)
	}
	if w := desk.Waiting(); len(w) != 1 || w[0] != fd {
		t.Fatalf("waiting sessions: %v", w)
	}
	if err := desk.Resume(ctx, fd); !errors.Is(err, ErrLocked) {
		t.Fatalf("resumed a locked session: %v", err)
	}
}

func hasEntry(es []audit.Entry, user string, act Action, detail string) bool {
	for _, e := range es {
		if e.User == user && e.Action == string(act) && e.Detail == detail {
			return true
		}
	}
	return false
}

func TestRestrictedChart(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newClinic(t)
	people := staff(t, c)
	admin := people[RoleAdmin]
	admin.AddUser(ctx, NewUser{Username: "dr-named", Roles: []string{RoleClinician}, Password: "named clinician pw"})
	named := signIn(t, c, "dr-named", "named clinician pw")
	p, err := people[RoleFrontDesk].RegisterPatient(ctx, NewPatient{Name: "Staff Member", BirthDate: "1980-02-02"})
	if err != nil {
		t.Fatal(err)
	}
	if err := people[RoleSecurity].RestrictPatient(ctx, p.ID, []string{"dr-named"}); err != nil {
		t.Fatal(err)
	}
	if err := people[RoleSecurity].RestrictPatient(ctx, p.ID, []string{"u-frontdesk"}); err == nil {
		t.Fatal("a front-desk person was named for a restricted chart")
	}
	chart := func(s *Session) error {
		return s.Do(ctx, ActChartRead, p.ID, func(tx *store.Tx, w *Work) error { return nil })
	}
	var de *DeniedError
	if err := chart(people[RoleClinician]); !errors.As(err, &de) || de.Reason == "" {
		t.Fatalf("another clinician opened the restricted chart: %v", err)
	}
	if e := lastEntry(t, c); e.Outcome != audit.OutcomeDenied || e.Patient != p.ID || e.Detail != "restricted chart" {
		t.Fatalf("restricted denial audited as %+v", e)
	}
	if err := chart(named); err != nil {
		t.Fatalf("the named clinician: %v", err)
	}
	// Demographics stay open to the front desk (they book the visits).
	if _, err := people[RoleFrontDesk].Patient(ctx, p.ID); err != nil {
		t.Fatalf("front desk demographics: %v", err)
	}
	if err := people[RoleSecurity].UnrestrictPatient(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := chart(people[RoleClinician]); err != nil {
		t.Fatalf("after lifting the restriction: %v", err)
	}
}

func TestUserAdministration(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newClinic(t)
	people := staff(t, c)
	sec := people[RoleSecurity]
	if err := sec.DisableUser(ctx, "u-frontdesk"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SignIn(ctx, "u-frontdesk", "frontdesk password"); err == nil {
		t.Fatal("a disabled user signed in")
	}
	if e := lastEntry(t, c); e.Outcome != audit.OutcomeDenied || e.Action != string(ActSignIn) {
		t.Fatalf("disabled sign-in audited as %+v", e)
	}
	if err := sec.EnableUser(ctx, "u-frontdesk"); err != nil {
		t.Fatal(err)
	}
	signIn(t, c, "u-frontdesk", "frontdesk password")
	if err := sec.SetRoles(ctx, "u-frontdesk", []string{RoleFrontDesk, RoleClinician}); err != nil {
		t.Fatal(err)
	}
	if s := signIn(t, c, "u-frontdesk", "frontdesk password"); !s.User().HasRole(RoleClinician) {
		t.Fatal("roles not changed")
	}
	if err := sec.DisableUser(ctx, "u-security"); err == nil {
		t.Fatal("disabled own account")
	}
	// The clinic keeps an administrator: root and u-admin are admins; take
	// one away, then the last one is protected.
	if err := sec.SetRoles(ctx, "u-admin", []string{RoleFrontDesk}); err != nil {
		t.Fatal(err)
	}
	if err := sec.SetRoles(ctx, "root", []string{RoleSecurity}); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("removed the last admin: %v", err)
	}
	if err := sec.DisableUser(ctx, "root"); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("disabled the last admin: %v", err)
	}
	if err := sec.SetRoles(ctx, "nobody", []string{RoleAdmin}); err == nil {
		t.Fatal("changed roles of a user that does not exist")
	}
	if err := people[RoleFrontDesk].DisableUser(ctx, "u-admin"); err == nil {
		t.Fatal("front desk disabled a user")
	}
}

func TestSettingsValidation(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newClinic(t)
	admin := signIn(t, c, "root", adminPW)
	for k, v := range map[string]string{SettingPINWindow: "12", SettingTOTPRoles: "admin,security", SettingLockOnFocusLoss: "1"} {
		if err := admin.SetSetting(ctx, k, v); err != nil {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
	for k, v := range map[string]string{SettingPINWindow: "25", SettingTOTPRoles: "boss", SettingLockOnFocusLoss: "yes",
		"no.such.setting": "1", SettingIdlePrefix + "janitor": "5"} {
		if err := admin.SetSetting(ctx, k, v); err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
	vals, err := admin.Settings(ctx)
	if err != nil || vals[SettingPINWindow] != "12" || vals[SettingIdlePrefix+RoleClinician] != "15" {
		t.Fatalf("settings: %v %v", vals, err)
	}
}
