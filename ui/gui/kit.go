package gui

import (
	"context"
	"image/color"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/assets"
)

// The emergency kit's window (`ward emergency open`): the ordinary shell on
// a read-only session (app.OpenEmergencyKit), with no sign-in screen, no
// background jobs, a red banner that never goes away, and no control that
// changes anything. There is no PIN or password behind a kit session, so
// whatever would lock it (idle, Ctrl+L, the desktop's screen lock) ends it
// and closes the window instead.

// kitTitle stands where a person's name stands in the window's title.
const kitTitle = "Emergency kit (read-only)"

// RunKit opens the read-only window on s, a session on c opened with the
// emergency kit, and returns when the window is closed. Either way the
// session is signed out and the clinic closed when it returns.
func RunKit(c *app.Clinic, s *app.Session) error {
	if err := needDesktop(); err != nil {
		s.SignOut(context.Background())
		c.Close()
		return err
	}
	fa := fyneapp.NewWithID(AppID)
	fa.SetIcon(assets.Icon)
	u := NewKit(fa, c, s)
	u.applyTheme()
	u.installActivityHooks()
	u.watchScreenLock()
	defer u.closeOnSignal()()
	u.startTour()
	u.win.ShowAndRun()
	u.close()
	return c.Close()
}

// NewKit makes the read-only window on s: the shell straight away, with
// only the sections a kit session may read.
func NewKit(fa fyne.App, c *app.Clinic, s *app.Session) *UI {
	u := newWindow(fa, c)
	u.desk.Present(u.ctx, s) // nobody else is at this desk: nothing to lock or audit
	u.showShell(s)
	u.watchIdle()
	return u
}

// kitBanner is the red band across the top of the kit's window.
func kitBanner(person string) fyne.CanvasObject {
	l := widget.NewLabelWithStyle("READ-ONLY — opened with the emergency kit by "+person+
		". Nothing can be changed; every record you open is recorded under your name.",
		fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	l.Wrapping = fyne.TextWrapWord
	return container.NewStack(canvas.NewRectangle(emergencyRed), container.NewThemeOverride(l, whiteText{}))
}

// whiteText is the app's theme with white text, for the banner's red.
type whiteText struct{}

func (whiteText) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if n == theme.ColorNameForeground {
		return color.White
	}
	return fyne.CurrentApp().Settings().Theme().Color(n, v)
}
func (whiteText) Font(s fyne.TextStyle) fyne.Resource {
	return fyne.CurrentApp().Settings().Theme().Font(s)
}
func (whiteText) Icon(n fyne.ThemeIconName) fyne.Resource {
	return fyne.CurrentApp().Settings().Theme().Icon(n)
}
func (whiteText) Size(n fyne.ThemeSizeName) float32 {
	return fyne.CurrentApp().Settings().Theme().Size(n)
}

// closeKitButton ends the kit session: the window closes.
func (u *UI) closeKitButton() fyne.CanvasObject {
	return widget.NewButtonWithIcon("Close the emergency kit", theme.LogoutIcon(), u.win.Close)
}

// endKit is what locking does to a kit session: nothing of the records
// stays on screen, and the window closes (which signs the session out).
func (u *UI) endKit() {
	u.closeDialogs()
	u.win.SetContent(widget.NewLabel(""))
	u.win.Close()
}

// writable marks a control that does act: a session the door would refuse
// it — the emergency kit, which only reads, or a front-desk person reading a
// chart under emergency access — does not see it. It returns o, to wrap
// the control where it is made.
func writable[T fyne.CanvasObject](s *app.Session, act app.Action, o T) T {
	if !s.Allowed(act) {
		o.Hide()
	}
	return o
}
