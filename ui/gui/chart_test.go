package gui

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/store"
)

// The chart, driven as a clinician drives it: search, open, read the
// header, add and change the lists, write, sign and amend notes; and what
// it refuses: someone else's draft, a signed note, a restricted chart, a
// front-desk person.

// A patient with an allergy is found with the chart's search and opened;
// the header names the patient and the allergy. An allergy added in the
// chart shows in the header at once; a missing substance is said beside
// the field; an allergy marked inactive leaves the header and shows under
// "show all", with its history.
func TestChartHeaderAndAllergies(t *testing.T) {
	c := testClinic(t)
	u := newTestUI(t, c)
	sh := signInAs(t, u, "clinician")
	ctx := context.Background()
	p := registerPatient(t, sh.s, "Wilhelmina Quartermaine", "1961-04-02")
	if _, err := sh.s.AddAllergy(ctx, app.NewAllergy{PatientID: p.ID, Substance: "penicillin", Reaction: "hives", Severity: "severe"}); err != nil {
		t.Fatal(err)
	}
	other := registerPatient(t, sh.s, "Oskar Lindqvist", "1990-01-01")

	cv := chartTab(t, sh)
	for _, r := range "quarterm" {
		test.Type(cv.search.entry, string(r))
		u.settle()
	}
	cv.search.entry.TypedKey(&fyneKeyReturn)
	u.settle()
	if cv.chart.Patient.ID != p.ID {
		t.Fatalf("the chart of %q is not open: %q", p.Name, visibleText(u))
	}
	if u.win.Canvas().Focused() == fyne.Focusable(cv.search.entry) {
		t.Error("the search box, off screen, still takes the keys")
	}
	if cv.name.Text != "Wilhelmina Quartermaine" || !strings.Contains(cv.facts.Text, "born 1961-04-02 (") || !strings.Contains(cv.facts.Text, "MRN "+p.MRN) {
		t.Errorf("header: %q / %q", cv.name.Text, cv.facts.Text)
	}
	if got := cv.allergies.Text; got != "Allergies: penicillin (severe, hives)" || cv.allergies.Importance != widget.DangerImportance {
		t.Errorf("allergy line = %q (importance %v)", got, cv.allergies.Importance)
	}

	// Add one: first without a substance, then right.
	tap(u, cv.allergyList.add)
	dlg := topOverlay(t, u)
	tap(u, buttonIn(t, dlg, "Add allergy"))
	if got := fieldMessage(t, dlg, "Substance"); got != "The substance is required." {
		t.Fatalf("message beside Substance = %q", got)
	}
	test.Type(entriesIn(dlg)[0], "latex")
	tap(u, buttonIn(t, dlg, "Add allergy"))
	if overlayShowing(u.win.Canvas(), dlg) {
		t.Fatalf("the dialog stayed open: %s", visibleText(u))
	}
	if got := cv.allergies.Text; got != "Allergies: penicillin (severe, hives) · latex" {
		t.Errorf("allergy line after adding latex = %q", got)
	}
	assertAudited(t, c, "allergy.write", "chart.read")
	if got := auditActions(t, c); !strings.Contains(got, " allergy.write failure invalid input: substance ") {
		t.Errorf("the refused allergy is not in the audit chain: %s", got)
	}

	// Mark latex inactive: out of the header, still under "show all".
	cv.panes.Select(cv.allergiesTab)
	tap(u, rowButton(t, cv.allergyList.rows, "latex", "Change status…"))
	dlg = topOverlay(t, u)
	radiosIn(dlg)[0].SetSelected(store.AllergyInactive)
	tap(u, buttonIn(t, dlg, "Save"))
	if got := cv.allergies.Text; got != "Allergies: penicillin (severe, hives)" {
		t.Errorf("allergy line after latex went inactive = %q", got)
	}
	if rowsText(cv.allergyList.rows, "latex") != "" {
		t.Error("an inactive allergy is listed without show all")
	}
	cv.allergyList.all.SetChecked(true)
	if got := rowsText(cv.allergyList.rows, "latex"); !strings.Contains(got, "inactive") {
		t.Errorf("show all: latex row = %q", got)
	}
	tap(u, rowButton(t, cv.allergyList.rows, "latex", "History"))
	hist := textOf(topOverlay(t, u))
	if !strings.Contains(hist, "Created ") || !strings.Contains(hist, "Changed ") || !strings.Contains(hist, "on this workstation") {
		t.Errorf("history of latex:\n%s", hist)
	}
	closeTop(u)

	// Another patient: no known allergies.
	tap(u, cv.closeChart)
	if cv.patientID != "" || cv.chart.Patient.ID != "" || cv.name.Text != "" {
		t.Fatal("Close chart kept the chart")
	}
	if u.win.Canvas().Focused() != fyne.Focusable(cv.search.entry) {
		t.Error("after Close chart the cursor is not in the search box")
	}
	if !u.openChart(other.ID) {
		t.Fatal("openChart refused a clinician")
	}
	u.settle()
	if got := cv.allergies.Text; got != "No known allergies" {
		t.Errorf("allergy line of a patient without allergies = %q", got)
	}
}

