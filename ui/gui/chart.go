package gui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/store"
)

// The Chart tab: a clinician picks a patient with the shared search and
// sees the chart, read in one audited call (Session.Chart). A header that
// always shows who the patient is and their allergies stays above the
// panes (problems, medications, allergies, encounters and notes). Every
// change goes through its own Session method and is followed by one Chart
// call, so what shows is what the records hold.

// chartTitle is the Chart tab's title in the shell.
const chartTitle = "Chart"

// chartView is the Chart tab. It is a widget of its own so that other
// screens can reach it through the shell's tabs (openChart).
type chartView struct {
	widget.BaseWidget
	u    *UI
	s    *app.Session
	root *fyne.Container // shows one of: picker, loading, refused, chartBox

	search *patientSearch
	picker fyne.CanvasObject

	// The chart open: patientID is set while one is open or opening.
	patientID string
	chart     app.Chart
	gen       int // bumped when the patient changes: a late answer for another one is dropped

	loading    fyne.CanvasObject
	refused    *widget.Label  // why a chart could not be opened (a restricted chart, a merged record)
	breakGlass *widget.Button // "Emergency access…", when the refusal allows it (emergency.go)
	refusedBox fyne.CanvasObject
	*grantBanner

	*patientBanner
	message                *widget.Label // the outcome of the last action, or why it failed
	closeChart             *widget.Button
	panes                  *container.AppTabs
	problemsTab, medsTab   *container.TabItem
	allergiesTab, notesTab *container.TabItem
	problems, medications  *listPane
	allergyList            *listPane
	notes                  *notesPane
	chartBox               fyne.CanvasObject
}

// chartSection builds the Chart tab for s.
func (u *UI) chartSection(s *app.Session) fyne.CanvasObject {
	cv := &chartView{u: u, s: s}
	cv.search = u.newPatientSearch(s, func(p store.Patient) { cv.open(p.ID) })
	heading := widget.NewLabelWithStyle("Open a patient's chart", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	cv.picker = container.NewBorder(heading, nil, nil, nil, cv.search.content)

	cv.loading = container.NewCenter(widget.NewLabel("Opening the chart…"))
	cv.refused = widget.NewLabel("")
	cv.refused.Wrapping = fyne.TextWrapWord
	cv.refused.Importance = widget.DangerImportance
	another := widget.NewButtonWithIcon("Choose another patient", theme.SearchIcon(), cv.close)
	cv.breakGlass = widget.NewButtonWithIcon("Emergency access…", theme.WarningIcon(), cv.askBreakGlass)
	cv.breakGlass.Importance = widget.DangerImportance
	cv.breakGlass.Hide()
	cv.refusedBox = container.NewVBox(cv.refused, container.NewHBox(another, cv.breakGlass))

	cv.buildChart()
	cv.root = container.NewStack(cv.picker)
	cv.ExtendBaseWidget(cv)
	return cv
}

// CreateRenderer draws whichever part of the tab is showing.
func (cv *chartView) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(cv.root) }

// Show is called as the tab comes on screen: with no chart open, the
// cursor goes to the search box.
func (cv *chartView) Show() {
	coming := !cv.Visible()
	cv.BaseWidget.Show()
	if coming && cv.patientID == "" {
		cv.search.focus()
	}
}

// openChart shows the Chart tab with patientID's chart: for screens that
// offer "Open chart" on a patient. It returns false when the person in
// front has no Chart tab (their roles do not open charts).
func (u *UI) openChart(patientID string) bool {
	sh := u.current()
	if sh == nil {
		return false
	}
	for _, it := range sh.tabs.Items {
		if cv, ok := it.Content.(*chartView); ok && it.Text == chartTitle {
			cv.open(patientID) // first: the tab coming on screen then leaves the search box alone
			sh.tabs.Select(it)
			return true
		}
	}
	return false
}

