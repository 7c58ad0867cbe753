package gui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"ward/app"
)

// The keyboard alone: Tab walks the sign-in screen in reading order
// (username, password, Sign in) and Space on the button signs in. (Enter
// submits and Esc cancels in each form's own test.)
func TestKeyboardTabOrder(t *testing.T) {
	u := newTestUI(t, testClinic(t))
	c := u.win.Canvas()
	f := u.signin
	if c.Focused() != f.username {
		t.Fatalf("the sign-in screen opens with %T focused, want the username", c.Focused())
	}
	test.Type(f.username, "frontdesk")
	test.FocusNext(c)
	if c.Focused() != f.password {
		t.Fatalf("Tab from the username went to %T, want the password", c.Focused())
	}
	test.Type(f.password, app.DemoPassword)
	test.FocusNext(c)
	if c.Focused() != fyne.Focusable(f.submit) {
		t.Fatalf("Tab from the password went to %T, want the Sign in button", c.Focused())
	}
	f.submit.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace}) // a focused button is pressed from the keyboard
	u.settle()
	sh := u.current()
	if sh == nil {
		t.Fatalf("the keyboard did not sign in: %q", u.signin.message.Text)
	}

}

// The lock shortcut, pressed on the real keyboard of the real window
// (Fyne's test canvas takes no shortcuts): Ctrl+L locks, and the title
// names the clinic only.
func TestLockShortcutRealWindow(t *testing.T) {
	needX(t)
	w := openRealWindow(t, startXvfb(t), realDemoClinic(t, nil, 0))
	w.signIn("frontdesk", "Frank Desk")
	w.must("key", "--window", w.id, "ctrl+l")
	if got, ok := w.waitTitle(3*time.Second, func(s string) bool { return !strings.Contains(s, "Frank Desk") }); !ok {
		t.Fatalf("Ctrl+L did not lock: title %q", got)
	} else if got != "Riverside Demo Clinic — Ward" {
		t.Fatalf("locked window title = %q, want the clinic only", got)
	}
}
