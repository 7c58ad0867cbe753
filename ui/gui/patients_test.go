package gui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"ward/app"
	"ward/store"
)

// The front desk's day on the Patients tab, as a receptionist does it:
// find a patient and read the card (the allergy flag, never the list);
// register a patient (a bad birth date is refused beside the field and
// nothing is saved; a good one opens the new card); edit the phone; be
// warned about a duplicate, register it anyway, then merge it into the
// first record; book a visit from the card. Each step is in the audit chain.
func TestFrontDeskPatients(t *testing.T) {
	c := testClinic(t)
	doc := sessionOf(t, c, "clinician")
	grace := registerPatient(t, doc, "Wilhelmina Quartermaine", "1961-04-02")
	if _, err := doc.AddAllergy(context.Background(), app.NewAllergy{PatientID: grace.ID, Substance: "penicillin", Reaction: "hives"}); err != nil {
		t.Fatal(err)
	}

	u := newTestUI(t, c)
	sh := signInAs(t, u, "frontdesk")
	v := patientsTab(t, sh)
	if u.win.Canvas().Focused() != v.search.entry {
		t.Fatal("the search box does not have the cursor when the Patients tab opens")
	}

	// Find and open a card.
	typeKeys(u, v.search.entry, "quarterm")
	v.search.entry.TypedKey(&fyneKeyReturn)
	u.settle()
	text := visibleText(u)
	if !strings.Contains(text, "Wilhelmina Quartermaine") || !strings.Contains(text, "Has allergies: a clinician has the details") {
		t.Fatalf("the card shows:\n%s", text)
	}
	if strings.Contains(text, "penicillin") || strings.Contains(text, "hives") {
		t.Fatalf("the front desk sees the allergy list:\n%s", text)
	}
	if got := auditActions(t, c); !strings.Contains(got, " patient.read success allergy flag ") ||
		!strings.Contains(got, " appointment.read success upcoming appointments: 0 ") {
		t.Fatalf("opening the card is not audited: %s", got)
	}

	// Register: Ctrl+N opens the form. (Fyne's test canvas has no
	// shortcuts: this is the handler the window runs for Ctrl+N, which a
	// focused keyEntry passes on to it; the real window is checked with
	// xdotool.)
	v.registerShortcut()
	f := v.form
	if f == nil || topOverlay(t, u) == nil {
		t.Fatal("Ctrl+N did not open the register form")
	}
	if u.win.Canvas().Focused() != fyne.Focusable(f.name) {
		t.Fatalf("the register form opens with the cursor in %T, not in the name", u.win.Canvas().Focused())
	}
	dlg := topOverlay(t, u)
	typeKeys(u, f.name, "Oona Vesterberg")
	typeKeys(u, f.born, "1990-02-3")
	if msg := fieldMessage(t, dlg, "Birth date (YYYY-MM-DD)"); msg != "" {
		t.Fatalf("a birth date on its way is already refused: %q", msg)
	}
	typeKeys(u, f.born, "0")
	if msg := fieldMessage(t, dlg, "Birth date (YYYY-MM-DD)"); !strings.Contains(msg, "YYYY-MM-DD") {
		t.Fatalf("no hint beside a birth date that is not a date (1990-02-30): %q", msg)
	}
	f.born.TypedKey(&fyneKeyReturn)
	u.settle()
	if msg := fieldMessage(t, dlg, "Birth date (YYYY-MM-DD)"); msg != "Write the birth date as YYYY-MM-DD, for example 1984-03-17." {
		t.Fatalf("app's message beside the birth date = %q", msg)
	}
	if topOverlay(t, u) != dlg || countFound(t, c, "Vesterberg") != 0 {
		t.Fatal("a patient with a bad birth date was saved, or the form closed")
	}
	assertAudited(t, c, "patient.create failure invalid input: birth date")

	f.born.SetText("")
	typeKeys(u, f.born, "1990-02-03")
	if msg := fieldMessage(t, dlg, "Birth date (YYYY-MM-DD)"); msg != "" {
		t.Fatalf("a good birth date still has a message: %q", msg)
	}
	f.name.TypedKey(&fyneKeyReturn)
	u.settle()
	if len(u.win.Canvas().Overlays().List()) != 0 {
		t.Fatalf("the form stays open after registering:\n%s", visibleText(u))
	}
	oona := v.patient
	if oona.Name != "Oona Vesterberg" || oona.MRN == "" || !strings.Contains(visibleText(u), "Registered Oona Vesterberg, MRN "+oona.MRN) {
		t.Fatalf("after registering, the card shows:\n%s", visibleText(u))
	}
	assertAudited(t, c, "patient.create success")

	// Edit the phone.
	tap(u, v.edit)
	f = v.form
	if f.name.Text != "Oona Vesterberg" || f.born.Text != "1990-02-03" {
		t.Fatalf("the edit form holds %q, %q", f.name.Text, f.born.Text)
	}
	typeKeys(u, f.phone, "555-0199")
	tap(u, f.save)
	if v.patient.Phone != "555-0199" || !strings.Contains(visibleText(u), "phone 555-0199") {
		t.Fatalf("after the edit, the card shows:\n%s", visibleText(u))
	}
	assertAudited(t, c, "patient.update success changed phone")

	// The same name and birth date again: a warning with both choices;
	// the person registers the duplicate anyway.
	tap(u, v.register)
	f = v.form
	typeKeys(u, f.name, "oona  vesterberg")
	typeKeys(u, f.born, "1990-02-03")
	tap(u, f.save)
	if f.duplicate == nil || !strings.Contains(visibleText(u), "A patient with this name and birth date exists") ||
		!strings.Contains(visibleText(u), "MRN "+oona.MRN) {
		t.Fatalf("no duplicate warning:\n%s", visibleText(u))
	}
	tap(u, f.duplicate.anyway)
	dup := v.patient
	if dup.ID == oona.ID || dup.ID == "" || countFound(t, c, "Vesterberg") != 2 {
		t.Fatalf("register anyway: card of %+v", dup)
	}

	// Merge the duplicate (its card is open) into the first record.
	tap(u, v.merge)
	pp := v.picker
	typeKeys(u, pp.search.entry, "vesterb")
	pp.search.list.Select(indexOf(pp.search.results, dup.ID))
	if !pp.message.Visible() || !strings.Contains(pp.message.Text, "same record") {
		t.Fatalf("merging a record into itself: %q", pp.message.Text)
	}
	pp.search.list.Select(indexOf(pp.search.results, oona.ID))
	confirm := textOf(topOverlay(t, u))
	if !strings.Contains(confirm, "Keep: Oona Vesterberg, born 1990-02-03, MRN "+oona.MRN) ||
		!strings.Contains(confirm, "Retire: oona vesterberg, born 1990-02-03, MRN "+dup.MRN) ||
		!strings.Contains(confirm, "cannot be undone") {
		t.Fatalf("the merge confirmation says:\n%s", confirm)
	}
	pressKey(u, fyne.KeyReturn)
	if v.patient.ID != oona.ID || !strings.Contains(visibleText(u), "Merged "+dup.MRN+" into this record") {
		t.Fatalf("after the merge, the card shows:\n%s", visibleText(u))
	}
	if countFound(t, c, "Vesterberg") != 1 {
		t.Fatal("the merged duplicate is still found")
	}
	assertAudited(t, c, "patient.merge success merged duplicate "+dup.ID)

	// Book a visit from the card: the clinician must be chosen.
	tap(u, v.book)
	bf := v.booking
	dlg = topOverlay(t, u)
	tap(u, bf.save)
	if msg := fieldMessage(t, dlg, "Clinician"); msg != "Choose the clinician the patient will see." {
		t.Fatalf("booking with no clinician: %q", msg)
	}
	selectsIn(dlg)[0].SetSelected("Dr. Clara Lin")
	tap(u, bf.save)
	if !strings.Contains(visibleText(u), "Booked: ") || !strings.Contains(rowsText(v.visits, "Dr. Clara Lin"), "booked") {
		t.Fatalf("after booking, the card shows:\n%s", visibleText(u))
	}
	assertAudited(t, c, "appointment.write success booked appointment")
}