// buildChart makes the chart's frame: the header and the panes.
func (cv *chartView) buildChart() {
	cv.patientBanner = newPatientBanner()
	cv.grantBanner = newGrantBanner(cv.endGrant)
	cv.message = widget.NewLabel("")
	cv.message.Wrapping = fyne.TextWrapWord
	cv.message.Hide()
	cv.closeChart = widget.NewButtonWithIcon("Close chart", theme.CancelIcon(), cv.close)

	who := container.NewHBox(cv.name, cv.facts, cv.restricted)
	header := container.NewVBox(
		cv.grantBanner.box,
		container.NewBorder(nil, nil, nil, cv.closeChart, who),
		cv.allergyLine(),
		cv.message,
		widget.NewSeparator(),
	)

	cv.problems = cv.problemsPane()
	cv.medications = cv.medicationsPane()
	cv.allergyList = cv.allergiesPane()
	cv.notes = cv.newNotesPane()
	cv.problemsTab = container.NewTabItem("Problems", cv.problems.content)
	cv.medsTab = container.NewTabItem("Medications", cv.medications.content)
	cv.allergiesTab = container.NewTabItem("Allergies", cv.allergyList.content)
	cv.notesTab = container.NewTabItem("Encounters & notes", cv.notes.content)
	cv.panes = container.NewAppTabs(cv.problemsTab, cv.medsTab, cv.allergiesTab, cv.notesTab)
	cv.panes.OnSelected = func(*container.TabItem) {
		if cv.message.Importance == widget.SuccessImportance {
			cv.say("", false) // "Draft saved." is about the pane left
		}
	}
	cv.chartBox = container.NewBorder(header, nil, nil, nil, cv.panes)
}

// showing puts one part of the tab on screen.
func (cv *chartView) showing(o fyne.CanvasObject) {
	cv.root.Objects = []fyne.CanvasObject{o}
	cv.root.Refresh()
}

// open reads patientID's chart and shows it (or why it cannot be opened).
func (cv *chartView) open(patientID string) {
	cv.gen++
	cv.patientID = patientID
	cv.forget()
	cv.say("", false)
	if c := cv.u.win.Canvas(); c.Focused() == fyne.Focusable(cv.search.entry) {
		c.Unfocus() // the search box goes off screen: keys must not type into it
	}
	cv.panes.Select(cv.problemsTab)
	cv.showing(cv.loading)
	cv.load(cv.gen)
}

// reload reads the open chart again (after every change).
func (cv *chartView) reload() { cv.load(cv.gen) }

// load reads the chart: one call, one audit entry (chart.read).
func (cv *chartView) load(gen int) {
	id := cv.patientID
	if id == "" {
		return
	}
	var c app.Chart
	cv.u.work(func(ctx context.Context) error {
		var err error
		c, err = cv.s.Chart(ctx, id)
		return err
	}, func(err error) {
		if gen != cv.gen {
			return // the chart was closed, or another one opened, meanwhile
		}
		switch {
		case err != nil && cv.chart.Patient.ID == "":
			cv.showRefusal(sentence(err), err)
		case err != nil:
			cv.say("The chart could not be read again, so it may be out of date: "+sentence(err), true)
		default:
			cv.chart = c
			cv.fill()
			cv.showing(cv.chartBox)
		}
	})
}

// close puts the chart away (its data too) and shows the search again.
func (cv *chartView) close() {
	cv.gen++
	cv.patientID = ""
	cv.forget()
	cv.search.clear()
	cv.showing(cv.picker)
	cv.search.focus()
}

// forget drops the chart read last, from memory and from the widgets.
func (cv *chartView) forget() {
	cv.chart = app.Chart{}
	cv.fill()
}

// fill shows the chart just read.
func (cv *chartView) fill() {
	var active []string
	for _, a := range cv.chart.Allergies {
		if allergyActive(a) {
			active = append(active, allergyText(a))
		}
	}
	if len(active) == 0 {
		cv.show(cv.chart.Patient, "No known allergies", false)
	} else {
		cv.show(cv.chart.Patient, "Allergies: "+strings.Join(active, " · "), true)
	}

	cv.problemsTab.Text = fmt.Sprintf("Problems (%d)", countActive(cv.chart.Problems, problemActive))
	cv.medsTab.Text = fmt.Sprintf("Medications (%d)", countActive(cv.chart.Medications, medicationActive))
	cv.allergiesTab.Text = fmt.Sprintf("Allergies (%d)", len(active))
	cv.notesTab.Text = fmt.Sprintf("Encounters & notes (%d)", len(cv.chart.Encounters))
	cv.panes.Refresh()
	for _, p := range []*listPane{cv.problems, cv.medications, cv.allergyList} {
		p.refresh()
	}
	cv.notes.refresh()
	cv.showGrant()
}

