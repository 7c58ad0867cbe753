package gui

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"ward/app"
)

// A person's own account from the header's "My account": set a PIN (a
// wrong password and a PIN like 1234 are refused beside their fields),
// change the password (a weak one refused beside it), and set up a second
// factor from the QR code's key (a wrong code refused beside it). Each is
// audited, and each works: the PIN unlocks, the new password signs in, the
// second factor is asked for.
func TestMyAccount(t *testing.T) {
	c := testClinic(t)
	u := newTestUI(t, c)
	sh := signInAs(t, u, "clinician")
	openAccount(t, u)
	if text := textOf(topOverlay(t, u)); !strings.Contains(text, "No PIN") || !strings.Contains(text, "Off: your password alone") {
		t.Fatalf("My account shows:\n%s", text)
	}

	// PIN.
	tap(u, buttonIn(t, topOverlay(t, u), "Set PIN…"))
	dlg := topOverlay(t, u)
	es := entriesIn(dlg)
	test.Type(es[0], "not my password")
	test.Type(es[1], "1234")
	tap(u, buttonIn(t, dlg, "Set PIN"))
	if msg := fieldMessage(t, dlg, "New PIN"); !strings.Contains(msg, "run like 1234") {
		t.Fatalf("PIN 1234: %q", msg)
	}
	es[1].SetText("2580")
	tap(u, buttonIn(t, dlg, "Set PIN"))
	if msg := fieldMessage(t, dlg, "Your password"); !strings.Contains(msg, "password is not right") {
		t.Fatalf("a wrong password: %q", msg)
	}
	es[0].SetText(app.DemoPassword)
	es[1].TypedKey(&fyneKeyReturn)
	u.settle()
	if text := textOf(topOverlay(t, u)); !strings.Contains(text, "Your PIN is set") || !strings.Contains(text, "You have a PIN") {
		t.Fatalf("after setting the PIN:\n%s", text)
	}
	closeTop(u)

	// Password.
	openAccount(t, u)
	tap(u, buttonIn(t, topOverlay(t, u), "Change password…"))
	dlg = topOverlay(t, u)
	es = entriesIn(dlg)
	test.Type(es[0], app.DemoPassword)
	test.Type(es[1], "clinician1")
	tap(u, buttonIn(t, dlg, "Change password"))
	if msg := fieldMessage(t, dlg, "New password"); !strings.Contains(msg, "username") {
		t.Fatalf("the username as a password: %q", msg)
	}
	es[1].SetText("quiet orchard lamplight")
	tap(u, buttonIn(t, dlg, "Change password"))
	if text := textOf(topOverlay(t, u)); !strings.Contains(text, "Your password is changed") {
		t.Fatalf("after changing the password:\n%s", text)
	}
	closeTop(u)

	// Second factor.
	openAccount(t, u)
	tap(u, buttonIn(t, topOverlay(t, u), "Set up…"))
	dlg = topOverlay(t, u)
	if len(widgetsIn[*canvas.Image](dlg)) == 0 {
		t.Fatal("no QR code in the set-up")
	}
	var uri string
	for _, l := range widgetsIn[*widget.Label](dlg) {
		if strings.HasPrefix(l.Text, "otpauth://totp/Ward:clinician?") {
			uri = l.Text
		}
	}
	if uri == "" {
		t.Fatalf("no otpauth URI in:\n%s", textOf(dlg))
	}
	q, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	secret := q.Query().Get("secret")
	code := entriesIn(dlg)[0]
	test.Type(code, wrongCode(t, secret))
	tap(u, buttonIn(t, dlg, "Turn on"))
	if msg := fieldMessage(t, dlg, "Then type the code the app shows"); !strings.Contains(msg, "code from the authenticator app is not right") {
		t.Fatalf("a wrong code: %q", msg)
	}
	code.SetText(totpNow(t, secret))
	tap(u, buttonIn(t, dlg, "Turn on"))
	if text := textOf(topOverlay(t, u)); !strings.Contains(text, "Your second factor is on") {
		t.Fatalf("after setting up the second factor:\n%s", text)
	}
	closeTop(u)
	assertAudited(t, c, "user.pin", "user.password", "user.totp")

	// They work: the PIN unlocks; the new password needs the code.
	tap(u, sh.lock)
	u.signin.secret.SetText("2580")
	tap(u, u.signin.unlockSubmit)
	if u.current() == nil {
		t.Fatalf("the new PIN did not unlock: %q", u.signin.message.Text)
	}
	if _, err := c.SignIn(context.Background(), "clinician", "quiet orchard lamplight"); err != app.ErrSecondFactorNeeded {
		t.Fatalf("the new password without the code: %v", err)
	}
}

// openAccount taps the header's "My account" and waits for the dialog.
func openAccount(t *testing.T, u *UI) {
	t.Helper()
	tap(u, buttonIn(t, u.win.Canvas().Content(), "My account"))
	topOverlay(t, u)
}

// totpNow is the RFC 6238 code of the base32 secret now (SHA-1, 30 s, 6
// digits): what the person's authenticator app shows.
func totpNow(t *testing.T, secret string) string { return totpAt(t, secret, time.Now()) }

// wrongCode is a code that no step near now has.
func wrongCode(t *testing.T, secret string) string {
	for n := 0; ; n++ {
		c := fmt.Sprintf("%06d", n)
		ok := true
		for d := -2; d <= 2; d++ {
			ok = ok && totpAt(t, secret, time.Now().Add(time.Duration(d)*30*time.Second)) != c
		}
		if ok {
			return c
		}
	}
}

func totpAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha1.New, key)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:off+4])&0x7fffffff)%1_000_000)
}
