package gui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"ward/app"
)

// "My account": what every signed-in person does to their own account —
// change the password, set or remove the quick-unlock PIN, set up or turn
// off the second factor. Each asks for the password again (app does), so
// someone at a session left unlocked cannot take the account over.

// accountButton is the header's "My account".
func (u *UI) accountButton(s *app.Session) fyne.CanvasObject {
	return widget.NewButtonWithIcon("My account", theme.AccountIcon(), func() { u.showAccount(s, "") })
}

// showAccount reads whether s has a PIN and a second factor, then shows
// what s can do to their account, with done (the outcome of the last
// change) at the top.
func (u *UI) showAccount(s *app.Session, done string) {
	var hasPIN, hasTOTP bool
	u.work(func(ctx context.Context) error {
		var err error
		if hasPIN, err = s.HasPIN(ctx); err != nil {
			return err
		}
		hasTOTP, err = s.HasTOTP(ctx)
		return err
	}, func(err error) {
		if u.current() == nil || u.current().s != s {
			return // locked or switched meanwhile
		}
		u.accountDialog(s, hasPIN, hasTOTP, done, err)
	})
}

// accountDialog shows what s can do to their account, and done.
func (u *UI) accountDialog(s *app.Session, hasPIN, hasTOTP bool, done string, readErr error) {
	user := s.User()
	message := widget.NewLabel("")
	message.Wrapping = fyne.TextWrapWord
	message.Hide()
	if readErr != nil {
		showOutcome(message, sentence(readErr), true)
	} else {
		showOutcome(message, done, false)
	}
	var d *dialog.CustomDialog
	var restore func()
	closeIt := func() { restore(); d.Hide() }
	then := func(next func(*app.Session)) func() { return func() { closeIt(); next(s) } }
	password := widget.NewButtonWithIcon("Change password…", theme.DocumentCreateIcon(), then(u.changePassword))
	setPIN := widget.NewButtonWithIcon("Set PIN…", theme.DocumentCreateIcon(), then(u.setPIN))
	noPIN := widget.NewButtonWithIcon("Remove PIN…", theme.DeleteIcon(), then(u.removePIN))
	setupTOTP := widget.NewButtonWithIcon("Set up…", theme.ContentAddIcon(), then(u.beginTOTP))
	disableTOTP := widget.NewButtonWithIcon("Turn off…", theme.DeleteIcon(), then(u.disableTOTP))
	pinState := "No PIN: only your password unlocks Ward when it locks."
	if hasPIN {
		pinState = "You have a PIN: it unlocks Ward on this workstation for some hours after you sign in with your password."
		setPIN.SetText("Change PIN…")
	} else {
		noPIN.Hide()
	}
	totpState := "Off: your password alone signs you in."
	if hasTOTP {
		totpState = "On: signing in asks for the code from your authenticator app."
		setupTOTP.Hide()
	} else {
		disableTOTP.Hide()
	}
	row := func(title, state string, buttons ...fyne.CanvasObject) fyne.CanvasObject {
		l := widget.NewLabel(state)
		l.Wrapping = fyne.TextWrapWord
		return container.NewVBox(widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), l, container.NewHBox(buttons...))
	}
	content := container.NewVBox(
		widget.NewLabel(fmt.Sprintf("%s · username %s · %s", user.DisplayName, user.Username, strings.Join(roleNames(user.Roles), ", "))),
		message, widget.NewSeparator(),
		row("Password", "Change it whenever you think someone may know it.", password),
		row("PIN for quick unlock", pinState, setPIN, noPIN),
		row("Second factor", totpState, setupTOTP, disableTOTP))
	d = dialog.NewCustomWithoutButtons("My account", container.NewGridWrap(fyne.NewSize(520, content.MinSize().Height), content), u.win)
	d.SetButtons([]fyne.CanvasObject{newEscButton("Close", theme.CancelIcon(), closeIt)})
	d.Show()
	u.win.Canvas().Unfocus()
	restore = u.dialogKeys(closeIt, closeIt)
}

// secretField is a password-like field of an account form.
func secretField(name, label, placeholder string) *chartField {
	e := newKeyEntry(placeholder)
	e.Password = true
	return newChartField(name, label, e)
}

// asField puts an error from app under the field it is about: the
// password typed again ("current") when app refused it, else err as is.
func asField(err error, current string) error {
	var locked *app.LockedOutError
	if errors.Is(err, app.ErrWrongPassword) || errors.Is(err, app.ErrAccountLocked) || errors.As(err, &locked) {
		return &app.ValidationError{Field: current, Problem: strings.TrimSuffix(err.Error(), ".")}
	}
	return err
}