// countActive counts the records for which active says so.
func countActive[T any](rs []T, active func(T) bool) int {
	n := 0
	for _, r := range rs {
		if active(r) {
			n++
		}
	}
	return n
}

// say shows the outcome of an action under the header, or why it failed
// ("" hides the line).
func (cv *chartView) say(text string, failed bool) { showOutcome(cv.message, text, failed) }

// done is what a dialog that changed the chart does once it has: say so
// and read the chart again.
func (cv *chartView) done(text string) func() {
	return func() {
		cv.say(text, false)
		cv.reload()
	}
}

// change runs one change through app off the Fyne goroutine; on success
// it says done and reads the chart again, on failure it says why.
func (cv *chartView) change(done string, fn func(ctx context.Context) error) {
	gen := cv.gen
	cv.u.work(fn, func(err error) {
		if gen != cv.gen {
			return
		}
		if err != nil {
			cv.say(sentence(err), true)
			return
		}
		cv.done(done)()
	})
}

// nameOf is the display name of a user id in the chart.
func (cv *chartView) nameOf(id string) string {
	if n := cv.chart.Names[id]; n != "" {
		return n
	}
	return "an unknown user"
}

// mine tells whether the signed-in clinician wrote a note.
func (cv *chartView) mine(n store.Note) bool { return n.AuthorID == cv.s.User().ID }

// patientBanner is who a patient is at a glance: the name, born (age),
// sex, MRN and a restricted-chart mark; and a line about allergies, red
// with a warning icon when it warns. The chart's header is one.
type patientBanner struct {
	name, facts, restricted, allergies *widget.Label
	allergyIcon                        *widget.Icon
}

func newPatientBanner() *patientBanner {
	b := &patientBanner{}
	b.name = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	b.name.SizeName = theme.SizeNameSubHeadingText
	b.facts = widget.NewLabel("")
	b.restricted = widget.NewLabel("Restricted chart: open only to the clinicians named for it")
	b.restricted.Importance = widget.WarningImportance
	b.allergyIcon = widget.NewIcon(theme.NewErrorThemedResource(theme.WarningIcon()))
	b.allergies = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	b.allergies.Wrapping = fyne.TextWrapWord
	return b
}

// allergyLine is the allergy line with its icon.
func (b *patientBanner) allergyLine() fyne.CanvasObject {
	return container.NewBorder(nil, nil, b.allergyIcon, nil, b.allergies)
}

// show puts p in the banner, with the allergy line (warn: red, with the icon).
func (b *patientBanner) show(p store.Patient, allergies string, warn bool) {
	b.name.SetText(p.Name)
	b.facts.SetText(patientFacts(p, time.Now()))
	if p.Restricted {
		b.restricted.Show()
	} else {
		b.restricted.Hide()
	}
	b.allergies.Importance = widget.MediumImportance
	b.allergyIcon.Hide()
	if warn {
		b.allergies.Importance = widget.DangerImportance
		b.allergyIcon.Show()
	}
	b.allergies.SetText(allergies)
}

// patientFacts is the header's line under the name: born (age), sex, MRN.
func patientFacts(p store.Patient, today time.Time) string {
	parts := []string{"born " + p.BirthDate + age(p.BirthDate, today)}
	if p.Sex != "" {
		parts = append(parts, p.Sex)
	}
	return strings.Join(append(parts, "MRN "+p.MRN), "  ·  ")
}

// age is " (64 years)", " (8 months)" for a small child, or "" when the
// birth date cannot be read.
func age(birth string, today time.Time) string {
	b, err := time.Parse("2006-01-02", birth)
	if err != nil {
		return ""
	}
	months := (today.Year()-b.Year())*12 + int(today.Month()) - int(b.Month())
	if today.Day() < b.Day() {
		months--
	}
	switch {
	case months < 0:
		return ""
	case months < 24:
		return fmt.Sprintf(" (%d months)", months)
	}
	return fmt.Sprintf(" (%d years)", months/12)
}

