package gui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/store"
)

// The Patients tab, the front desk's desk: find a patient as you type, read
// their card (demographics, the allergy flag, upcoming visits), register
// and edit patients, book a visit, and fold a duplicate registration into
// the record to keep. The front desk sees that a patient has allergies,
// never which: the list is the chart's, for clinicians.

// patientsView is the Patients tab. When it comes on screen, the cursor
// goes to the search box.
type patientsView struct {
	tabView
	u      *UI
	s      *app.Session
	search *patientSearch
	// register opens the form for a new patient (Ctrl+N too).
	register  *widget.Button
	detail    *fyne.Container // shows the card, or the hint when no card is open
	hint      fyne.CanvasObject
	wantFocus bool // the search box is to get the cursor at the next layout
	gen       int  // bumped when another card opens: a late answer for the old one is dropped

	// The card of the patient open.
	patient    store.Patient
	cardBox    fyne.CanvasObject
	name       *widget.Label
	facts      *widget.Label // born (age), sex, MRN
	contact    *widget.Label // phone, address
	allergies  *widget.Label
	allergyIco *widget.Icon
	restricted *widget.Label
	message    *widget.Label // the outcome of the last action
	visits     *fyne.Container
	edit       *widget.Button
	book       *widget.Button
	merge      *widget.Button // front desk only: merging is theirs
	openChart  *widget.Button // clinicians only

	// The dialogs open from this tab (tests reach them here).
	form    *patientForm
	picker  *patientPicker
	booking *chartForm
}

// patientsSection builds the Patients tab for s.
func (u *UI) patientsSection(s *app.Session) fyne.CanvasObject {
	v := &patientsView{u: u, s: s}
	v.search = u.newPatientSearch(s, func(p store.Patient) { v.open(p, "") })
	v.search.entry.onEsc = v.search.clear
	v.register = writable(s, app.ActPatientCreate, widget.NewButtonWithIcon("Register new patient", theme.ContentAddIcon(), func() { v.showForm(nil) }))
	v.register.Importance = widget.HighImportance
	left := container.NewBorder(container.NewBorder(nil, nil, nil, v.register,
		widget.NewLabelWithStyle("Find a patient", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})), nil, nil, nil, v.search.content)

	hint := "Choose a patient to see their card, or register a new one (Ctrl+N)."
	if s.ReadOnly() {
		hint = "Choose a patient to see their card."
	}
	v.hint = container.NewCenter(widget.NewLabel(hint))
	v.buildCard()
	v.detail = container.NewStack(v.hint)
	split := container.NewHSplit(left, container.NewPadded(v.detail))
	split.Offset = 0.45
	v.root, v.shown = split, func() { v.wantFocus = true }
	v.ExtendBaseWidget(v)

	newPatient := &desktop.CustomShortcut{KeyName: fyne.KeyN, Modifier: fyne.KeyModifierShortcutDefault}
	u.win.Canvas().AddShortcut(newPatient, func(fyne.Shortcut) { v.registerShortcut() })
	return v
}

// Show is called on every layout while the tab is on screen. The tab may
// be laid out before it is in the window (the shell builds the tabs
// first), so the cursor goes to the search box at the first layout after
// the tab arrives that can put it there.
func (v *patientsView) Show() {
	v.tabView.Show()
	if v.wantFocus {
		v.search.focus()
		v.wantFocus = v.u.win.Canvas().Focused() != fyne.Focusable(v.search.entry)
	}
}

// registerShortcut is Ctrl+N: the Patients tab comes to the front with the
// form for a new patient, unless a dialog is open, this tab's session is
// not the one in front, or it may not register (the emergency kit).
func (v *patientsView) registerShortcut() {
	sh := v.u.current()
	if sh == nil || sh.s != v.s || !v.register.Visible() || len(v.u.win.Canvas().Overlays().List()) > 0 {
		return
	}
	for _, it := range sh.tabs.Items {
		if it.Content == fyne.CanvasObject(v) {
			sh.tabs.Select(it)
			v.showForm(nil)
			return
		}
	}
}