// changePassword asks for the current and the new password.
func (u *UI) changePassword(s *app.Session) {
	fields := []*chartField{
		secretField("current", "Your password now", ""),
		secretField("new", "New password", "at least 8 characters; a few unrelated words are best"),
	}
	u.showChartForm("Change your password", "Change password", 460, fields, func(ctx context.Context, v map[string]string) error {
		current, next := entryText(fields[0]), entryText(fields[1])
		if err := app.CheckNewPassword(next, s.User().Username, u.clinic.Name()); err != nil {
			return &app.ValidationError{Field: "new", Problem: err.Error()}
		}
		return asField(s.ChangePassword(ctx, current, next), "current")
	}, func() { u.showAccount(s, "Your password is changed. Use the new one from now on.") })
}

// entryText is what a secret field holds exactly as typed (spaces count
// in a password; chartField.value trims).
func entryText(f *chartField) string { return f.input.(*keyEntry).Text }

// setPIN asks for the password and the new PIN.
func (u *UI) setPIN(s *app.Session) {
	fields := []*chartField{
		secretField("password", "Your password", ""),
		secretField("pin", "New PIN", fmt.Sprintf("%d to %d digits", app.MinPINLen, app.MaxPINLen)),
	}
	u.showChartForm("Set your PIN", "Set PIN", 420, fields, func(ctx context.Context, v map[string]string) error {
		pin := entryText(fields[1])
		if err := app.CheckPINRules(pin); err != nil {
			return &app.ValidationError{Field: "pin", Problem: err.Error()}
		}
		return asField(s.SetPIN(ctx, entryText(fields[0]), pin), "password")
	}, func() { u.showAccount(s, "Your PIN is set: when Ward locks, it unlocks with the PIN.") })
}

// removePIN removes the PIN after asking.
func (u *UI) removePIN(s *app.Session) {
	u.confirmAction("Remove your PIN?", "From then on only your password unlocks Ward when it locks.", "Remove PIN", func() {
		u.work(func(ctx context.Context) error { return s.RemovePIN(ctx) }, func(err error) {
			done := "Your PIN is removed."
			if err != nil {
				done = sentence(err)
			}
			u.showAccount(s, done)
		})
	})
}

// disableTOTP turns the second factor off after the password.
func (u *UI) disableTOTP(s *app.Session) {
	fields := []*chartField{secretField("password", "Your password", "")}
	u.showChartForm("Turn off the second factor", "Turn off", 420, fields, func(ctx context.Context, v map[string]string) error {
		return asField(s.DisableTOTP(ctx, entryText(fields[0])), "password")
	}, func() { u.showAccount(s, "Your second factor is off.") })
}

// beginTOTP makes a new key and shows it (QR code, key, URI) with a field
// for the first code: the factor is in force only once a code matches.
func (u *UI) beginTOTP(s *app.Session) {
	var enr app.TOTPEnrollment
	u.work(func(ctx context.Context) error {
		var err error
		enr, err = s.BeginTOTP(ctx)
		return err
	}, func(err error) {
		if err != nil {
			u.showAccount(s, sentence(err))
			return
		}
		u.confirmTOTP(s, enr)
	})
}

// confirmTOTP is the set-up form of a new second factor.
func (u *UI) confirmTOTP(s *app.Session, enr app.TOTPEnrollment) {
	qr := canvas.NewImageFromReader(bytes.NewReader(enr.QRPNG), "ward-totp.png")
	qr.FillMode = canvas.ImageFillContain
	qr.SetMinSize(fyne.NewSize(220, 220))
	key := widget.NewLabel(groupKey(enr.Secret))
	key.Selectable = true
	key.TextStyle.Monospace = true
	uri := widget.NewLabel(enr.URI)
	uri.Selectable = true
	uri.Wrapping = fyne.TextWrapBreak
	code := newKeyEntry("6 digits")
	fields := []*chartField{
		newChartField("qr", "Scan this with your authenticator app", container.NewCenter(qr)),
		newChartField("key", "Or type this key into it", key),
		newChartField("uri", "Its address (otpauth)", uri),
		newChartField("code", "Then type the code the app shows", code),
	}
	u.showChartForm("Set up a second factor", "Turn on", 480, fields, func(ctx context.Context, v map[string]string) error {
		err := s.ConfirmTOTP(ctx, v["code"])
		if errors.Is(err, app.ErrWrongCode) {
			return &app.ValidationError{Field: "code", Problem: err.Error()}
		}
		return err
	}, func() { u.showAccount(s, "Your second factor is on: signing in asks for the code from your app.") })
}

// groupKey writes a base32 key in groups of four, as people type it.
func groupKey(k string) string {
	var b strings.Builder
	for i, r := range k {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}
