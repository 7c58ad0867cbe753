package gui

import (
	"context"
	"os"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/store"
)

// The GUI tests drive Ward's real screens with Fyne's test driver (no
// display) on a real demo clinic: a real SQLCipher file, its key in the real
// OS keyring (make test provides a private gnome-keyring).

// testClinic is a demo clinic in a temp folder, closed and its key removed
// from the keyring when the test ends.
func testClinic(t testing.TB) *app.Clinic {
	t.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Fatal("no D-Bus session bus: run the tests with `make test` (it starts a private keyring)")
	}
	dir := t.TempDir()
	c, _, err := app.InitDemo(context.Background(), dir, store.OSKeyring{})
	if err != nil {
		t.Fatalf("demo clinic: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		acct, _ := store.KeyringAccount(dir)
		store.OSKeyring{}.Delete(acct)
	})
	return c
}

// newTestUI opens the window on c with Fyne's test app.
func newTestUI(t testing.TB, c *app.Clinic) *UI {
	t.Helper()
	fa := test.NewTempApp(t)
	u := New(fa, c, nil)
	u.win.Resize(fyne.NewSize(1100, 720))
	t.Cleanup(func() {
		// Close first (its context ends the tabs' refreshes), then wait for
		// work still running: none of this window's results may be drawn
		// while the next test measures text (Fyne's shaper is shared).
		u.win.Close()
		u.settle()
	})
	return u
}

// signInAs types username and the demo password on the sign-in screen and
// waits for the result, failing the test unless the shell shows.
func signInAs(t testing.TB, u *UI, username string) *shell {
	t.Helper()
	typeSignIn(u, username, app.DemoPassword)
	sh := u.current()
	if sh == nil {
		t.Fatalf("sign-in as %s: still on the sign-in screen: %q", username, u.signin.message.Text)
	}
	return sh
}

// typeSignIn fills the sign-in form as a person would and presses Enter.
func typeSignIn(u *UI, username, password string) {
	f := u.signin
	f.username.SetText("")
	test.Type(f.username, username)
	f.password.SetText("")
	test.Type(f.password, password)
	f.password.TypedKey(&fyneKeyReturn)
	u.settle()
}

// fyneKeyReturn is the Enter key, for Entry.TypedKey.
var fyneKeyReturn = fyne.KeyEvent{Name: fyne.KeyReturn}

// tap presses a button and waits for the work it started.
func tap(u *UI, b *widget.Button) {
	test.Tap(b)
	u.settle()
}

// visibleText is every label, entry, button and rich text showing in the
// window (and its dialogs), for "is this on screen?" assertions.
func visibleText(u *UI) string {
	var b strings.Builder
	c := u.win.Canvas()
	objs := append([]fyne.CanvasObject{c.Content()}, c.Overlays().List()...)
	for _, o := range objs {
		for _, w := range test.LaidOutObjects(o) {
			if !w.Visible() {
				continue
			}
			switch x := w.(type) {
			case *widget.Label:
				b.WriteString(x.Text + "\n")
			case *widget.Entry:
				if !x.Password {
					b.WriteString(x.Text + "\n")
				}
			case *widget.Button:
				b.WriteString(x.Text + "\n")
			case *widget.RichText:
				b.WriteString(x.String() + "\n")
			case *widget.Hyperlink:
				b.WriteString(x.Text + "\n")
			}
		}
	}
	return b.String()
}
