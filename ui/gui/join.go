package gui

import (
	"context"
	"fmt"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/store"
)

// The window on a data folder with no clinic yet: join a clinic that
// already uses Ward with an invite code (app.JoinClinic, as `ward sync join`
// does), or start one from the command line. A join creates the database,
// asks the inviting workstation, waits for an administrator there, installs
// the clinic, shows the new emergency recovery code once, and then opens
// the sign-in screen; a failed or cancelled one leaves the folder empty.

// joinForm is the join screen while it shows.
type joinForm struct {
	code, name *widget.Entry
	listen     *widget.Entry // where this workstation's node listens ("" = Ward's usual port)
	submit     *widget.Button
	cancel     *widget.Button
	progress   *widget.ProgressBarInfinite
	status     *widget.Label // what is happening now
	ids        *fyne.Container
	message    *widget.Label // why the last attempt failed
	stop       context.CancelFunc
}

// showNoClinic is the whole window when dir holds no clinic yet.
func (u *UI) showNoClinic(dir string, keyring store.Keyring) {
	u.setTitle("")
	title := widget.NewLabelWithStyle("There is no clinic on this workstation yet", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameSubHeadingText
	join := widget.NewButtonWithIcon("Join an existing clinic", theme.LoginIcon(), func() { u.showJoin(dir, keyring) })
	join.Importance = widget.HighImportance
	joinText := widget.NewLabel("This computer becomes another workstation of a clinic that already uses Ward: it receives a copy " +
		"of the clinic's records and keeps it up to date. You need an invite code from an administrator at one of the clinic's " +
		"workstations (Workstations tab → Invite a workstation).")
	joinText.Wrapping = fyne.TextWrapWord
	newText := widget.NewLabel(fmt.Sprintf("To start a new clinic instead, use the command line: ward init (or ward demo for a "+
		"demo clinic), then start Ward again. Data folder: %s", dir))
	newText.Wrapping = fyne.TextWrapWord
	quit := widget.NewButton("Close Ward", func() { u.win.Close() })
	box := container.NewVBox(title, joinText, container.NewHBox(join), widget.NewSeparator(), newText, container.NewHBox(quit))
	u.setContent(container.NewCenter(container.NewGridWrap(fyne.NewSize(620, box.MinSize().Height), box)))
}

// showJoin is the join form.
func (u *UI) showJoin(dir string, keyring store.Keyring) {
	f := &joinForm{}
	u.join = f
	f.code = widget.NewMultiLineEntry()
	f.code.Wrapping = fyne.TextWrapBreak
	f.code.SetMinRowsVisible(3)
	f.code.SetPlaceHolder("the invite code, as the administrator's screen shows it")
	f.name = widget.NewEntry()
	host, _ := os.Hostname()
	f.name.SetText(host)
	f.listen = widget.NewEntry()
	f.listen.SetPlaceHolder("empty: Ward's usual port; or tcp://HOST:PORT")
	f.submit = widget.NewButtonWithIcon("Join", theme.ConfirmIcon(), func() { u.submitJoin(dir, keyring) })
	f.submit.Importance = widget.HighImportance
	back := widget.NewButtonWithIcon("Back", theme.NavigateBackIcon(), func() { u.showNoClinic(dir, keyring) })
	f.cancel = widget.NewButtonWithIcon("Cancel joining", theme.CancelIcon(), func() {
		if f.stop != nil {
			f.stop()
		}
	})
	f.cancel.Hide()
	f.progress = widget.NewProgressBarInfinite()
	f.progress.Stop()
	f.progress.Hide()
	f.status = widget.NewLabel("")
	f.status.Wrapping = fyne.TextWrapWord
	f.status.Hide()
	f.ids = container.NewVBox()
	f.message = widget.NewLabel("")
	f.message.Wrapping = fyne.TextWrapWord
	f.message.Importance = widget.DangerImportance
	f.message.Hide()
	form := widget.NewForm(widget.NewFormItem("Invite code", f.code), widget.NewFormItem("This workstation's name", f.name),
		widget.NewFormItem("Network address", f.listen))
	title := widget.NewLabelWithStyle("Join an existing clinic", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameSubHeadingText
	note := widget.NewLabel("The workstation that made the invite must have Ward open. Its administrator approves this " +
		"workstation after comparing the ids shown here.")
	note.Wrapping = fyne.TextWrapWord
	box := container.NewVBox(title, note, form, container.NewHBox(back, f.submit, f.cancel), f.progress, f.status, f.ids, f.message)
	u.setContent(container.NewCenter(container.NewGridWrap(fyne.NewSize(660, 460), box)))
	u.win.Canvas().Focus(f.code)
}

// submitJoin runs the join off the Fyne goroutine, showing each step.
func (u *UI) submitJoin(dir string, keyring store.Keyring) {
	f := u.join
	code := strings.Join(strings.Fields(f.code.Text), "") // a code pasted over several lines
	name, listen := strings.TrimSpace(f.name.Text), strings.TrimSpace(f.listen.Text)
	if code == "" {
		showOutcome(f.message, "Type or paste the invite code.", true)
		return
	}
	ctx, stop := context.WithCancel(u.ctx)
	f.stop = stop
	f.submit.Disable()
	f.code.Disable()
	f.name.Disable()
	f.listen.Disable()
	f.cancel.Show()
	f.progress.Show()
	f.progress.Start()
	f.message.Hide()
	f.ids.RemoveAll()
	f.status.SetText("Creating this workstation's database and reaching the inviting workstation…")
	f.status.Show()
	u.joining.Add(1)
	go func() {
		defer u.joining.Done()
		c, recovery, _, err := app.JoinClinic(ctx, app.JoinClinicOptions{Dir: dir, Code: code, NodeName: name, Listen: listen, Keyring: keyring,
			Waiting: func(id app.JoinIdentity) {
				u.show(func() {
					if u.join == f {
						f.waiting(id)
					}
				})
			}})
		stop()
		if u.ctx.Err() != nil { // the window closed meanwhile
			if c != nil {
				c.Close()
			}
			return
		}
		u.show(func() {
			if err != nil {
				f.failed(err, ctx.Err() != nil)
				return
			}
			u.join = nil
			u.showJoined(c, recovery)
		})
	}()
}

// waiting shows who this workstation is, for the administrator to compare.
func (f *joinForm) waiting(id app.JoinIdentity) {
	f.status.SetText("Waiting for an administrator at the inviting workstation to approve this one. They see a request " +
		"with these ids: check together that they match.")
	f.ids.RemoveAll()
	for _, kv := range [][2]string{{"Node id", id.Node}, {"Device id", id.Device}} {
		l := widget.NewLabel(kv[1])
		l.Selectable = true
		l.TextStyle.Monospace = true
		f.ids.Add(container.NewBorder(nil, nil, container.NewGridWrap(fyne.NewSize(110, 0),
			widget.NewLabelWithStyle(kv[0], fyne.TextAlignLeading, fyne.TextStyle{Bold: true})), nil, l))
	}
}

// failed puts the form back as it was, with why.
func (f *joinForm) failed(err error, cancelled bool) {
	f.stop = nil
	f.progress.Stop()
	f.progress.Hide()
	f.cancel.Hide()
	f.status.Hide()
	f.ids.RemoveAll()
	f.submit.Enable()
	f.code.Enable()
	f.name.Enable()
	f.listen.Enable()
	msg := sentence(err)
	if cancelled {
		msg = "Joining was cancelled. Nothing was kept on this workstation."
	}
	showOutcome(f.message, msg, true)
}

// showJoined shows the new emergency recovery code once, then opens the
// clinic's sign-in screen.
func (u *UI) showJoined(c *app.Clinic, recovery string) {
	u.setTitle("")
	title := widget.NewLabelWithStyle(fmt.Sprintf("This workstation is now part of %s", c.Name()), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameSubHeadingText
	intro := widget.NewLabel("Emergency kit: write this recovery code down now. It is shown only once. With the kit file " +
		c.KitPath() + " and this code, this workstation's records open when the keyring is lost. Keep a copy of both in the clinic's safe.")
	intro.Wrapping = fyne.TextWrapWord
	code := widget.NewLabel(recovery)
	code.Selectable = true
	code.Wrapping = fyne.TextWrapBreak
	code.TextStyle = fyne.TextStyle{Monospace: true}
	code.SizeName = theme.SizeNameSubHeadingText
	next := widget.NewButtonWithIcon("Continue to sign in", theme.NavigateNextIcon(), func() { u.adoptClinic(c) })
	next.Importance = widget.HighImportance
	next.Disable()
	written := widget.NewCheck("I have written the recovery code down", func(on bool) {
		if on {
			next.Enable()
		} else {
			next.Disable()
		}
	})
	after := widget.NewLabel("People sign in here with the accounts they have at the clinic.")
	box := container.NewVBox(title, intro, code, written, container.NewHBox(next), after)
	u.setContent(container.NewCenter(container.NewGridWrap(fyne.NewSize(660, box.MinSize().Height), box)))
}

// adoptClinic makes a clinic joined in this window the window's clinic: its
// background jobs (the replica among them) start, and the sign-in shows.
func (u *UI) adoptClinic(c *app.Clinic) {
	u.mu.Lock()
	u.clinic = c
	u.mu.Unlock()
	u.jobsDone = u.runJobs()
	u.watchIdle()
	u.showSignIn("")
}

// show runs fn on the Fyne goroutine, one result at a time as u.work shows
// them, without waiting for it (the window may be closing).
func (u *UI) show(fn func()) {
	u.doneMu.Lock()
	defer u.doneMu.Unlock()
	fyne.Do(fn)
}
