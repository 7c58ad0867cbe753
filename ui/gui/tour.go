//go:build screenshots

package gui

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/emergency"
	"ward/store"
)

// The screenshot tour (`make screenshots`): inside the real window, on a
// fresh demo clinic (`ward demo`), it signs in as each demo person, opens
// each of their tabs and a few dialogs, and writes what the window shows
// (Canvas().Capture(), the GL frame itself) as PNGs into $WARD_TOUR_OUT.
// Screens are found by tab title and button label, so the tour keeps
// working as screens change; a screen it cannot find is named in the log
// and skipped, and the tour fails only when the basics (sign-in, tabs) do.

// tourOutEnv names the folder the tour writes into; unset, this build is
// the ordinary app.
const tourOutEnv = "WARD_TOUR_OUT"

// tourSettle is how long the tour lets the window paint after a change
// (llvmpipe under Xvfb draws a frame in a few tens of milliseconds).
const tourSettle = 700 * time.Millisecond

func init() {
	tourHook = func(u *UI) {
		out := os.Getenv(tourOutEnv)
		if out == "" || u.clinic == nil {
			return
		}
		kit := false
		if sh := u.current(); sh != nil && sh.s.ReadOnly() {
			kit = true // the emergency kit's window (RunKit): its own short tour
		}
		go func() {
			t := &tour{u: u, out: out}
			run := t.run
			if kit {
				run = t.runKit
			}
			err := run()
			if err != nil {
				log.Printf("screenshot tour: %v", err)
			}
			log.Printf("screenshot tour: %d screenshots in %s", len(t.shots), out)
			fyne.DoAndWait(u.win.Close)
			if err != nil {
				os.Exit(1)
			}
		}()
	}
}

type tour struct {
	u     *UI
	out   string
	shots []string
}

func (t *tour) run() error {
	if err := os.MkdirAll(t.out, 0o755); err != nil {
		return err
	}
	t.theme("light")
	time.Sleep(2 * tourSettle) // the first frames
	t.shot("sign-in")

	// A wrong password, then the front desk.
	if err := t.signIn("frontdesk", "not the password"); err == nil {
		return errors.New("a wrong password signed in")
	}
	t.shot("sign-in-wrong-password")
	if err := t.signIn("frontdesk", app.DemoPassword); err != nil {
		return err
	}
	visits, err := t.todaysVisits()
	if err != nil {
		return err
	}
	t.everyTab("front-desk")
	if t.tab("Patients") && len(visits) > 0 {
		family := visits[0].PatientName[strings.LastIndex(visits[0].PatientName, " ")+1:]
		if t.typeInto(t.tabContent, family) {
			t.shot("front-desk-search")
			if t.selectFirstRow(t.tabContent) {
				t.shot("front-desk-patient-card")
			}
		}
		if t.press(t.tabContent, "Register new patient") {
			if t.press(t.overlay, "Register", "Save") {
				t.shot("register-validation")
			}
			t.on(t.u.closeDialogs)
		}
	}
	t.on(func() { t.u.lockNow("user") })
	t.shot("lock-screen")

	// The clinician: the chart of the first patient of the day (the demo
	// fills it: allergies, medications, problems, a signed and amended note).
	if err := t.signIn("clinician", app.DemoPassword); err != nil {
		return err
	}
	t.everyTab("clinician")
	if len(visits) > 0 {
		opened := false
		t.on(func() { opened = t.u.openChart(visits[0].PatientID) })
		if opened {
			t.shot("chart")
			if t.innerTab("Encounters & notes") {
				t.shot("chart-notes")
				if t.press(t.tabContent, "History") {
					t.shot("note-history")
					t.on(t.u.closeDialogs)
				}
			}
			t.theme("dark")
			t.shot("chart-dark")
			t.theme("light")
		}
	}
	// Emergency access: the demo day's restricted chart is refused, then
	// opened by break-glass under the red banner.
	if len(visits) > app.DemoRestrictedVisit {
		opened := false
		t.on(func() { opened = t.u.openChart(visits[app.DemoRestrictedVisit].PatientID) })
		if opened {
			t.shot("chart-restricted")
			if t.press(t.tabContent, "Emergency access") {
				t.choose(t.overlay, emergency.ReasonLabel(emergency.ReasonUnconscious))
				t.shot("break-glass")
				if t.press(t.overlay, "Open the chart") {
					t.shot("chart-emergency-access")
				}
			}
		}
	}

	// The security officer: audit, verify, export, people.
	if err := t.switchTo("security"); err != nil {
		return err
	}
	t.everyTab("security")
	if t.tab(reviewTitle) && t.press(t.tabContent, "Review") {
		t.choose(t.overlay, "Appropriate")
		t.shot("emergency-review")
		t.on(t.u.closeDialogs)
	}
	if t.tab("Audit") {
		if t.press(t.tabContent, "Verify") {
			time.Sleep(3 * time.Second) // verification runs with progress
			t.shot("audit-verify")
			t.on(t.u.closeDialogs)
		}
		if t.press(t.tabContent, "Export") {
			t.shot("audit-export")
			t.on(t.u.closeDialogs)
		}
	}

	// The administrator: settings, workstations, people, their own account.
	if err := t.switchTo("admin"); err != nil {
		return err
	}
	t.everyTab("admin")
	if t.tab("Workstations") && t.press(t.tabContent, "Invite a workstation") {
		t.shot("workstations-invite")
		t.on(t.u.closeDialogs)
	}
	if t.press(t.windowContent, "My account") {
		t.shot("my-account")
		if t.press(t.overlay, "Set up", "authenticator", "TOTP") {
			t.shot("totp-enrolment")
		}
		t.on(t.u.closeDialogs)
	}
	t.theme("dark")
	t.on(func() { t.u.lockNow("user") })
	t.shot("lock-screen-dark")
	t.theme("")
	return nil
}