// Medications and problems: a wrong start date is said beside its field;
// a medication added, then stopped, leaves the active list and shows
// under "show stopped"; a problem added, then resolved, likewise.
func TestChartMedicationsAndProblems(t *testing.T) {
	c := testClinic(t)
	u := newTestUI(t, c)
	sh := signInAs(t, u, "clinician")
	p := registerPatient(t, sh.s, "Amir Haddad", "1975-08-30")
	cv := chartTab(t, sh)
	if !u.openChart(p.ID) {
		t.Fatal("openChart refused")
	}
	u.settle()
	today := time.Now().Format("2006-01-02")

	cv.panes.Select(cv.medsTab)
	tap(u, cv.medications.add)
	dlg := topOverlay(t, u)
	es := entriesIn(dlg)
	for i, s := range []string{"metformin", "500 mg", "oral", "twice a day", "last week"} {
		test.Type(es[i], s)
	}
	es[4].TypedKey(&fyneKeyReturn) // Enter saves
	u.settle()
	if got := fieldMessage(t, dlg, "Started on"); !strings.Contains(got, "Write the start date as YYYY-MM-DD") {
		t.Fatalf("message beside Started on = %q", got)
	}
	es[4].SetText("2024-01-05")
	tap(u, buttonIn(t, dlg, "Add medication"))
	if got := rowsText(cv.medications.rows, "metformin"); !strings.Contains(got, "metformin (500 mg, oral, twice a day)") || !strings.Contains(got, "started 2024-01-05") {
		t.Fatalf("medication row = %q", got)
	}
	tap(u, rowButton(t, cv.medications.rows, "metformin", "Stop…"))
	dlg = topOverlay(t, u)
	if got := entriesIn(dlg)[0].Text; got != today {
		t.Errorf("stop date starts at %q, want today", got)
	}
	tap(u, buttonIn(t, dlg, "Stop medication"))
	if rowsText(cv.medications.rows, "metformin") != "" {
		t.Error("a stopped medication is listed without show stopped")
	}
	cv.medications.all.SetChecked(true)
	if got := rowsText(cv.medications.rows, "metformin"); !strings.Contains(got, "stopped · started 2024-01-05 · stopped "+today) {
		t.Errorf("show stopped: row = %q", got)
	}
	if cv.medsTab.Text != "Medications (0)" {
		t.Errorf("medications tab = %q", cv.medsTab.Text)
	}

	cv.panes.Select(cv.problemsTab)
	tap(u, cv.problems.add)
	dlg = topOverlay(t, u)
	es = entriesIn(dlg)
	for i, s := range []string{"Type 2 diabetes", "E11.9", "2019"} {
		test.Type(es[i], s)
	}
	tap(u, buttonIn(t, dlg, "Add problem"))
	if got := rowsText(cv.problems.rows, "diabetes"); !strings.Contains(got, "Type 2 diabetes (E11.9)") || !strings.Contains(got, "active · onset 2019") {
		t.Fatalf("problem row = %q", got)
	}
	tap(u, rowButton(t, cv.problems.rows, "diabetes", "Change status…"))
	dlg = topOverlay(t, u)
	if got := radiosIn(dlg)[0].Selected; got != store.ProblemResolved {
		t.Errorf("the status dialog of an active problem starts at %q, want resolved", got)
	}
	tap(u, buttonIn(t, dlg, "Save"))
	if rowsText(cv.problems.rows, "diabetes") != "" {
		t.Error("a resolved problem is listed without show all")
	}
	cv.problems.all.SetChecked(true)
	if got := rowsText(cv.problems.rows, "diabetes"); !strings.Contains(got, "resolved since "+today) {
		t.Errorf("show all: problem row = %q", got)
	}
	assertAudited(t, c, "medication.write", "problem.write")
	if got := auditActions(t, c); strings.Contains(got, "metformin") || strings.Contains(got, "diabetes") {
		t.Errorf("what the patient takes or has is in the audit chain: %s", got)
	}
}

