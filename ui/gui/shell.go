package gui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"ward/app"
)

// shell is the signed-in frame: a header naming the clinic and the person,
// with lock / switch user / sign out, the idle countdown, and one tab per
// section the person's roles open.
type shell struct {
	s         *app.Session
	tabs      *container.AppTabs
	countdown *widget.Label // shown in the last 30 s before auto-lock
	lock      *widget.Button
	switchU   *widget.Button
	signOut   *widget.Button
	sections  []section
	// background shows a failed background job (backup, replica) to the
	// people who can act on it: administrators and security officers.
	background *widget.Label
	outage     *widget.Label // shown when the other workstations have not been heard from (outage.go)
}

// A section is one tab of the shell. allowed says whether the session
// opens it (checked against app's permission table and the kit's reads, so
// a tab never offers what the door would refuse).
type section struct {
	title   string
	icon    func() fyne.Resource // a theme icon, looked up when drawn
	allowed func(s *app.Session) bool
	build   func(u *UI, s *app.Session) fyne.CanvasObject
}

// any of the actions allowed.
func anyAllowed(acts ...app.Action) func(*app.Session) bool {
	return func(s *app.Session) bool {
		for _, a := range acts {
			if s.Allowed(a) {
				return true
			}
		}
		return false
	}
}

// chartAllowed: the roles open charts, or the clinic lets this person use
// emergency access (they open a chart only by break-glass, to read).
func chartAllowed(s *app.Session) bool {
	return s.Allowed(app.ActChartRead) || s.MayUseEmergencyAccess(context.Background())
}

// sections in the order the tabs show.
var sections = []section{
	{"Patients", theme.AccountIcon, anyAllowed(app.ActPatientSearch), (*UI).patientsSection},
	{"Schedule", theme.CalendarIcon, anyAllowed(app.ActAppointmentRead), (*UI).scheduleSection},
	{"Chart", theme.DocumentIcon, chartAllowed, (*UI).chartSection},
	{"Audit", theme.VisibilityIcon, anyAllowed(app.ActAuditRead, app.ActAuditVerify), (*UI).auditSection},
	{reviewTitle, theme.WarningIcon, anyAllowed(app.ActEmergencyList), (*UI).emergencyReviewSection},
	{"People", theme.AccountIcon, anyAllowed(app.ActUserList), (*UI).peopleSection},
	{"Settings", theme.SettingsIcon, anyAllowed(app.ActSettingsEdit), (*UI).settingsSection},
	{"Workstations", theme.ComputerIcon, anyAllowed(app.ActSyncStatus), (*UI).workstationsSection},
}

// showShell puts s's frame in the window.
func (u *UI) showShell(s *app.Session) {
	u.closeDialogs()
	u.signin = nil
	releasePasswordMemory()
	sh := &shell{s: s}
	user := s.User()
	u.setTitle(user.DisplayName)

	sh.countdown = widget.NewLabel("")
	sh.countdown.Importance = widget.WarningImportance
	sh.countdown.Hide()
	sh.lock = widget.NewButtonWithIcon("Lock", theme.VisibilityOffIcon(), func() { u.lockNow("user") })
	sh.switchU = widget.NewButtonWithIcon("Switch user", theme.AccountIcon(), func() { u.lockNow("switch") })
	sh.signOut = widget.NewButtonWithIcon("Sign out", theme.LogoutIcon(), func() { u.signOutFront() })
	who := widget.NewLabelWithStyle(fmt.Sprintf("%s  ·  %s", user.DisplayName, strings.Join(roleNames(user.Roles), ", ")),
		fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	clinic := widget.NewLabel(u.clinic.Name())
	controls := []fyne.CanvasObject{sh.countdown, u.themeToggle(), u.accountButton(s), sh.lock, sh.switchU, sh.signOut}
	var top []fyne.CanvasObject
	if s.ReadOnly() { // the emergency kit (kit.go): no account, and nothing to come back to after a lock
		u.setTitle(kitTitle)
		controls = []fyne.CanvasObject{sh.countdown, u.themeToggle(), u.closeKitButton()}
		top = append(top, kitBanner(s.KitPerson()))
	}
	header := container.NewBorder(nil, nil, container.NewHBox(clinic, who), container.NewHBox(controls...))

	sh.tabs = container.NewAppTabs()
	for _, sec := range sections {
		if sec.allowed(s) {
			sh.sections = append(sh.sections, sec)
			sh.tabs.Append(container.NewTabItemWithIcon(sec.title, sec.icon(), sec.build(u, s)))
		}
	}
	var body fyne.CanvasObject = sh.tabs
	if len(sh.sections) == 0 {
		body = container.NewCenter(widget.NewLabel("Your account has no role that opens a screen here. Ask the clinic's administrator."))
	}
	u.mu.Lock()
	u.shell = sh
	u.mu.Unlock()
	sh.background = widget.NewLabel("")
	sh.background.Importance = widget.DangerImportance
	sh.background.Wrapping = fyne.TextWrapWord
	u.showJobProblem(sh)
	sh.outage = newOutageBanner()
	u.setContent(container.NewBorder(container.NewVBox(append(top, header, sh.outage, widget.NewSeparator())...), sh.background, nil, nil, body))
	u.watchOutage(sh)
	u.addShortcuts()
}

// roleNames are the roles as people say them.
func roleNames(roles []string) []string {
	names := map[string]string{app.RoleFrontDesk: "front desk", app.RoleClinician: "clinician",
		app.RoleSecurity: "security officer", app.RoleAdmin: "administrator"}
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = names[r]
		if out[i] == "" {
			out[i] = r
		}
	}
	return out
}

// addShortcuts: Ctrl+L locks (any screen, any focus).
func (u *UI) addShortcuts() {
	lock := &desktop.CustomShortcut{KeyName: fyne.KeyL, Modifier: fyne.KeyModifierShortcutDefault}
	u.win.Canvas().RemoveShortcut(lock)
	u.win.Canvas().AddShortcut(lock, func(fyne.Shortcut) {
		if u.current() != nil {
			u.lockNow("user")
		}
	})
}

// current is the shell showing, or nil on the sign-in / lock screens.
func (u *UI) current() *shell {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.shell
}

// signOutFront ends the session in front and shows the sign-in screen.
func (u *UI) signOutFront() {
	u.work(func(ctx context.Context) error { return u.desk.SignOut(ctx) }, func(err error) {
		u.showSignIn(sentence(err))
	})
}

// showCountdown shows (left > 0) or hides the auto-lock warning.
func (sh *shell) showCountdown(left time.Duration) {
	if left <= 0 || left > warnBefore {
		if sh.countdown.Visible() {
			sh.countdown.Hide()
		}
		return
	}
	what := "Locking"
	if sh.s.ReadOnly() {
		what = "Closing the emergency kit"
	}
	sh.countdown.SetText(fmt.Sprintf("%s in %d s — move the mouse or press a key to stay", what, int((left+time.Second-1)/time.Second)))
	sh.countdown.Show()
}

// closeDialogs removes every dialog and pop-up: they may show patient data
// and must not outlive the session they belong to.
func (u *UI) closeDialogs() {
	ov := u.win.Canvas().Overlays()
	for o := ov.Top(); o != nil; o = ov.Top() {
		ov.Remove(o)
	}
}