// runKit is the tour of the emergency kit's read-only window: the first
// patient of the day's chart under the READ-ONLY banner.
func (t *tour) runKit() error {
	t.theme("light")
	time.Sleep(2 * tourSettle)
	visits, err := t.todaysVisits()
	if err != nil {
		return err
	}
	if len(visits) == 0 {
		return errors.New("the kit's window shows no visits today")
	}
	opened := false
	t.on(func() { opened = t.u.openChart(visits[0].PatientID) })
	if !opened {
		return errors.New("the kit's window has no Chart tab")
	}
	t.shot("kit-readonly")
	return nil
}

// theme shows the window in a theme choice ("", "light", "dark") without
// storing it in the preferences.
func (t *tour) theme(choice string) {
	t.on(func() { t.u.fa.Settings().SetTheme(themeFor(choice)) })
}

// on runs fn on the Fyne goroutine, waits for the work it started, and
// lets the window paint.
func (t *tour) on(fn func()) {
	fyne.DoAndWait(fn)
	t.u.settle()
	time.Sleep(tourSettle)
}

// shot writes what the window shows to name.png. The X server's copy of
// the window is taken (imagemagick's import): reading the GL front buffer
// (Canvas().Capture()) gives black frames under Xvfb's software GL.
func (t *tour) shot(name string) {
	var xid uintptr
	fyne.DoAndWait(func() {
		if nw, ok := t.u.win.(driver.NativeWindow); ok {
			nw.RunNative(func(ctx any) {
				if x, ok := ctx.(driver.X11WindowContext); ok {
					xid = x.WindowHandle
				}
			})
		}
	})
	if xid == 0 {
		log.Printf("screenshot tour: %s: the window is not an X11 window (run the tour under Xvfb)", name)
		return
	}
	out, err := exec.Command("import", "-window", strconv.FormatUint(uint64(xid), 10),
		filepath.Join(t.out, name+".png")).CombinedOutput()
	if err != nil {
		log.Printf("screenshot tour: %s: import: %v: %s", name, err, out)
		return
	}
	t.shots = append(t.shots, name)
}

// signIn signs username in at the sign-in screen (from the lock screen, via
// "Someone else") and waits for the shell.
func (t *tour) signIn(username, password string) error {
	var msg string
	t.on(func() {
		f := t.u.signin
		if f == nil {
			msg = "the sign-in screen is not showing"
			return
		}
		if f.unlockFor != nil {
			t.u.showSignIn("")
			f = t.u.signin
		}
		f.username.SetText(username)
		f.password.SetText(password)
		f.password.OnSubmitted(password)
	})
	if msg != "" {
		return errors.New(msg)
	}
	fyne.DoAndWait(func() {
		if t.u.current() == nil {
			msg = t.u.signin.message.Text
		}
	})
	if msg != "" {
		return fmt.Errorf("signing in as %s: %s", username, msg)
	}
	return nil
}

// switchTo is "Switch user", then signing in as username.
func (t *tour) switchTo(username string) error {
	t.on(func() { t.u.lockNow("switch") })
	return t.signIn(username, app.DemoPassword)
}

// todaysVisits is today's schedule of the demo clinician, as the person in
// front reads it.
func (t *tour) todaysVisits() ([]store.ScheduledVisit, error) {
	sh := t.u.current()
	if sh == nil {
		return nil, errors.New("nobody is signed in")
	}
	vs, err := sh.s.DaySchedule(context.Background(), time.Now(), app.DemoUsers[2].Username)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		log.Printf("screenshot tour: the demo clinician has no appointments today (make the clinic with `ward demo`)")
	}
	return vs, nil
}

// everyTab writes one screenshot per tab of the person in front.
func (t *tour) everyTab(who string) {
	var titles []string
	fyne.DoAndWait(func() {
		if sh := t.u.current(); sh != nil {
			for _, it := range sh.tabs.Items {
				titles = append(titles, it.Text)
			}
		}
	})
	for _, title := range titles {
		if i := strings.Index(title, " ("); i > 0 {
			title = title[:i] // a count in the title is not part of the file name
		}
		if t.tab(title) {
			t.shot(who + "-" + strings.ToLower(strings.ReplaceAll(title, " ", "-")))
		}
	}
}

