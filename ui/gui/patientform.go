package gui

import (
	"context"
	"errors"
	"image/color"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/store"
)

// The register / edit form: a dialog with the patient's demographics.
// app checks what is typed (ValidatePatient) and its message shows under
// the field it names; the birth date is also checked as it is typed, with
// app's own words. Enter saves, Esc cancels. Before a new patient is
// registered, the records are searched for the same name and birth date:
// the person at the desk chooses between the record found and a new one.

// sexChoices are what the form offers; "not stated" is stored as "".
var sexChoices = []string{"female", "male", "other", notStated}

const notStated = "not stated"

// patientForm is the open form.
type patientForm struct {
	u       *UI
	s       *app.Session
	editing *store.Patient // nil: a new patient

	d                               *dialog.CustomDialog
	name, born, mrn, phone, address *keyEntry
	sex                             *widget.Select
	fields                          map[string]*chartField // by the field names app's ValidationError uses
	message                         *widget.Label          // a problem that is no field's
	save                            *widget.Button
	cancel                          *escButton
	restore                         func()
	saved                           func(store.Patient, string)
	openExisting                    func(store.Patient)
	duplicate                       *duplicateQuestion // while it is asked
}

// duplicateQuestion asks what to do about a patient already registered
// with the same name and birth date.
type duplicateQuestion struct {
	d            *dialog.CustomDialog
	open, anyway *widget.Button
	back         *escButton
	restore      func()
}

// showPatientForm opens the form: for a new patient (editing nil) or to
// edit one. saved gets the patient as saved and a line saying what was
// done; openExisting gets the record the person chose instead of
// registering a duplicate.
func (u *UI) showPatientForm(s *app.Session, editing *store.Patient, saved func(store.Patient, string), openExisting func(store.Patient)) *patientForm {
	f := &patientForm{u: u, s: s, editing: editing, saved: saved, openExisting: openExisting, fields: map[string]*chartField{}}
	f.name = f.entry("given and family name")
	f.born = f.entry("YYYY-MM-DD")
	f.mrn = f.entry("leave empty: Ward draws one")
	f.phone = f.entry("")
	f.address = f.entry("")
	f.sex = widget.NewSelect(sexChoices, nil)
	f.sex.PlaceHolder = notStated
	title, action := "Register a new patient", "Register"
	if editing != nil {
		title, action = "Edit "+editing.Name, "Save changes"
		p := editing
		f.name.SetText(p.Name)
		f.born.SetText(p.BirthDate)
		f.mrn.SetText(p.MRN)
		f.mrn.SetPlaceHolder("")
		f.phone.SetText(p.Phone)
		f.address.SetText(p.Address)
		if p.Sex != "" {
			if !slices.Contains(sexChoices, p.Sex) { // recorded elsewhere (an import): kept as it is
				f.sex.SetOptions(append([]string{p.Sex}, sexChoices...))
			}
			f.sex.SetSelected(p.Sex)
		}
	}
	f.born.OnChanged = func(text string) {
		f.fields["birth date"].showProblem(birthDateHint(text))
		f.d.Resize(f.d.MinSize())
	}

	f.message = widget.NewLabel("")
	f.message.Importance = widget.DangerImportance
	f.message.Wrapping = fyne.TextWrapWord
	f.message.Hide()
	f.save = widget.NewButtonWithIcon(action, theme.ConfirmIcon(), f.submit)
	f.save.Importance = widget.HighImportance
	f.cancel = newEscButton("Cancel", theme.CancelIcon(), f.close)

	item := func(name, label string, input fyne.CanvasObject) fyne.CanvasObject {
		f.fields[name] = newChartField(name, label, input)
		return fieldBox(f.fields[name])
	}
	form := container.NewVBox(
		item("name", "Name", f.name),
		container.NewGridWithColumns(2, item("birth date", "Birth date (YYYY-MM-DD)", f.born), item("sex", "Sex", f.sex)),
		container.NewGridWithColumns(2, item("MRN", "Medical record number (MRN)", f.mrn), item("phone", "Phone", f.phone)),
		item("address", "Address", f.address),
		f.message,
	)
	f.d = dialog.NewCustomWithoutButtons(title, atLeastWide(560, form), u.win)
	f.d.SetButtons([]fyne.CanvasObject{f.cancel, f.save})
	f.d.Show()
	f.restore = u.dialogKeys(f.submit, f.close)
	u.win.Canvas().Focus(f.name)
	return f
}

// entry is one text field of the form: Enter saves, Esc cancels.
func (f *patientForm) entry(placeholder string) *keyEntry {
	e := newKeyEntry(placeholder)
	e.onEsc = f.close
	e.OnSubmitted = func(string) { f.submit() }
	return e
}

// values is the form as app reads it.
func (f *patientForm) values() app.NewPatient {
	sex := f.sex.Selected
	if sex == notStated {
		sex = ""
	}
	return app.NewPatient{Name: f.name.Text, BirthDate: f.born.Text, MRN: f.mrn.Text, Phone: f.phone.Text,
		Sex: sex, Address: f.address.Text}
}

