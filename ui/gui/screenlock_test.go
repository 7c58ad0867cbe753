package gui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"ward/app"
)

// The desktop's screen lock locks Ward: the screen saver's
// ActiveChanged(true) and logind's Lock of this login session, each sent
// on the private test bus, lock the session in front with reason "screen".
// The screen saver turning off, and logind locking another session, do not.
func TestScreenLockLocksWard(t *testing.T) {
	c := testClinic(t)
	u := newTestUI(t, c)
	sh := signInAs(t, u, "clinician")
	const mySession = dbus.ObjectPath("/org/freedesktop/login1/session/_31")
	for _, logind := range []dbus.ObjectPath{"", mySession} {
		conn, err := dbus.ConnectSessionBus()
		if err != nil {
			t.Fatal(err)
		}
		if err := listenScreenLock(u.ctx, conn, logind, u.screenLocked); err != nil {
			t.Fatal(err)
		}
	}
	sender, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	emit := func(path dbus.ObjectPath, name string, body ...any) {
		t.Helper()
		if err := sender.Emit(path, name, body...); err != nil {
			t.Fatal(err)
		}
	}
	waitLocked := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for sh.s.Locked() != want && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		u.settle()
		if sh.s.Locked() != want || (u.current() == nil) != want {
			t.Fatalf("locked = %v (lock screen showing: %v), want %v", sh.s.Locked(), u.current() == nil, want)
		}
	}
	unlock := func() {
		t.Helper()
		if err := sh.s.UnlockWithPassword(context.Background(), app.DemoPassword); err != nil {
			t.Fatal(err)
		}
		u.showShell(sh.s)
	}

	emit("/org/freedesktop/ScreenSaver", "org.freedesktop.ScreenSaver.ActiveChanged", false)
	emit("/org/freedesktop/login1/session/_32", "org.freedesktop.login1.Session.Lock")
	time.Sleep(300 * time.Millisecond)
	waitLocked(false)

	emit("/org/freedesktop/ScreenSaver", "org.freedesktop.ScreenSaver.ActiveChanged", true)
	waitLocked(true)
	unlock()
	emit("/org/gnome/ScreenSaver", "org.gnome.ScreenSaver.ActiveChanged", true)
	waitLocked(true)
	unlock()
	emit(mySession, "org.freedesktop.login1.Session.Lock")
	waitLocked(true)

	if screen := strings.Count(auditActions(t, c), " user.lock success locked: screen "); screen != 3 {
		t.Fatalf("%d screen locks in the audit chain, want 3", screen)
	}
}