// tab brings the shell's tab with this title (and perhaps a count, "Emergency
// access (1)") to the front.
func (t *tour) tab(title string) bool {
	found := false
	t.on(func() {
		if sh := t.u.current(); sh != nil {
			for _, it := range sh.tabs.Items {
				if it.Text == title || strings.HasPrefix(it.Text, title+" (") {
					sh.tabs.Select(it)
					found = true
				}
			}
		}
	})
	if !found {
		log.Printf("screenshot tour: no %q tab", title)
	}
	return found
}

// innerTab selects a tab with this title inside the current tab (the
// chart's panes).
func (t *tour) innerTab(title string) bool {
	found := false
	t.on(func() {
		tourWalk(t.tabContent(), func(o fyne.CanvasObject) bool {
			if tabs, ok := o.(*container.AppTabs); ok {
				for _, it := range tabs.Items {
					if strings.HasPrefix(it.Text, title) { // "Encounters & notes (2)"
						tabs.Select(it)
						found = true
					}
				}
			}
			return !found
		})
	})
	if !found {
		log.Printf("screenshot tour: no %q pane", title)
	}
	return found
}

// tabContent is the current tab's content (on the Fyne goroutine).
func (t *tour) tabContent() fyne.CanvasObject {
	if sh := t.u.current(); sh != nil && sh.tabs.Selected() != nil {
		return sh.tabs.Selected().Content
	}
	return nil
}

// windowContent is the whole window (on the Fyne goroutine).
func (t *tour) windowContent() fyne.CanvasObject { return t.u.win.Canvas().Content() }

// overlay is the top dialog (on the Fyne goroutine).
func (t *tour) overlay() fyne.CanvasObject { return t.u.win.Canvas().Overlays().Top() }

// press taps the first enabled button under root (a func so that it is
// looked up on the Fyne goroutine) whose label contains one of labels.
func (t *tour) press(root func() fyne.CanvasObject, labels ...string) bool {
	found := false
	t.on(func() {
		tourWalk(root(), func(o fyne.CanvasObject) bool {
			b, ok := o.(*widget.Button)
			if !ok || b.Disabled() || !b.Visible() || b.OnTapped == nil {
				return true
			}
			for _, l := range labels {
				if strings.Contains(strings.ToLower(b.Text), strings.ToLower(l)) {
					b.OnTapped()
					found = true
					return false
				}
			}
			return true
		})
	})
	if !found {
		log.Printf("screenshot tour: no button %q", strings.Join(labels, "/"))
	}
	return found
}

// choose selects option in the first radio group under root that has it.
func (t *tour) choose(root func() fyne.CanvasObject, option string) bool {
	found := false
	t.on(func() {
		tourWalk(root(), func(o fyne.CanvasObject) bool {
			if r, ok := o.(*widget.RadioGroup); ok && slices.Contains(r.Options, option) {
				r.SetSelected(option)
				found = true
			}
			return !found
		})
	})
	if !found {
		log.Printf("screenshot tour: no choice %q", option)
	}
	return found
}

// typeInto puts text in the first text field under root, as typing would.
func (t *tour) typeInto(root func() fyne.CanvasObject, text string) bool {
	found := false
	t.on(func() {
		tourWalk(root(), func(o fyne.CanvasObject) bool {
			// Any text field: widget.Entry or a widget built on it.
			if e, ok := o.(textField); ok && !e.Disabled() {
				t.u.win.Canvas().Focus(e)
				e.SetText(text)
				found = true
			}
			return !found
		})
	})
	time.Sleep(tourSettle) // search as you type answers
	t.u.settle()
	if !found {
		log.Printf("screenshot tour: no text field")
	}
	return found
}

// textField is what typeInto can type into.
type textField interface {
	fyne.Focusable
	fyne.Disableable
	SetText(string)
}

// selectFirstRow selects the first row of the first list under root.
func (t *tour) selectFirstRow(root func() fyne.CanvasObject) bool {
	found := false
	t.on(func() {
		tourWalk(root(), func(o fyne.CanvasObject) bool {
			l, ok := o.(*widget.List)
			if r, isResults := o.(*resultList); isResults { // the patient search's list
				l, ok = &r.List, true
			}
			if ok && l.Length != nil && l.Length() > 0 {
				l.Select(0)
				found = true
			}
			return !found
		})
	})
	if !found {
		log.Printf("screenshot tour: no list with rows")
	}
	return found
}

// tourWalk visits o and everything drawn inside it, depth first, while fn
// says to go on. On the Fyne goroutine.
func tourWalk(o fyne.CanvasObject, fn func(fyne.CanvasObject) bool) bool {
	if o == nil || !o.Visible() {
		return true
	}
	if !fn(o) {
		return false
	}
	var kids []fyne.CanvasObject
	switch x := o.(type) {
	case *fyne.Container:
		kids = x.Objects
	case fyne.Widget:
		kids = test.WidgetRenderer(x).Objects()
	}
	for _, k := range kids {
		if !tourWalk(k, fn) {
			return false
		}
	}
	return true
}