// Notes: open an encounter, write a draft, edit it, sign it (after the
// confirmation): it shows read-only, and an edit forced on it is refused
// with a sentence. Amend it: the amendment is a draft, then signed; the
// note's history shows both versions. No note text reaches the audit chain.
func TestChartNotesWriteSignAmend(t *testing.T) {
	c := testClinic(t)
	u := newTestUI(t, c)
	sh := signInAs(t, u, "clinician")
	p := registerPatient(t, sh.s, "Grace Okafor", "1948-11-12")
	cv := chartTab(t, sh)
	u.openChart(p.ID)
	u.settle()

	cv.panes.Select(cv.notesTab)
	tap(u, buttonIn(t, cv.notes.content, "Open encounter…"))
	dlg := topOverlay(t, u)
	selectsIn(dlg)[0].SetSelected("phone")
	tap(u, buttonIn(t, dlg, "Open encounter"))
	if len(cv.chart.Encounters) != 1 || cv.chart.Encounters[0].Kind != "phone" {
		t.Fatalf("encounters after opening one: %+v", cv.chart.Encounters)
	}
	if !strings.Contains(textOf(cv.notes.rows), "Phone · ") {
		t.Errorf("the encounter is not shown:\n%s", textOf(cv.notes.rows))
	}

	tap(u, buttonIn(t, cv.notes.rows, "Write note…"))
	dlg = topOverlay(t, u)
	note := entriesIn(dlg)[0]
	if !note.MultiLine {
		t.Fatal("the note field is not multi-line")
	}
	test.Type(note, "Reports a mild headache since Tuesday.")
	tap(u, buttonIn(t, dlg, "Save draft"))
	if got := textOf(cv.notes.rows); !strings.Contains(got, "Draft note, not signed") || !strings.Contains(got, "mild headache") {
		t.Fatalf("the draft is not shown:\n%s", got)
	}

	tap(u, buttonIn(t, cv.notes.rows, "Edit…"))
	dlg = topOverlay(t, u)
	note = entriesIn(dlg)[0]
	note.SetText("Reports a mild headache since Tuesday. No fever.")
	note.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape}) // changed text: Esc asks first
	ask := topOverlay(t, u)
	if ask == dlg || !strings.Contains(textOf(ask), "will be lost") {
		t.Fatalf("Esc on a changed note did not ask: %s", textOf(ask))
	}
	closeTop(u) // Esc again: keep writing
	if topOverlay(t, u) != dlg {
		t.Fatal("keeping on writing closed the editor")
	}
	tap(u, buttonIn(t, dlg, "Save draft"))
	draft := onlyThread(t, cv).Newest()
	if draft.Body != "Reports a mild headache since Tuesday. No fever." || draft.Status != store.NoteDraft {
		t.Fatalf("draft after editing: %+v", draft)
	}

	tap(u, buttonIn(t, cv.notes.rows, "Sign…"))
	dlg = topOverlay(t, u)
	if !strings.Contains(textOf(dlg), "Signed notes cannot be changed; corrections are amendments.") {
		t.Fatalf("sign confirmation says:\n%s", textOf(dlg))
	}
	tap(u, buttonIn(t, dlg, "Sign note"))
	signed := onlyThread(t, cv).Current()
	if signed.Status != store.NoteSigned {
		t.Fatalf("the note is not signed: %+v", signed)
	}
	if hasButton(cv.notes.rows, "Edit…") || hasButton(cv.notes.rows, "Sign…") || hasButton(cv.notes.rows, "Discard…") {
		t.Error("a signed note still offers to edit, sign or discard it")
	}
	if !strings.Contains(textOf(cv.notes.rows), "Signed note · signed ") {
		t.Errorf("the signed note is not shown as signed:\n%s", textOf(cv.notes.rows))
	}

	// An edit forced on the signed note (as a stale screen could) is refused.
	cv.editDraft(signed)
	dlg = topOverlay(t, u)
	entriesIn(dlg)[0].SetText("Changed after signing.")
	tap(u, buttonIn(t, dlg, "Save draft"))
	if got := textOf(dlg); !strings.Contains(got, "This note is signed and cannot be changed: write an amendment instead.") {
		t.Fatalf("a forced edit of a signed note shows:\n%s", got)
	}
	closeTop(u)                 // Esc: the typed text would be lost, so it asks
	pressKey(u, fyne.KeyReturn) // Enter: close without saving
	if u.win.Canvas().Overlays().Top() != nil {
		t.Fatal("the editor is still open")
	}

	tap(u, buttonIn(t, cv.notes.rows, "Amend…"))
	dlg = topOverlay(t, u)
	note = entriesIn(dlg)[0]
	if note.Text != signed.Body {
		t.Errorf("the amendment starts from %q, want the signed text", note.Text)
	}
	note.SetText("Reports a mild headache since Monday. No fever.")
	tap(u, buttonIn(t, dlg, "Save draft"))
	if got := textOf(cv.notes.rows); !strings.Contains(got, "Draft amendment, not signed") || hasButton(cv.notes.rows, "Amend…") {
		t.Fatalf("after amending:\n%s", got)
	}
	tap(u, buttonIn(t, cv.notes.rows, "Sign…"))
	tap(u, buttonIn(t, topOverlay(t, u), "Sign note"))
	th := onlyThread(t, cv)
	if len(th.Versions) != 2 || th.Current().Body != "Reports a mild headache since Monday. No fever." || th.Current().AmendsID != signed.ID {
		t.Fatalf("thread after signing the amendment: %+v", th.Versions)
	}
	if !strings.Contains(textOf(cv.notes.rows), "amended: version 2") {
		t.Errorf("the amended note:\n%s", textOf(cv.notes.rows))
	}
	tap(u, buttonIn(t, cv.notes.rows, "History (2)"))
	hist := textOf(topOverlay(t, u))
	for _, want := range []string{"Version 1 · Original", "since Tuesday", "Version 2 · Amendment of version 1", "since Monday", "by Dr. Clara Lin"} {
		if !strings.Contains(hist, want) {
			t.Errorf("note history lacks %q:\n%s", want, hist)
		}
	}
	closeTop(u)

	// A draft in a new visit, discarded.
	tap(u, buttonIn(t, cv.notes.content, "Write note in a new visit…"))
	dlg = topOverlay(t, u)
	test.Type(entriesIn(dlg)[0], "Wrong patient, sorry.")
	tap(u, buttonIn(t, dlg, "Save draft"))
	if len(cv.chart.Encounters) != 2 {
		t.Fatalf("a note in a new visit: %d encounters", len(cv.chart.Encounters))
	}
	tap(u, buttonIn(t, cv.notes.rows, "Discard…"))
	tap(u, buttonIn(t, topOverlay(t, u), "Discard draft"))
	if strings.Contains(textOf(cv.notes.rows), "Wrong patient") {
		t.Error("the discarded draft is still shown")
	}

	assertAudited(t, c, "encounter.write", "note.write", "note.sign", "note.amend", "chart.read")
	got := auditActions(t, c)
	if !strings.Contains(got, " note.write failure ") {
		t.Errorf("the refused edit of a signed note is not in the audit chain: %s", got)
	}
	for _, words := range []string{"headache", "Tuesday", "Monday", "fever", "Wrong patient"} {
		if strings.Contains(got, words) {
			t.Errorf("note text %q is in the audit chain", words)
		}
	}
}

