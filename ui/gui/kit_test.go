package gui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/store"
	"ward/store/audit"
)

// The emergency kit's window, on a real clinic opened with the kit and its
// recovery code after the keyring entry is gone: the red banner and the
// title, only the reading sections, a patient found and the chart read,
// not one control that writes, every read in the chain under the kit with
// the person's name; and the window gone once the kit session idles out.

// kitPatient is the patient the kit's tests read.
const kitPatient = "Theodora Kitson"

// openKit makes a demo clinic with kitPatient (an allergy, a medication, a
// signed note, a visit booked today), forgets its key in the keyring and
// opens it with the emergency kit for "Nurse Ratched", in a kit window.
func openKit(t *testing.T) (*UI, *app.Clinic, *app.Session, store.Patient) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	c, code, err := app.InitDemo(ctx, dir, store.OSKeyring{})
	if err != nil {
		t.Fatalf("demo clinic: %v", err)
	}
	acct, _ := store.KeyringAccount(dir)
	t.Cleanup(func() { store.OSKeyring{}.Delete(acct) })
	doc := sessionOf(t, c, "clinician")
	p := registerPatient(t, doc, kitPatient, "1958-07-14")
	if _, err := doc.AddAllergy(ctx, app.NewAllergy{PatientID: p.ID, Substance: "penicillin", Severity: "severe"}); err != nil {
		t.Fatal(err)
	}
	if _, err := doc.AddMedication(ctx, app.NewMedication{PatientID: p.ID, Name: "warfarin", Dose: "5 mg"}); err != nil {
		t.Fatal(err)
	}
	n, err := doc.WriteNote(ctx, app.NewNote{PatientID: p.ID, Text: "INR stable, keep the dose."})
	if err == nil {
		_, err = doc.SignNote(ctx, n.ID)
	}
	if err == nil {
		_, err = doc.BookAppointment(ctx, app.NewAppointment{PatientID: p.ID, Clinician: "clinician",
			At: startOfDay(time.Now()).Add(23 * time.Hour)})
	}
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := (store.OSKeyring{}).Delete(acct); err != nil {
		t.Fatalf("forgetting the key: %v", err)
	}

	kc, ks, err := app.OpenEmergencyKit(ctx, dir, filepath.Join(dir, store.KitFileName), code, "Nurse Ratched", store.OSKeyring{})
	if err != nil {
		t.Fatalf("opening with the kit: %v", err)
	}
	t.Cleanup(func() { kc.Close() })
	u := NewKit(test.NewTempApp(t), kc, ks)
	u.win.Resize(fyne.NewSize(1100, 720))
	u.settle() // the shell's first look at the replica's freshness
	t.Cleanup(func() {
		u.settle()
		if u.ctx.Err() == nil { // not closed yet (Fyne's test driver refuses a second close)
			u.win.Close()
		}
	})
	return u, kc, ks, p
}

// writeButtons are the labels of every control that changes records or an
// account, or leaves the kit for a sign-in; none may show in the kit.
var writeButtons = []string{"Register new patient", "Edit", "Book appointment", "Merge into…",
	"Check in", "No-show", "Cancel…", "Done", "Print downtime summary",
	"Add allergy…", "Add medication…", "Add problem…", "Change status…", "Stop…",
	"Open encounter…", "Write note in a new visit…", "Write note…", "Close encounter…", "Amend…",
	"Edit…", "Sign…", "Discard…", "Emergency access…",
	"My account", "Lock", "Switch user", "Sign out"}