// buildCard makes the card's widgets; open fills them.
func (v *patientsView) buildCard() {
	v.name = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	v.name.SizeName = theme.SizeNameSubHeadingText
	v.facts = widget.NewLabel("")
	v.contact = widget.NewLabel("")
	v.contact.Wrapping = fyne.TextWrapWord
	v.allergyIco = widget.NewIcon(theme.NewErrorThemedResource(theme.WarningIcon()))
	v.allergies = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	v.restricted = widget.NewLabel("Restricted chart: open only to the clinicians named for it")
	v.restricted.Importance = widget.WarningImportance
	v.message = widget.NewLabel("")
	v.message.Wrapping = fyne.TextWrapWord
	v.message.Hide()
	v.visits = container.NewVBox()

	v.edit = writable(v.s, app.ActPatientUpdate, widget.NewButtonWithIcon("Edit", theme.DocumentCreateIcon(), func() {
		p := v.patient
		v.showForm(&p)
	}))
	v.book = writable(v.s, app.ActAppointmentWrite, widget.NewButtonWithIcon("Book appointment", theme.CalendarIcon(), func() {
		p := v.patient
		v.u.bookAppointment(v.s, p, time.Now(), "", func(a store.Appointment) {
			v.open(p, "Booked: "+visitWhen(a.StartsAt)+".")
		}, func(f *chartForm) { v.booking = f })
	}))
	v.merge = writable(v.s, app.ActPatientMerge, widget.NewButtonWithIcon("Merge into…", theme.ContentCopyIcon(), func() { v.startMerge(v.patient) }))
	v.openChart = widget.NewButtonWithIcon("Open chart", theme.DocumentIcon(), func() { v.u.openChart(v.patient.ID) })
	buttons := container.NewHBox(v.edit, v.book, v.merge) // each hidden where the door would refuse it (writable)
	if chartAllowed(v.s) {
		buttons.Add(v.openChart)
	}
	heading := widget.NewLabelWithStyle("Upcoming appointments", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	top := container.NewVBox(v.name, v.facts, v.contact,
		container.NewBorder(nil, nil, v.allergyIco, nil, v.allergies),
		v.restricted, buttons, v.message, widget.NewSeparator(), heading)
	v.cardBox = container.NewBorder(top, nil, nil, nil, container.NewVScroll(v.visits))
}

// showing puts the card or the hint on the right.
func (v *patientsView) showing(o fyne.CanvasObject) {
	v.detail.Objects = []fyne.CanvasObject{o}
	v.detail.Refresh()
}

// open shows p's card: the allergy flag and the upcoming visits are read
// (two audited reads, on p), the demographics are p as just found or
// saved. note, when set, says what was just done.
func (v *patientsView) open(p store.Patient, note string) {
	v.gen++
	gen := v.gen
	var has bool
	var visits []store.ScheduledVisit
	v.u.work(func(ctx context.Context) error {
		var err error
		if has, err = v.s.HasAllergies(ctx, p.ID); err != nil {
			return err
		}
		visits, err = v.s.UpcomingAppointments(ctx, p.ID)
		return err
	}, func(err error) {
		if gen != v.gen {
			return
		}
		if err != nil {
			v.patient = store.Patient{}
			msg := widget.NewLabel(sentence(err))
			msg.Wrapping = fyne.TextWrapWord
			msg.Importance = widget.DangerImportance
			v.showing(msg)
			return
		}
		v.fill(p, has, visits)
		v.say(note, false)
		v.showing(v.cardBox)
	})
}

// fill puts a patient's card on screen.
func (v *patientsView) fill(p store.Patient, hasAllergies bool, visits []store.ScheduledVisit) {
	v.patient = p
	v.name.SetText(p.Name)
	v.facts.SetText(patientFacts(p, time.Now()))
	var contact []string
	if p.Phone != "" {
		contact = append(contact, "phone "+p.Phone)
	}
	if p.Address != "" {
		contact = append(contact, p.Address)
	}
	if len(contact) == 0 {
		contact = append(contact, "no phone or address on record")
	}
	v.contact.SetText(strings.Join(contact, "  ·  "))
	if hasAllergies {
		v.allergies.SetText("Has allergies: a clinician has the details")
		v.allergies.Importance = widget.DangerImportance
		v.allergyIco.Show()
	} else {
		v.allergies.SetText("No allergies on record")
		v.allergies.Importance = widget.MediumImportance
		v.allergyIco.Hide()
	}
	v.allergies.Refresh()
	if p.Restricted {
		v.restricted.Show()
	} else {
		v.restricted.Hide()
	}
	var rows []fyne.CanvasObject
	for _, vis := range visits {
		rows = append(rows, recordRow(visitWhen(vis.StartsAt)+"  ·  "+vis.ClinicianName,
			withDetails(statusNames[vis.Status], fmt.Sprintf("%d min", vis.Minutes), vis.Reason), vis.Status == store.AppointmentBooked))
	}
	if len(rows) == 0 {
		rows = append(rows, widget.NewLabel("None booked."))
	}
	v.visits.Objects = rows
	v.visits.Refresh()
}

// say shows the outcome of the last action on the card, or why it failed
// ("" hides the line).
func (v *patientsView) say(text string, failed bool) { showOutcome(v.message, text, failed) }

// showForm opens the register form (editing nil) or the edit form.
func (v *patientsView) showForm(editing *store.Patient) {
	v.form = v.u.showPatientForm(v.s, editing, func(p store.Patient, note string) {
		v.search.refresh()
		v.open(p, note)
	}, func(existing store.Patient) { v.open(existing, "") })
}

// startMerge folds dup (the card open) into a record chosen with the
// search, after a confirmation that names both and says what happens.
func (v *patientsView) startMerge(dup store.Patient) {
	v.picker = v.u.pickPatient(v.s, "Merge "+dup.Name+" into another record",
		"Find the record to keep. This record ("+patientLine(dup)+") will be merged into it and retired.",
		func(keep store.Patient) string {
			if keep.ID == dup.ID {
				return "That is this same record: choose the record to keep."
			}
			return ""
		}, func(keep store.Patient) { v.confirmMerge(keep, dup) })
}

// confirmMerge asks, then merges dup into keep and shows keep's card.
func (v *patientsView) confirmMerge(keep, dup store.Patient) {
	msg := fmt.Sprintf("Keep: %s\nRetire: %s\n\nThe retired record's appointments, encounters, notes, allergies, "+
		"medications and problems move to the record kept, and searches no longer find the retired one. "+
		"This cannot be undone.", patientLine(keep), patientLine(dup))
	v.u.confirmAction("Merge duplicate record?", msg, "Merge", func() {
		var res store.MergeResult
		v.u.work(func(ctx context.Context) error {
			var err error
			res, err = v.s.MergePatients(ctx, keep.ID, dup.ID)
			return err
		}, func(err error) {
			if err != nil {
				v.say(sentence(err), true)
				return
			}
			v.search.refresh()
			v.open(keep, fmt.Sprintf("Merged %s into this record: moved %d appointments, %d encounters, %d notes, "+
				"%d allergies, %d medications, %d problems.", dup.MRN, res.Moved["appointments"], res.Moved["encounters"],
				res.Moved["notes"], res.Moved["allergies"], res.Moved["medications"], res.Moved["problems"]))
		})
	})
}

// patientLine names a patient unmistakably: name, birth date, MRN.
func patientLine(p store.Patient) string {
	return fmt.Sprintf("%s, born %s, MRN %s", p.Name, p.BirthDate, p.MRN)
}

// patientPicker is a dialog that picks a patient with the shared search.
type patientPicker struct {
	d       *dialog.CustomDialog
	search  *patientSearch
	message *widget.Label
	cancel  *escButton
	restore func()
}

// pickPatient shows a dialog with intro and the patient search. A patient
// picked that refuse has a reason against (refuse may be nil) keeps the
// dialog open with the reason; any other closes it and goes to chosen.
// Esc or Cancel close it and nothing is chosen.
func (u *UI) pickPatient(s *app.Session, title, intro string, refuse func(store.Patient) string, chosen func(store.Patient)) *patientPicker {
	pp := &patientPicker{}
	text := widget.NewLabel(intro)
	text.Wrapping = fyne.TextWrapWord
	pp.message = widget.NewLabel("")
	pp.message.Importance = widget.DangerImportance
	pp.message.Hide()
	pp.search = u.newPatientSearch(s, func(p store.Patient) {
		if refuse != nil {
			if why := refuse(p); why != "" {
				pp.message.SetText(why)
				pp.message.Show()
				return
			}
		}
		pp.close()
		chosen(p)
	})
	pp.search.entry.onEsc = pp.close
	pp.cancel = newEscButton("Cancel", theme.CancelIcon(), pp.close)
	content := container.NewBorder(container.NewVBox(text, pp.message), nil, nil, nil, pp.search.content)
	pp.d = dialog.NewCustomWithoutButtons(title, container.NewGridWrap(fyne.NewSize(620, 380), content), u.win)
	pp.d.SetButtons([]fyne.CanvasObject{pp.cancel})
	pp.d.Show()
	pp.restore = u.dialogKeys(func() {}, pp.close)
	pp.search.focus()
	return pp
}

func (pp *patientPicker) close() {
	pp.restore()
	pp.d.Hide()
}