// A second clinician sees the first one's draft but is not offered to
// sign it; signing it anyway is refused with a sentence, audited as denied.
func TestChartOthersDraft(t *testing.T) {
	c := testClinic(t)
	addClinician(t, c, "drsmith", "Dr. Ann Smith")
	ctx := context.Background()
	first, err := c.SignIn(ctx, "clinician", app.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	p := registerPatient(t, first, "Leila Rahman", "1983-02-14")
	draft, err := first.WriteNote(ctx, app.NewNote{PatientID: p.ID, Text: "Follow-up in two weeks."})
	if err != nil {
		t.Fatal(err)
	}
	first.SignOut(ctx)

	u := newTestUI(t, c)
	sh := signInAs(t, u, "drsmith")
	cv := chartTab(t, sh)
	u.openChart(p.ID)
	u.settle()
	cv.panes.Select(cv.notesTab)
	if got := textOf(cv.notes.rows); !strings.Contains(got, "by Dr. Clara Lin · only its author can edit, sign or discard it") {
		t.Errorf("someone else's draft shows:\n%s", got)
	}
	if hasButton(cv.notes.rows, "Sign…") || hasButton(cv.notes.rows, "Edit…") {
		t.Error("someone else's draft is offered to sign or edit")
	}
	cv.signNote(draft)
	u.settle()
	if got := cv.message.Text; got != "Only the author of a draft note can edit, sign or discard it." || cv.message.Importance != widget.DangerImportance {
		t.Errorf("signing someone else's draft says %q", got)
	}
	if got := auditActions(t, c); !strings.Contains(got, " note.sign denied refused: only the author") {
		t.Errorf("the refusal is not audited: %s", got)
	}
}

// A restricted chart the clinician is not named for: the Chart tab says
// why and what to do instead, shows nothing of it, and the attempt is
// audited as denied. The front desk has no Chart tab at all.
func TestChartRestrictedAndFrontDesk(t *testing.T) {
	c := testClinic(t)
	addClinician(t, c, "drsmith", "Dr. Ann Smith")
	p := restrictedPatient(t, c, "Nadia Petrov", "2001-06-09", "drsmith")

	u := newTestUI(t, c)
	sh := signInAs(t, u, "clinician")
	cv := chartTab(t, sh)
	sh.tabs.SelectIndex(0)
	if !u.openChart(p.ID) || sh.tabs.Selected().Text != chartTitle {
		t.Fatal("openChart did not show the Chart tab")
	}
	u.settle()
	want := "This patient's chart is restricted to named clinicians; in an emergency, use emergency access."
	if cv.refused.Text != want || cv.root.Objects[0] != cv.refusedBox {
		t.Fatalf("restricted chart: %q", cv.refused.Text)
	}
	if strings.Contains(visibleText(u), "Nadia") {
		t.Error("the refused chart shows the patient's name")
	}
	if got := auditActions(t, c); !strings.Contains(got, " chart.read denied restricted chart ") {
		t.Errorf("the refused chart is not audited as denied: %s", got)
	}

	tap(u, sh.switchU)
	fd := signInAs(t, u, "frontdesk")
	for _, it := range fd.tabs.Items {
		if it.Text == chartTitle {
			t.Fatal("the front desk has a Chart tab")
		}
	}
	if u.openChart(p.ID) {
		t.Error("openChart opened a chart for the front desk")
	}
}

// restrictedPatient registers a patient at the front desk and has the
// security officer restrict the chart to the clinicians named (setup).
func restrictedPatient(t *testing.T, c *app.Clinic, name, born string, clinicians ...string) store.Patient {
	t.Helper()
	ctx := context.Background()
	desk, err := c.SignIn(ctx, "frontdesk", app.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer desk.SignOut(ctx)
	p := registerPatient(t, desk, name, born)
	sec, err := c.SignIn(ctx, "security", app.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer sec.SignOut(ctx)
	if err := sec.RestrictPatient(ctx, p.ID, clinicians); err != nil {
		t.Fatal(err)
	}
	return p
}

// registerPatient adds a patient through s (setup, not under test).
func registerPatient(t *testing.T, s *app.Session, name, born string) store.Patient {
	t.Helper()
	p, err := s.RegisterPatient(context.Background(), app.NewPatient{Name: name, BirthDate: born})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// addClinician adds a second clinician (the demo password) as the demo admin.
func addClinician(t *testing.T, c *app.Clinic, username, name string) {
	t.Helper()
	ctx := context.Background()
	admin, err := c.SignIn(ctx, "admin", app.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.SignOut(ctx)
	if _, err := admin.AddUser(ctx, app.NewUser{Username: username, Name: name, Roles: []string{app.RoleClinician}, Password: app.DemoPassword}); err != nil {
		t.Fatal(err)
	}
}

// chartTab is the shell's Chart tab, selected.
func chartTab(t *testing.T, sh *shell) *chartView { return selectTab[*chartView](t, sh) }

// selectTab selects the shell's tab whose screen is a T, and returns it.
func selectTab[T fyne.CanvasObject](t *testing.T, sh *shell) T {
	t.Helper()
	for _, it := range sh.tabs.Items {
		if v, ok := it.Content.(T); ok {
			sh.tabs.Select(it)
			return v
		}
	}
	var none T
	t.Fatalf("no %T tab", none)
	return none
}

// onlyThread is the one note thread of the open chart.
func onlyThread(t *testing.T, cv *chartView) store.NoteThread {
	t.Helper()
	var ts []store.NoteThread
	for _, e := range cv.chart.Encounters {
		ts = append(ts, e.Notes...)
	}
	if len(ts) != 1 {
		t.Fatalf("%d note threads, want 1", len(ts))
	}
	return ts[0]
}

// topOverlay is the dialog on top of the window.
func topOverlay(t *testing.T, u *UI) fyne.CanvasObject {
	t.Helper()
	o := u.win.Canvas().Overlays().Top()
	if o == nil {
		t.Fatal("no dialog shows")
	}
	return o
}

// closeTop presses Esc with nothing focused (the dialog's own handling).
func closeTop(u *UI) { pressKey(u, fyne.KeyEscape) }

// pressKey presses a key with no widget focused.
func pressKey(u *UI, k fyne.KeyName) {
	u.win.Canvas().Unfocus()
	u.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: k})
	u.settle()
}

// walk lists o and everything drawn inside it that is visible.
func walk(o fyne.CanvasObject) []fyne.CanvasObject {
	var out []fyne.CanvasObject
	for _, x := range test.LaidOutObjects(o) {
		if x.Visible() {
			out = append(out, x)
		}
	}
	return out
}

// textOf is the text of every label and button inside o.
func textOf(o fyne.CanvasObject) string {
	var b strings.Builder
	for _, x := range walk(o) {
		switch w := x.(type) {
		case *widget.Label:
			b.WriteString(w.Text + "\n")
		case *widget.Button:
			b.WriteString(w.Text + "\n")
		}
	}
	return b.String()
}

// buttonIn is the first button labelled label inside o.
func buttonIn(t *testing.T, o fyne.CanvasObject, label string) *widget.Button {
	t.Helper()
	for _, x := range walk(o) {
		switch b := x.(type) {
		case *widget.Button:
			if b.Text == label {
				return b
			}
		case *escButton:
			if b.Text == label {
				return &b.Button
			}
		}
	}
	t.Fatalf("no button %q in:\n%s", label, textOf(o))
	return nil
}

func hasButton(o fyne.CanvasObject, label string) bool {
	for _, x := range walk(o) {
		if b, ok := x.(*widget.Button); ok && b.Text == label {
			return true
		}
	}
	return false
}

// widgetsIn lists the widgets of type T inside o, in order.
func widgetsIn[T fyne.CanvasObject](o fyne.CanvasObject) []T {
	var ws []T
	for _, x := range walk(o) {
		if w, ok := x.(T); ok {
			ws = append(ws, w)
		}
	}
	return ws
}

func entriesIn(o fyne.CanvasObject) []*keyEntry         { return widgetsIn[*keyEntry](o) }
func radiosIn(o fyne.CanvasObject) []*widget.RadioGroup { return widgetsIn[*widget.RadioGroup](o) }
func selectsIn(o fyne.CanvasObject) []*widget.Select    { return widgetsIn[*widget.Select](o) }

// fieldMessage is the message shown under the dialog field labelled label.
func fieldMessage(t *testing.T, dlg fyne.CanvasObject, label string) string {
	t.Helper()
	for _, x := range walk(dlg) {
		c, ok := x.(*fyne.Container)
		if !ok || len(c.Objects) != 3 {
			continue
		}
		if l, ok := c.Objects[0].(*widget.Label); ok && l.Text == label {
			if msg := c.Objects[2].(*widget.Label); msg.Visible() {
				return msg.Text
			}
			return ""
		}
	}
	t.Fatalf("no field %q in:\n%s", label, textOf(dlg))
	return ""
}

// rowsText is the text of the list row mentioning what ("" when none does).
func rowsText(rows *fyne.Container, what string) string {
	for _, r := range rows.Objects {
		if s := textOf(r); strings.Contains(s, what) {
			return s
		}
	}
	return ""
}

// rowButton is the button labelled label in the row mentioning what.
func rowButton(t *testing.T, rows *fyne.Container, what, label string) *widget.Button {
	t.Helper()
	for _, r := range rows.Objects {
		if strings.Contains(textOf(r), what) {
			return buttonIn(t, r, label)
		}
	}
	t.Fatalf("no row mentions %q:\n%s", what, textOf(rows))
	return nil
}