// Esc in the register form closes it and saves nothing.
func TestPatientFormEscSavesNothing(t *testing.T) {
	c := testClinic(t)
	u := newTestUI(t, c)
	v := patientsTab(t, signInAs(t, u, "frontdesk"))
	tap(u, v.register)
	f := v.form
	typeKeys(u, f.name, "Should Notbesaved")
	typeKeys(u, f.born, "2000-01-01")
	pressEsc(u)
	u.settle()
	if n := len(u.win.Canvas().Overlays().List()); n != 0 {
		t.Fatalf("Esc left %d dialogs open", n)
	}
	if countFound(t, c, "Notbesaved") != 0 {
		t.Fatal("Esc saved the patient")
	}
	if strings.Contains(auditActions(t, c), " patient.create ") {
		t.Fatal("Esc reached app")
	}
}

// The duplicate warning's other choice opens the record already there.
func TestPatientFormOpenExistingInstead(t *testing.T) {
	c := testClinic(t)
	desk := sessionOf(t, c, "frontdesk")
	there := registerPatient(t, desk, "Kwame Okafor", "1975-09-12")
	u := newTestUI(t, c)
	v := patientsTab(t, signInAs(t, u, "frontdesk"))
	tap(u, v.register)
	f := v.form
	typeKeys(u, f.name, "Kwame Okafor")
	typeKeys(u, f.born, "1975-09-12")
	tap(u, f.save)
	if f.duplicate == nil {
		t.Fatal("no duplicate warning")
	}
	pressKey(u, fyne.KeyReturn) // the default choice: open the record
	if v.patient.ID != there.ID || len(u.win.Canvas().Overlays().List()) != 0 || countFound(t, c, "Okafor") != 1 {
		t.Fatalf("open instead: card %+v, %d dialogs", v.patient, len(u.win.Canvas().Overlays().List()))
	}
}

