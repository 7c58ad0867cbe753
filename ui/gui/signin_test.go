package gui

import (
	"context"
	"strings"
	"testing"
	"time"

	"ward/app"
	"ward/store/audit"
)

// A wrong password says so, keeps the person on the sign-in screen, and
// the right one opens the shell with the tabs of the person's roles and a
// title naming the clinic and the person.
func TestSignInAndRoleTabs(t *testing.T) {
	u := newTestUI(t, testClinic(t))
	typeSignIn(u, "frontdesk", "not the password")
	if u.current() != nil {
		t.Fatal("a wrong password opened the shell")
	}
	if got := u.signin.message.Text; !strings.Contains(got, "username or password is not right") {
		t.Fatalf("message after a wrong password = %q", got)
	}
	sh := signInAs(t, u, "frontdesk")
	if got, want := u.win.Title(), "Frank Desk — Riverside Demo Clinic — Ward"; got != want {
		t.Errorf("title = %q, want %q", got, want)
	}
	var tabs []string
	for _, it := range sh.tabs.Items {
		tabs = append(tabs, it.Text)
	}
	if got := strings.Join(tabs, ","); got != "Patients,Schedule" {
		t.Errorf("front desk tabs = %s, want Patients,Schedule", got)
	}
}

// Lock, then the lock screen: no name of a patient, the person's name, and
// the PIN is refused when none is set (the password is asked instead);
// the password unlocks back into the same session. Lock and unlock are in
// the audit chain.
func TestLockAndUnlock(t *testing.T) {
	c := testClinic(t)
	u := newTestUI(t, c)
	sh := signInAs(t, u, "clinician")
	tap(u, sh.lock)
	if u.current() != nil {
		t.Fatal("Lock left the shell showing")
	}
	if !sh.s.Locked() {
		t.Fatal("the session is not locked")
	}
	if got := u.win.Title(); strings.Contains(got, "Clara") {
		t.Errorf("locked window title names the person: %q", got)
	}
	text := visibleText(u)
	if !strings.Contains(text, "Ward is locked") || !strings.Contains(text, "Dr. Clara Lin") {
		t.Fatalf("lock screen shows:\n%s", text)
	}
	f := u.signin
	f.secret.SetText("4321")
	tap(u, f.unlockSubmit)
	if !strings.Contains(u.signin.message.Text, "not set a PIN") || !u.signin.usePassword {
		t.Fatalf("PIN without a PIN set: message %q, password mode %v", u.signin.message.Text, u.signin.usePassword)
	}
	u.signin.secret.SetText(app.DemoPassword)
	tap(u, u.signin.unlockSubmit)
	if u.current() == nil || u.current().s != sh.s {
		t.Fatal("the password did not bring back the same session")
	}
	assertAudited(t, c, "user.lock", "user.unlock")
}

// Fast user switching: a second person signs in at the lock screen; the
// first session waits locked and can be unlocked afterwards.
func TestSwitchUser(t *testing.T) {
	u := newTestUI(t, testClinic(t))
	first := signInAs(t, u, "frontdesk")
	tap(u, first.switchU)
	second := signInAs(t, u, "clinician")
	if second.s == first.s || !first.s.Locked() {
		t.Fatal("the first session was not locked behind the second")
	}
	tap(u, second.lock)
	text := visibleText(u)
	if !strings.Contains(text, "Dr. Clara Lin") {
		t.Fatalf("lock screen after switching:\n%s", text)
	}
	tap(u, u.signin.otherUser)
	if len(u.signin.waiting) != 2 {
		t.Fatalf("sign-in screen lists %d locked sessions, want 2", len(u.signin.waiting))
	}
}

// Auto-lock: the idle check locks the session in front at its timeout and
// shows the lock screen; the countdown shows in the last 30 seconds.
func TestAutoLockShowsLockScreen(t *testing.T) {
	c := testClinic(t)
	clock := &fakeClock{t: time.Now()}
	c.SetClock(clock)
	u := newTestUI(t, c)
	sh := signInAs(t, u, "frontdesk")
	clock.add(sh.s.IdleTimeout() - 20*time.Second)
	u.checkIdle()
	if !sh.countdown.Visible() || !strings.Contains(sh.countdown.Text, "Locking in 20 s") {
		t.Fatalf("countdown = %q (visible %v)", sh.countdown.Text, sh.countdown.Visible())
	}
	u.touch()
	u.checkIdle()
	if sh.countdown.Visible() {
		t.Fatal("activity did not clear the countdown")
	}
	clock.add(sh.s.IdleTimeout())
	u.checkIdle()
	if u.current() != nil || !sh.s.Locked() {
		t.Fatal("the session did not lock at its idle timeout")
	}
}

// The idle check sleeps until the screen can next change: the next whole
// second of the time left (the countdown's next number, or the lock
// itself), never more than a second (timers stop while the machine
// sleeps), and it locks on time.
func TestIdleCheckWakesWhenTheScreenChanges(t *testing.T) {
	c := testClinic(t)
	clock := &fakeClock{t: time.Now()}
	c.SetClock(clock)
	u := newTestUI(t, c)
	sh := signInAs(t, u, "frontdesk")
	clock.add(sh.s.IdleTimeout() - warnBefore - 250*time.Millisecond)
	if got := u.checkIdle(); got != 250*time.Millisecond {
		t.Fatalf("30.25 s before the lock the check sleeps %v, want 250ms (when the countdown starts)", got)
	}
	if sh.countdown.Visible() {
		t.Fatal("the countdown shows 30.25 s before the lock")
	}
	clock.add(250 * time.Millisecond)
	if got := u.checkIdle(); got != time.Second || !strings.Contains(sh.countdown.Text, "Locking in 30 s") {
		t.Fatalf("at 30 s: sleeps %v, countdown %q", got, sh.countdown.Text)
	}
	clock.add(29*time.Second + 600*time.Millisecond)
	if got := u.checkIdle(); got != 400*time.Millisecond || !strings.Contains(sh.countdown.Text, "Locking in 1 s") {
		t.Fatalf("0.4 s before the lock: sleeps %v, countdown %q", got, sh.countdown.Text)
	}
	clock.add(400 * time.Millisecond)
	u.checkIdle()
	if u.current() != nil || !sh.s.Locked() {
		t.Fatal("the session did not lock when its time ran out")
	}
	if got := u.checkIdle(); got != time.Second {
		t.Fatalf("on the lock screen the check sleeps %v, want 1s", got)
	}
}

// fakeClock is app.Clock under the test's control.
type fakeClock struct{ t time.Time }

func (f *fakeClock) Now() time.Time      { return f.t }
func (f *fakeClock) add(d time.Duration) { f.t = f.t.Add(d) }

// assertAudited fails unless the audit chain holds each action.
func assertAudited(t *testing.T, c *app.Clinic, actions ...string) {
	t.Helper()
	got := auditActions(t, c)
	for _, a := range actions {
		if !strings.Contains(got, " "+a+" ") {
			t.Errorf("no %s entry in the audit chain: %s", a, got)
		}
	}
}

// auditActions lists the newest 1000 entries as " action outcome detail ",
// read the way the audit viewer reads them (as the demo's
// security officer, in a session of its own).
func auditActions(t *testing.T, c *app.Clinic) string {
	t.Helper()
	ctx := context.Background()
	s, err := c.SignIn(ctx, "security", app.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer s.SignOut(ctx)
	page, err := s.ReviewAudit(ctx, audit.Review{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range page {
		b.WriteString(" " + e.Action + " " + e.Outcome + " " + e.Detail + " ")
	}
	return b.String()
}
