package gui

import (
	"context"
	"errors"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"ward/app"
)

// The sign-in screen is also the lock screen: it shows the clinic, the
// people whose sessions wait locked on this desk (names only: no patient,
// no screen behind it), a PIN/password unlock for one of them, and a
// sign-in form for anyone else (fast user switching: the session in front
// is locked, never shared).
type signInForm struct {
	username, password, code *widget.Entry
	codeItem                 *widget.FormItem
	submit                   *widget.Button
	message                  *widget.Label
	waiting                  []*widget.Button // "Unlock: NAME", one per locked session

	// The unlock form, when a waiting session was chosen.
	unlockFor     *app.Session
	secret        *widget.Entry // PIN, or password after "use password"
	usePassword   bool
	unlockSubmit  *widget.Button
	otherUser     *widget.Button
	switchToPassw *widget.Button
}

// showSignIn shows the sign-in / lock screen with an optional message.
func (u *UI) showSignIn(message string) {
	u.mu.Lock()
	u.shell = nil
	u.mu.Unlock()
	u.setTitle("")
	f := &signInForm{}
	u.signin = f

	f.message = widget.NewLabel(message)
	f.message.Wrapping = fyne.TextWrapWord
	f.message.Importance = widget.DangerImportance

	f.username = widget.NewEntry()
	f.username.SetPlaceHolder("username")
	f.password = widget.NewPasswordEntry()
	f.code = widget.NewEntry()
	f.code.SetPlaceHolder("6-digit code from your authenticator app")
	form := widget.NewForm(widget.NewFormItem("Username", f.username), widget.NewFormItem("Password", f.password))
	f.codeItem = widget.NewFormItem("Code", f.code)
	f.submit = widget.NewButtonWithIcon("Sign in", theme.LoginIcon(), func() { u.submitSignIn(form) })
	f.submit.Importance = widget.HighImportance
	f.username.OnSubmitted = func(string) { u.win.Canvas().Focus(f.password) }
	f.password.OnSubmitted = func(string) { u.submitSignIn(form) }
	f.code.OnSubmitted = func(string) { u.submitSignIn(form) }

	heading := widget.NewLabelWithStyle(u.clinic.Name(), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	parts := []fyne.CanvasObject{heading}
	if ws := u.desk.Waiting(); len(ws) > 0 {
		parts = append(parts, widget.NewLabelWithStyle("Ward is locked", fyne.TextAlignCenter, fyne.TextStyle{Italic: true}))
		for _, s := range ws {
			s := s
			b := widget.NewButtonWithIcon("Unlock: "+s.User().DisplayName, theme.AccountIcon(), func() { u.showUnlock(s, "") })
			f.waiting = append(f.waiting, b)
			parts = append(parts, b)
		}
		parts = append(parts, widget.NewSeparator(), widget.NewLabel("Or sign in as someone else:"))
	} else {
		parts = append(parts, widget.NewLabel("Sign in with your own account."))
	}
	parts = append(parts, form, f.submit, f.message)
	u.setContent(centred(420, container.NewVBox(parts...)))
	u.win.Canvas().Focus(f.username)
}

// submitSignIn checks the form off the Fyne goroutine (argon2id takes a
// moment) and opens the shell on success.
func (u *UI) submitSignIn(form *widget.Form) {
	f := u.signin
	username, password, code := f.username.Text, f.password.Text, f.code.Text
	if username == "" || password == "" {
		f.message.SetText("Type your username and password.")
		return
	}
	withCode := f.code.Visible() && len(form.Items) == 3
	f.submit.Disable()
	f.submit.SetText("Signing in…")
	var s *app.Session
	u.work(func(ctx context.Context) error {
		var err error
		if withCode {
			s, err = u.clinic.SignInWithTOTP(ctx, username, password, code)
		} else {
			s, err = u.clinic.SignIn(ctx, username, password)
		}
		if err == nil {
			err = u.desk.Present(ctx, s)
		}
		return err
	}, func(err error) {
		f.submit.Enable()
		f.submit.SetText("Sign in")
		switch {
		case err == nil:
			u.showShell(s)
		case errors.Is(err, app.ErrSecondFactorNeeded):
			if len(form.Items) == 2 {
				form.AppendItem(f.codeItem)
			}
			f.message.SetText("Type the 6-digit code from your authenticator app.")
			u.win.Canvas().Focus(f.code)
		default:
			f.password.SetText("")
			f.code.SetText("")
			f.message.SetText(sentence(err))
			u.win.Canvas().Focus(f.password)
		}
	})
}

// showUnlock asks the person of a locked session for their PIN (or, when
// the PIN cannot be used, their password).
func (u *UI) showUnlock(s *app.Session, message string) {
	u.setTitle("")
	f := &signInForm{unlockFor: s}
	u.signin = f
	f.message = widget.NewLabel(message)
	f.message.Wrapping = fyne.TextWrapWord
	f.message.Importance = widget.DangerImportance
	f.secret = widget.NewPasswordEntry()
	label := "PIN"
	if f.usePassword = message != "" && u.needsPassword(message); f.usePassword {
		label = "Password"
	}
	f.secret.SetPlaceHolder(label)
	f.unlockSubmit = widget.NewButtonWithIcon("Unlock", theme.LoginIcon(), func() { u.submitUnlock() })
	f.unlockSubmit.Importance = widget.HighImportance
	f.secret.OnSubmitted = func(string) { u.submitUnlock() }
	f.switchToPassw = widget.NewButton("Use my password instead", func() {
		f.usePassword = true
		f.secret.SetText("")
		f.secret.SetPlaceHolder("Password")
		f.switchToPassw.Hide()
		u.win.Canvas().Focus(f.secret)
	})
	if f.usePassword {
		f.switchToPassw.Hide()
	}
	f.otherUser = widget.NewButton("Someone else", func() { u.showSignIn("") })
	who := widget.NewLabelWithStyle(s.User().DisplayName, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	box := container.NewVBox(
		widget.NewLabelWithStyle(u.clinic.Name(), fyne.TextAlignCenter, fyne.TextStyle{}),
		widget.NewLabelWithStyle("Ward is locked", fyne.TextAlignCenter, fyne.TextStyle{Italic: true}),
		who, f.secret, f.unlockSubmit, f.switchToPassw, f.otherUser, f.message)
	u.setContent(centred(380, box))
	u.win.Canvas().Focus(f.secret)
}

// needsPassword tells whether an unlock message means the PIN is out.
func (u *UI) needsPassword(message string) bool {
	return message == sentence(app.ErrPasswordRequired) || message == sentence(app.ErrNoPIN)
}

func (u *UI) submitUnlock() {
	f := u.signin
	s, secret, usePassword := f.unlockFor, f.secret.Text, f.usePassword
	if secret == "" {
		return
	}
	f.unlockSubmit.Disable()
	u.work(func(ctx context.Context) error {
		var err error
		if usePassword {
			err = s.UnlockWithPassword(ctx, secret)
		} else {
			err = s.UnlockWithPIN(ctx, secret)
		}
		if err == nil {
			err = u.desk.Resume(ctx, s)
		}
		return err
	}, func(err error) {
		f.unlockSubmit.Enable()
		switch {
		case err == nil:
			u.showShell(s)
		case errors.Is(err, app.ErrPasswordRequired), errors.Is(err, app.ErrNoPIN):
			u.showUnlock(s, sentence(err))
		case errors.Is(err, app.ErrSignedOut), errors.Is(err, app.ErrAccountDisabled):
			u.showSignIn(sentence(err))
		default:
			f.secret.SetText("")
			f.message.SetText(sentence(err))
			u.win.Canvas().Focus(f.secret)
		}
	})
}

// lockNow locks the session in front and shows the lock screen.
func (u *UI) lockNow(reason string) {
	s := u.desk.Front()
	if s == nil {
		return
	}
	u.work(func(ctx context.Context) error {
		if s.Locked() {
			return nil
		}
		return s.Lock(ctx, reason)
	}, func(error) {
		if reason == "switch" { // straight to the sign-in form for the next person
			u.closeDialogs()
			u.showSignIn("")
			return
		}
		u.showLocked(s)
	})
}

// showLocked is the lock screen for s (the unlock form, with "someone else"),
// or the end of an emergency kit session.
func (u *UI) showLocked(s *app.Session) {
	u.mu.Lock()
	u.shell = nil
	u.mu.Unlock()
	u.closeDialogs()
	if s.ReadOnly() { // a kit session has no PIN or password to unlock it with
		u.endKit()
		return
	}
	u.showUnlock(s, "")
}