// A clinician's card offers the chart, not the merge (a front desk task).
func TestClinicianPatientCard(t *testing.T) {
	c := testClinic(t)
	desk := sessionOf(t, c, "frontdesk")
	p := registerPatient(t, desk, "Hiro Tanaka", "1950-01-30")
	u := newTestUI(t, c)
	sh := signInAs(t, u, "clinician")
	v := patientsTab(t, sh)
	typeKeys(u, v.search.entry, "hiro tan")
	v.search.entry.TypedKey(&fyneKeyReturn)
	u.settle()
	if v.patient.ID != p.ID || hasButton(v.cardBox, "Merge into…") || !hasButton(v.cardBox, "Open chart") {
		t.Fatalf("clinician's card:\n%s", textOf(v.cardBox))
	}
	tap(u, v.openChart)
	if sh.tabs.Selected().Text != chartTitle {
		t.Fatal("Open chart did not show the chart")
	}
}

// patientsTab is the shell's Patients tab, selected.
func patientsTab(t testing.TB, sh *shell) *patientsView {
	t.Helper()
	for _, it := range sh.tabs.Items {
		if v, ok := it.Content.(*patientsView); ok {
			sh.tabs.Select(it)
			return v
		}
	}
	t.Fatal("no Patients tab")
	return nil
}

// typeKeys types text one key at a time, waiting for the work each key
// starts (search as you type).
func typeKeys(u *UI, e fyne.Focusable, text string) {
	for _, r := range text {
		test.Type(e, string(r))
		u.settle()
	}
}

// countFound is how many patients a search for q finds (in a front desk
// session of its own).
func countFound(t *testing.T, c *app.Clinic, q string) int {
	t.Helper()
	ps, err := sessionOf(t, c, "frontdesk").SearchPatients(context.Background(), q, 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(ps)
}

// sessionOf signs a demo person in with the demo password, in a session
// of their own (setup and checks, not the screen under test); it is
// signed out when the test ends.
func sessionOf(t testing.TB, c *app.Clinic, username string) *app.Session {
	t.Helper()
	s, err := c.SignIn(context.Background(), username, app.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.SignOut(context.Background()) })
	return s
}

// indexOf is the position of the patient id in ps (-1: not there).
func indexOf(ps []store.Patient, id string) int {
	for i, p := range ps {
		if p.ID == id {
			return i
		}
	}
	return -1
}

// The search box by keyboard alone: Down goes into the matches, the arrow
// keys move, Enter chooses; Up from the first goes back to the box.
func TestPatientSearchKeyboard(t *testing.T) {
	c := testClinic(t)
	desk := sessionOf(t, c, "frontdesk")
	for _, name := range []string{"Ada Lindqvist", "Bruno Lindqvist", "Carmen Lindqvist"} {
		registerPatient(t, desk, name, "1970-01-01")
	}
	u := newTestUI(t, c)
	var chosen store.Patient
	ps := u.newPatientSearch(desk, func(p store.Patient) { chosen = p })
	u.win.SetContent(ps.content)
	typeKeys(u, ps.entry, "lindq")
	down, up := &fyne.KeyEvent{Name: fyne.KeyDown}, &fyne.KeyEvent{Name: fyne.KeyUp}
	ps.entry.TypedKey(down)
	if u.win.Canvas().Focused() != fyne.Focusable(ps.list) {
		t.Fatal("Down did not go into the matches")
	}
	ps.list.TypedKey(down)
	ps.list.TypedKey(up)
	ps.list.TypedKey(down)
	ps.list.TypedKey(&fyneKeyReturn)
	if chosen.ID != ps.results[1].ID {
		t.Fatalf("Down, Up, Down, Enter chose %q, want %q", chosen.Name, ps.results[1].Name)
	}
	ps.list.TypedKey(up)
	ps.list.TypedKey(up)
	if u.win.Canvas().Focused() != fyne.Focusable(ps.entry) {
		t.Fatal("Up from the first match did not go back to the search box")
	}
}