// submit saves the form: an edit straight away; a new patient after the
// search for one already registered with the same name and birth date.
func (f *patientForm) submit() {
	if f.save.Disabled() {
		return
	}
	n := f.values()
	for _, fl := range f.fields {
		fl.showProblem("")
	}
	f.message.Hide()
	if f.editing != nil {
		f.update(n)
		return
	}
	clean, err := app.ValidatePatient(n, time.Now())
	if err != nil {
		f.register(n) // app refuses it, and says why beside the field
		return
	}
	var same []store.Patient
	f.busy(func(ctx context.Context) error {
		found, err := f.s.SearchPatients(ctx, clean.Name+" "+clean.BirthDate, searchLimit)
		for _, p := range found {
			if strings.EqualFold(p.Name, clean.Name) && p.BirthDate == clean.BirthDate {
				same = append(same, p)
			}
		}
		return err
	}, func() {
		if len(same) > 0 {
			f.askDuplicate(same[0], n)
			return
		}
		f.register(n)
	})
}

// register adds the patient.
func (f *patientForm) register(n app.NewPatient) {
	var p store.Patient
	f.busy(func(ctx context.Context) error {
		var err error
		p, err = f.s.RegisterPatient(ctx, n)
		return err
	}, func() {
		f.close()
		f.saved(p, "Registered "+p.Name+", MRN "+p.MRN+".")
	})
}

// update saves an edit: every field is handed to app, which keeps what
// did not change and audits the names of the fields that did.
func (f *patientForm) update(n app.NewPatient) {
	ch := app.PatientChange{Name: &n.Name, BirthDate: &n.BirthDate, MRN: &n.MRN, Phone: &n.Phone, Sex: &n.Sex, Address: &n.Address}
	id := f.editing.ID
	var p store.Patient
	f.busy(func(ctx context.Context) error {
		var err error
		p, err = f.s.UpdatePatient(ctx, id, ch)
		return err
	}, func() {
		f.close()
		f.saved(p, "Changes saved.")
	})
}

// busy runs fn through app with Save disabled; an error shows under its
// field (or under the form) and the form stays open, otherwise ok runs.
func (f *patientForm) busy(fn func(ctx context.Context) error, ok func()) {
	f.save.Disable()
	f.u.work(fn, func(err error) {
		f.save.Enable()
		if err == nil {
			ok()
			return
		}
		var ve *app.ValidationError
		if errors.As(err, &ve) && f.fields[ve.Field] != nil {
			f.fields[ve.Field].showProblem(sentence(err))
		} else {
			f.message.SetText(sentence(err))
			f.message.Show()
		}
		f.d.Resize(f.d.MinSize())
	})
}

// close is Cancel (or Esc): the form goes, nothing is saved.
func (f *patientForm) close() {
	f.restore()
	f.d.Hide()
}

// askDuplicate says a patient with this name and birth date is already
// registered and offers to open that record instead. Esc goes back to the
// form.
func (f *patientForm) askDuplicate(existing store.Patient, n app.NewPatient) {
	q := &duplicateQuestion{}
	f.duplicate = q
	msg := widget.NewLabel("A patient with this name and birth date exists:\n\n" + patientLine(existing) +
		"\n\nOpen it instead?")
	msg.Wrapping = fyne.TextWrapWord
	q.d = dialog.NewCustomWithoutButtons("Already registered?", atLeastWide(460, msg), f.u.win)
	done := func() {
		q.restore()
		q.d.Hide()
		f.duplicate = nil
	}
	q.open = widget.NewButtonWithIcon("Open that record", theme.AccountIcon(), func() {
		done()
		f.close()
		f.openExisting(existing)
	})
	q.open.Importance = widget.HighImportance
	q.anyway = widget.NewButtonWithIcon("Register a new patient", theme.ContentAddIcon(), func() {
		done()
		f.register(n)
	})
	q.back = newEscButton("Back to the form", theme.NavigateBackIcon(), func() {
		done()
		f.u.win.Canvas().Focus(f.name)
	})
	q.d.SetButtons([]fyne.CanvasObject{q.back, q.anyway, q.open})
	q.d.Show()
	f.u.win.Canvas().Unfocus()
	q.restore = f.u.dialogKeys(q.open.OnTapped, q.back.OnTapped)
}

// birthDateHint is what to say under the birth date as it is typed: app's
// own words once the text cannot become a date of the form YYYY-MM-DD or,
// complete, is not one app accepts (a date in the future); nothing while
// it is on its way.
func birthDateHint(text string) string {
	const shape = "0000-00-00"
	if text == "" {
		return ""
	}
	fits := len(text) <= len(shape)
	for i := 0; fits && i < len(text); i++ {
		if shape[i] == '-' {
			fits = text[i] == '-'
		} else {
			fits = text[i] >= '0' && text[i] <= '9'
		}
	}
	if fits && len(text) < len(shape) {
		return ""
	}
	_, err := app.ValidatePatient(app.NewPatient{Name: "-", BirthDate: text}, time.Now())
	if ve := (*app.ValidationError)(nil); errors.As(err, &ve) && ve.Field == "birth date" {
		return sentence(err)
	}
	return ""
}

// atLeastWide is o, at least w wide and as tall as it needs (a dialog
// grows when a message shows in it: d.Resize(d.MinSize())).
func atLeastWide(w float32, o fyne.CanvasObject) fyne.CanvasObject {
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(fyne.NewSize(w, 0))
	return container.NewStack(r, o)
}