// when is a moment as the chart shows it.
func when(t time.Time) string { return t.Local().Format("2006-01-02 15:04") }

// withDetails is text followed by its non-empty details in parentheses:
// "penicillin (severe, hives)".
func withDetails(text string, details ...string) string {
	var keep []string
	for _, d := range details {
		if d = strings.TrimSpace(d); d != "" {
			keep = append(keep, d)
		}
	}
	if len(keep) > 0 {
		text += " (" + strings.Join(keep, ", ") + ")"
	}
	return text
}

// Dialogs of the chart. Each is closable (Cancel, Esc), Enter does the
// dialog's action, and a lock removes it with every other dialog
// (closeDialogs): they show patient data.

// chartField is one field of a chart dialog, named as app's
// ValidationError names it, with the line under it where app's message
// about it shows.
type chartField struct {
	name  string
	label string
	input fyne.CanvasObject // *keyEntry, *widget.Select or *widget.RadioGroup
	msg   *widget.Label
}

func newChartField(name, label string, input fyne.CanvasObject) *chartField {
	msg := widget.NewLabel("")
	msg.Importance = widget.DangerImportance
	msg.Wrapping = fyne.TextWrapWord
	msg.Hide()
	return &chartField{name: name, label: label, input: input, msg: msg}
}

// value is what the field holds.
func (f *chartField) value() string {
	switch in := f.input.(type) {
	case *keyEntry:
		return strings.TrimSpace(in.Text)
	case *widget.Select:
		return in.Selected
	case *widget.RadioGroup:
		return in.Selected
	}
	return ""
}

// showProblem shows (or, with "", hides) the message under the field.
func (f *chartField) showProblem(text string) {
	f.msg.SetText(text)
	if text == "" {
		f.msg.Hide()
	} else {
		f.msg.Show()
	}
}

// formEntry is a text field of a dialog: Esc cancels the dialog, Enter
// (Shift+Enter in a multi-line field) saves it. Dialogs use it as a
// keyEntry (patientsearch.go), which also lets the window's Ctrl+letter
// shortcuts (Ctrl+L locks) through.
type formEntry struct {
	widget.Entry
	onEsc func()
}

// newNoteEntry is the multi-line field a note is written in.
func newNoteEntry() *keyEntry {
	e := newKeyEntry("")
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	e.SetMinRowsVisible(14)
	return e
}

// TypedKey cancels on Esc.
func (e *formEntry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape && e.onEsc != nil {
		e.onEsc()
		return
	}
	e.Entry.TypedKey(ev)
}

// chartForm is a dialog that changes the chart: its fields, a line for a
// problem that is no field's, Cancel and the action.
type chartForm struct {
	u       *UI
	d       *dialog.CustomDialog
	fields  []*chartField
	message *widget.Label
	save    *widget.Button
	cancel  *escButton
	restore func()
	// leave, when set, is asked before Cancel closes the dialog (the note
	// editor does not drop typed text without asking).
	leave func(close func())
}

// showChartForm shows a dialog of fields; the action (confirm) hands
// their values (by field name) to submit off the Fyne goroutine. An app
// ValidationError shows under its field and keeps the dialog open; any
// other error shows at the bottom. On success the dialog closes and saved
// runs.
func (u *UI) showChartForm(title, confirm string, width float32, fields []*chartField,
	submit func(ctx context.Context, v map[string]string) error, saved func()) *chartForm {
	f := &chartForm{u: u, fields: fields}
	f.message = widget.NewLabel("")
	f.message.Importance = widget.DangerImportance
	f.message.Wrapping = fyne.TextWrapWord
	f.message.Hide()
	f.save = widget.NewButtonWithIcon(confirm, theme.ConfirmIcon(), func() { f.submit(submit, saved) })
	f.save.Importance = widget.HighImportance
	f.cancel = newEscButton("Cancel", theme.CancelIcon(), f.dismiss)

	form := container.NewVBox()
	var first fyne.Focusable
	for _, fl := range fields {
		form.Add(fieldBox(fl))
		if e, ok := fl.input.(*keyEntry); ok {
			e.onEsc = f.dismiss
			e.OnSubmitted = func(string) { f.submit(submit, saved) } // Shift+Enter in a multi-line field
		}
		if w, ok := fl.input.(fyne.Focusable); ok && first == nil {
			first = w
		}
	}
	form.Add(f.message)
	f.d = dialog.NewCustomWithoutButtons(title, atLeastWide(width, form), u.win)
	f.d.SetButtons([]fyne.CanvasObject{f.cancel, f.save})
	f.d.Show()
	f.restore = u.dialogKeys(func() { f.submit(submit, saved) }, f.dismiss)
	if first != nil {
		u.win.Canvas().Focus(first)
	}
	return f
}