// shownButtons lists the buttons a person can see in the window: a hidden
// object hides everything inside it (a tab not selected, say).
func shownButtons(u *UI) []string {
	var out []string
	var visit func(o fyne.CanvasObject)
	visit = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		switch x := o.(type) {
		case *widget.Button:
			out = append(out, x.Text)
		case *fyne.Container:
			for _, c := range x.Objects {
				visit(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(x).Objects() {
				visit(c)
			}
		}
	}
	visit(u.win.Canvas().Content())
	for _, o := range u.win.Canvas().Overlays().List() {
		visit(o)
	}
	return out
}

// assertReadOnly fails when a write control shows, and unless every one
// of want does (so that the walk is known to reach where they would be).
func assertReadOnly(t *testing.T, u *UI, where string, want ...string) {
	t.Helper()
	shown := " " + strings.Join(shownButtons(u), " | ") + " "
	for _, b := range writeButtons {
		if strings.Contains(shown, " "+b+" ") {
			t.Errorf("%s: %q shows in the emergency kit's window: %s", where, b, shown)
		}
	}
	for _, b := range want {
		if !strings.Contains(shown, " "+b+" ") {
			t.Errorf("%s: no %q button: %s", where, b, shown)
		}
	}
}

func TestKitWindowReadsOnly(t *testing.T) {
	u, kc, ks, p := openKit(t)
	sh := u.current()
	if sh == nil || sh.s != ks {
		t.Fatal("the kit window does not show the kit session straight away")
	}
	if got, want := u.win.Title(), "Emergency kit (read-only) — "+app.DemoClinicName+" — Ward"; got != want {
		t.Errorf("title = %q, want %q", got, want)
	}
	banner := "READ-ONLY — opened with the emergency kit by Nurse Ratched. Nothing can be changed; " +
		"every record you open is recorded under your name."
	if !strings.Contains(visibleText(u), banner) {
		t.Errorf("no banner; the window shows:\n%s", visibleText(u))
	}
	var tabs []string
	for _, it := range sh.tabs.Items {
		tabs = append(tabs, it.Text)
	}
	if got := strings.Join(tabs, ", "); got != "Patients, Schedule, Chart" {
		t.Errorf("tabs = %s", got)
	}

	// Find the patient and read the card.
	var v *patientsView
	drive(u, func() { v = patientsTab(t, sh) })
	find(u, v.search, "kitson")
	if v.patient.ID != p.ID {
		t.Fatalf("the card of %s is not open:\n%s", kitPatient, visibleText(u))
	}
	assertReadOnly(t, u, "patient card", "Open chart", "Close the emergency kit")
	drive(u, v.registerShortcut) // Ctrl+N
	if v.form != nil {
		t.Error("Ctrl+N opened the register form in the kit")
	}

	// The chart, every pane. (Found with the Chart tab's search: "Open
	// chart" reads the chart while it selects the tab, which Fyne's test
	// driver would run on two goroutines at once.)
	var cv *chartView
	drive(u, func() { cv = chartTab(t, sh) })
	find(u, cv.search, "kitson")
	if cv.chart.Patient.ID != p.ID || cv.allergies.Text != "Allergies: penicillin (severe)" {
		t.Fatalf("the chart is not open: %q\n%s", cv.allergies.Text, visibleText(u))
	}
	for _, pane := range []struct {
		tab            *container.TabItem
		shows, history string
	}{
		{cv.medsTab, "warfarin", "History"},
		{cv.allergiesTab, "penicillin", "History"},
		{cv.notesTab, "INR stable, keep the dose.", "History (1)"},
	} {
		drive(u, func() { cv.panes.Select(pane.tab) })
		if !strings.Contains(visibleText(u), pane.shows) {
			t.Errorf("%s pane does not show %q:\n%s", pane.tab.Text, pane.shows, visibleText(u))
		}
		assertReadOnly(t, u, pane.tab.Text, "Close chart", pane.history)
	}

	// The day's schedule.
	var sv *scheduleView
	drive(u, func() { sv = selectTab[*scheduleView](t, sh) })
	if !strings.Contains(textOf(sv.rows), kitPatient) {
		t.Fatalf("the schedule does not show the visit:\n%s", textOf(sv.rows))
	}
	assertReadOnly(t, u, "schedule", "Open chart", "Previous day")

	// Every read is in the chain under the kit, naming the person.
	entries := kitEntries(t, kc)
	for _, act := range []app.Action{app.ActPatientSearch, app.ActPatientRead, app.ActChartRead, app.ActAppointmentRead} {
		found := false
		for _, e := range entries {
			if e.Action == string(act) && e.Outcome == audit.OutcomeSuccess {
				found = true
				if !strings.Contains(e.Detail, "read by Nurse Ratched") {
					t.Errorf("%s entry does not name the person: %q", act, e.Detail)
				}
			}
		}
		if !found {
			t.Errorf("no %s entry under the emergency kit", act)
		}
	}
	for _, e := range entries {
		if e.Outcome != audit.OutcomeSuccess {
			t.Errorf("the window asked for something the kit refused: %s %s %q", e.Action, e.Outcome, e.Detail)
		}
	}

	// Closing the window signs the kit session out.
	drive(u, func() { test.Tap(buttonIn(t, u.win.Canvas().Content(), "Close the emergency kit")) })
	if _, err := ks.SearchPatients(context.Background(), "kitson", 5); err == nil {
		t.Error("the kit session still reads after its window closed")
	}
	if !hasKitEntry(kitEntries(t, kc), string(app.ActSignOut), "") {
		t.Error("closing the window is not in the chain as the kit's sign-out")
	}
}

// An idle kit session cannot be unlocked (there is no PIN or password):
// it ends, and nothing of the records stays on screen.
func TestKitWindowEndsWhenIdle(t *testing.T) {
	u, kc, ks, _ := openKit(t)
	clock := &fakeClock{t: time.Now()}
	kc.SetClock(clock)
	ks.Touch()
	var v *patientsView
	drive(u, func() { v = patientsTab(t, u.current()) })
	find(u, v.search, "kitson")
	if !strings.Contains(visibleText(u), kitPatient) {
		t.Fatalf("the card is not open:\n%s", visibleText(u))
	}

	// The window's own idle watch does the rest, as in use.
	sh := u.current()
	clock.add(ks.IdleTimeout() - 10*time.Second)
	waitFor(t, "the countdown", func() bool { return strings.Contains(sh.countdown.Text, "Closing the emergency kit in 10 s") })
	clock.add(10 * time.Second)
	waitFor(t, "the window to close", func() bool { return u.ctx.Err() != nil })
	u.settle()
	if u.current() != nil {
		t.Fatal("the kit session is still on screen after its idle timeout")
	}
	if text := visibleText(u); strings.Contains(text, kitPatient) || strings.Contains(text, "Unlock") {
		t.Fatalf("after the idle timeout the window shows:\n%s", text)
	}
	waitFor(t, "the kit's sign-out in the chain", func() bool { // the window's close signs it out on the watch's goroutine
		return hasKitEntry(kitEntries(t, kc), string(app.ActSignOut), "")
	})
	if !hasKitEntry(kitEntries(t, kc), string(app.ActLock), "locked: idle") {
		t.Error("the idle end is not in the chain as the kit's lock")
	}
}

// drive does in the window what a person does, and waits for the work it
// started. Fyne's test driver shows a work's result on the work's own
// goroutine (the real driver, on its one UI goroutine): holding doneMu
// keeps it off the widgets until fn is done with them.
func drive(u *UI, fn func()) {
	func() {
		u.doneMu.Lock()
		defer u.doneMu.Unlock()
		fn()
	}()
	u.settle()
}

// find types q into a patient search key by key and opens the first match.
func find(u *UI, ps *patientSearch, q string) {
	for _, r := range q {
		drive(u, func() { test.Type(ps.entry, string(r)) })
	}
	drive(u, func() { ps.entry.TypedKey(&fyneKeyReturn) })
}

// kitEntries are the chain's entries under the emergency kit, read by the
// demo's security officer.
func kitEntries(t *testing.T, c *app.Clinic) []audit.Entry {
	t.Helper()
	ctx := context.Background()
	s, err := c.SignIn(ctx, "security", app.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer s.SignOut(ctx)
	page, err := s.ReviewAudit(ctx, audit.Review{Filter: audit.Filter{User: app.EmergencyKitUser}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return page
}

func hasKitEntry(entries []audit.Entry, action, detail string) bool {
	for _, e := range entries {
		if e.Action == action && strings.Contains(e.Detail, detail) {
			return true
		}
	}
	return false
}
