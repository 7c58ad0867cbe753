package gui

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"ward/app"
)

// The front desk's idle timeout at its minimum (1 minute), for the real
// window tests.
var oneMinuteFrontDesk = map[string]string{app.SettingIdlePrefix + app.RoleFrontDesk: "1"}

// Auto-lock in the real window under Xvfb, driven with xdotool: moving the
// pointer — and nothing else — keeps the session open past its timeout;
// keeping still locks it within a second of the timeout, with user.lock
// "idle" in the audit chain. Both run at once, each on its own X server.
func TestIdleLockRealWindow(t *testing.T) {
	needX(t)
	timeout := time.Minute
	t.Run("pointer moves keep the session open", func(t *testing.T) {
		t.Parallel()
		dir := realDemoClinic(t, oneMinuteFrontDesk, 0)
		w := openRealWindow(t, startXvfb(t), dir)
		w.signIn("frontdesk", "Frank Desk")
		end := time.Now().Add(timeout + 10*time.Second)
		for i := 0; time.Now().Before(end); i++ {
			time.Sleep(4 * time.Second)
			w.must("mousemove", "--window", w.id, strconv.Itoa(300+(i%2)*200), strconv.Itoa(150+(i%3)*40))
			if got := w.title(); !strings.Contains(got, "Frank Desk") {
				t.Fatalf("locked after %s of pointer-only movement: title %q", time.Since(end.Add(-timeout-10*time.Second)).Round(time.Second), got)
			}
		}
		w.close()
		if got := auditOf(t, dir); strings.Contains(got, " user.lock ") {
			t.Fatalf("the audit chain has a lock although the pointer kept moving: %s", got)
		}
	})
	t.Run("stillness locks at the timeout", func(t *testing.T) {
		t.Parallel()
		dir := realDemoClinic(t, oneMinuteFrontDesk, 0)
		w := openRealWindow(t, startXvfb(t), dir)
		w.signIn("frontdesk", "Frank Desk")
		signedIn := time.Now()
		got, locked := w.waitTitle(timeout+2*time.Second, func(s string) bool { return !strings.Contains(s, "Frank Desk") })
		after := time.Since(signedIn)
		if !locked {
			t.Fatalf("still signed in %s after the last key press: title %q", after.Round(time.Millisecond), got)
		}
		// The last key press (Return) was before signedIn, by the time the
		// sign-in took; the lock must come at the timeout, within a second.
		if after < timeout-5*time.Second || after > timeout+time.Second {
			t.Fatalf("the lock screen showed %s after sign-in, want %s (+ at most 1 s)", after.Round(time.Millisecond), timeout)
		}
		if got != "Riverside Demo Clinic — Ward" {
			t.Errorf("lock screen title = %q, want the clinic only", got)
		}
		w.close()
		if got := auditOf(t, dir); !strings.Contains(got, " user.lock success locked: idle ") {
			t.Fatalf("no idle lock in the audit chain: %s", got)
		}
	})
}

// The public route (used when the GLFW hooks cannot attach) sees typing
// into a field.
func TestActivityPublicRoute(t *testing.T) {
	c := testClinic(t)
	clock := &fakeClock{t: time.Now()}
	c.SetClock(clock)
	u := newTestUI(t, c)
	sh := signInAs(t, u, "frontdesk")
	if err := chainGLFWInput(u.win, u.touch); err == nil {
		t.Fatal("the GLFW hooks attached to the test driver's window")
	}
	field := widget.NewEntry()
	u.win.SetContent(field)
	u.win.Canvas().Focus(field)
	u.watchActivityPublic()
	time.Sleep(3 * activityPoll) // the watcher has taken its first look
	clock.add(sh.s.IdleTimeout() / 2)
	before := sh.s.IdleRemaining()
	test.Type(field, "a")
	deadline := time.Now().Add(2 * time.Second)
	for sh.s.IdleRemaining() <= before && time.Now().Before(deadline) {
		time.Sleep(activityPoll / 5)
	}
	if sh.s.IdleRemaining() <= before {
		t.Fatal("typing into a field did not reset the idle timer")
	}
}

// Lock on focus loss, in the real window: when the administrator turned it
// on, another window taking the focus locks Ward (user.lock "focus");
// when it is off (the default), it does not.
func TestFocusLossRealWindow(t *testing.T) {
	needX(t)
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprintf("lock-on-focus-loss=%v", on), func(t *testing.T) {
			t.Parallel()
			settings := map[string]string{}
			if on {
				settings[app.SettingLockOnFocusLoss] = "1"
			}
			dir := realDemoClinic(t, settings, 0)
			display := startXvfb(t)
			w := openRealWindow(t, display, dir)
			w.signIn("clinician", "Dr. Clara Lin")
			other := startChild(t, display, emptyWindowEnv+"=1")
			other.waitWindow("^Empty$")
			w.must("windowfocus", "--sync", other.id)
			got, locked := w.waitTitle(3*time.Second, func(s string) bool { return !strings.Contains(s, "Clara") })
			if locked != on {
				t.Fatalf("another window took the focus: locked %v, want %v (title %q)", locked, on, got)
			}
			w.close()
			if got := auditOf(t, dir); strings.Contains(got, " user.lock success locked: focus ") != on {
				t.Fatalf("audit chain: %s", got)
			}
		})
	}
}