// submit hands the values to app; see showChartForm.
func (f *chartForm) submit(submit func(ctx context.Context, v map[string]string) error, saved func()) {
	if f.save.Disabled() {
		return
	}
	v := make(map[string]string, len(f.fields))
	for _, fl := range f.fields {
		v[fl.name] = fl.value()
		fl.showProblem("")
	}
	f.message.Hide()
	f.save.Disable()
	f.u.work(func(ctx context.Context) error { return submit(ctx, v) }, func(err error) {
		f.save.Enable()
		if err == nil {
			f.close()
			saved()
			return
		}
		var ve *app.ValidationError
		if errors.As(err, &ve) {
			for _, fl := range f.fields {
				if fl.name == ve.Field {
					fl.showProblem(sentence(err))
					f.resize()
					return
				}
			}
		}
		f.message.SetText(sentence(err))
		f.message.Show()
		f.resize()
	})
}

// resize grows the dialog to fit a message just shown.
func (f *chartForm) resize() { f.d.Resize(f.d.MinSize()) }

// dismiss is Cancel (or Esc).
func (f *chartForm) dismiss() {
	if f.leave != nil {
		f.leave(f.close)
		return
	}
	f.close()
}

func (f *chartForm) close() {
	f.restore()
	f.d.Hide()
}

// confirmAction asks before an action that cannot be taken back: Enter
// (or the action's button) goes ahead, Esc or Cancel does not.
func (u *UI) confirmAction(title, message, action string, yes func()) {
	msg := widget.NewLabel(message)
	msg.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustomWithoutButtons(title, atLeastWide(440, msg), u.win)
	var restore func()
	no := func() { restore(); d.Hide() }
	ok := widget.NewButtonWithIcon(action, theme.ConfirmIcon(), func() { restore(); d.Hide(); yes() })
	ok.Importance = widget.HighImportance
	d.SetButtons([]fyne.CanvasObject{newEscButton("Cancel", theme.CancelIcon(), no), ok})
	d.Show()
	u.win.Canvas().Unfocus()
	restore = u.dialogKeys(ok.OnTapped, no)
}

// dialogKeys makes Enter call ok and Esc call cancel while the dialog on
// top of the window (the one just shown) is there and no widget has focus
// (focused fields handle their own keys). restore puts back what the keys
// did before; a dialog removed by a lock restores them itself at the next
// key, so a stale dialog never acts for the next person.
func (u *UI) dialogKeys(ok, cancel func()) (restore func()) {
	c := u.win.Canvas()
	popup := c.Overlays().Top()
	prev := c.OnTypedKey()
	restore = func() { c.SetOnTypedKey(prev) }
	c.SetOnTypedKey(func(ev *fyne.KeyEvent) {
		switch {
		case !overlayShowing(c, popup):
			restore()
		case ev.Name == fyne.KeyReturn || ev.Name == fyne.KeyEnter:
			ok()
			return
		case ev.Name == fyne.KeyEscape:
			cancel()
			return
		}
		if prev != nil {
			prev(ev)
		}
	})
	return restore
}

// overlayShowing tells whether o is still one of c's overlays.
func overlayShowing(c fyne.Canvas, o fyne.CanvasObject) bool {
	for _, x := range c.Overlays().List() {
		if x == o {
			return true
		}
	}
	return false
}
