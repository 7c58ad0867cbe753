package gui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/store"
)

// The chart's lists: problems, medications, allergies. Each shows the
// active entries (or all of them), adds one, changes one's status, and
// shows one's history (every version the change log holds). The chart
// read holds every entry, so "show all" reads nothing more.

// listPane is one list of the chart.
type listPane struct {
	add     *widget.Button
	all     *widget.Check
	rows    *fyne.Container
	none    string                             // said when no entry shows
	rowsFor func(all bool) []fyne.CanvasObject // one row per entry shown
	content fyne.CanvasObject
}

func newListPane(s *app.Session, act app.Action, addLabel, allLabel, none string, add func(), rows func(all bool) []fyne.CanvasObject) *listPane {
	p := &listPane{none: none, rowsFor: rows, rows: container.NewVBox()}
	p.add = writable(s, act, widget.NewButtonWithIcon(addLabel, theme.ContentAddIcon(), add))
	p.all = widget.NewCheck(allLabel, func(bool) { p.refresh() })
	p.content = container.NewBorder(container.NewHBox(p.add, p.all), nil, nil, nil, container.NewVScroll(p.rows))
	return p
}

// refresh shows the rows of the chart read last.
func (p *listPane) refresh() {
	var objs []fyne.CanvasObject
	for _, r := range p.rowsFor(p.all.Checked) {
		if len(objs) > 0 {
			objs = append(objs, widget.NewSeparator())
		}
		objs = append(objs, r)
	}
	if len(objs) == 0 {
		objs = []fyne.CanvasObject{widget.NewLabel(p.none)}
	}
	p.rows.Objects = objs
	p.rows.Refresh()
}

// recordRow is one entry of a list: what it is, its status line, and
// what can be done with it. An entry no longer active is shown dimmed.
func recordRow(title, status string, active bool, buttons ...fyne.CanvasObject) fyne.CanvasObject {
	t := widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: active})
	t.Wrapping = fyne.TextWrapWord
	s := widget.NewLabel(status)
	if !active {
		t.Importance, s.Importance = widget.LowImportance, widget.LowImportance
	}
	return container.NewBorder(nil, nil, nil, container.NewCenter(container.NewHBox(buttons...)), container.NewVBox(t, s))
}

// rowsOf is a row per record: the active ones, or all.
func rowsOf[T any](recs []T, all bool, active func(T) bool, row func(T) fyne.CanvasObject) []fyne.CanvasObject {
	var rows []fyne.CanvasObject
	for _, r := range recs {
		if all || active(r) {
			rows = append(rows, row(r))
		}
	}
	return rows
}

// historyButton shows the history of one record (kind and id as
// app.History takes them), each version described by describe.
func historyButton[T any](cv *chartView, kind, id, title string, describe func(T) string) *widget.Button {
	return widget.NewButtonWithIcon("History", theme.HistoryIcon(), func() {
		cv.showHistory(kind, id, title, func(v store.Version) (string, error) {
			var x T
			err := v.Decode(&x)
			return describe(x), err
		})
	})
}

// Allergies.

// allergyText is an allergy as the header and the list say it.
func allergyText(a store.Allergy) string { return withDetails(a.Substance, a.Severity, a.Reaction) }

func (cv *chartView) allergyStatus(a store.Allergy) string {
	return fmt.Sprintf("%s · recorded %s by %s", a.Status, when(a.RecordedAt), cv.nameOf(a.RecordedBy))
}

func allergyActive(a store.Allergy) bool { return a.Status == store.AllergyActive }

func (cv *chartView) allergiesPane() *listPane {
	return newListPane(cv.s, app.ActAllergyWrite, "Add allergy…", "Show inactive and resolved", "No allergies recorded.", cv.addAllergy,
		func(all bool) []fyne.CanvasObject {
			return rowsOf(cv.chart.Allergies, all, allergyActive, func(a store.Allergy) fyne.CanvasObject {
				return recordRow(allergyText(a), cv.allergyStatus(a), allergyActive(a),
					writable(cv.s, app.ActAllergyWrite, widget.NewButton("Change status…", func() { cv.allergyStatusDialog(a) })),
					historyButton(cv, "allergy", a.ID, "History of the allergy to "+a.Substance,
						func(x store.Allergy) string { return allergyText(x) + "\n" + cv.allergyStatus(x) }))
			})
		})
}

func (cv *chartView) addAllergy() {
	severity := widget.NewRadioGroup(app.AllergySeverities, nil)
	severity.Horizontal = true
	fields := []*chartField{
		newChartField("substance", "Substance", newKeyEntry("e.g. penicillin, latex, peanuts")),
		newChartField("reaction", "Reaction", newKeyEntry("e.g. hives, anaphylaxis (optional)")),
		newChartField("severity", "Severity", severity),
	}
	pid := cv.patientID
	cv.u.showChartForm("Add an allergy", "Add allergy", 460, fields, func(ctx context.Context, v map[string]string) error {
		_, err := cv.s.AddAllergy(ctx, app.NewAllergy{PatientID: pid, Substance: v["substance"], Reaction: v["reaction"], Severity: v["severity"]})
		return err
	}, cv.done("Allergy added."))
}

func (cv *chartView) allergyStatusDialog(a store.Allergy) {
	status := widget.NewRadioGroup([]string{store.AllergyActive, store.AllergyInactive, store.AllergyResolved}, nil)
	status.Required = true
	status.SetSelected(a.Status)
	fields := []*chartField{newChartField("status", "Status of the allergy to "+a.Substance, status)}
	cv.u.showChartForm("Change an allergy's status", "Save", 420, fields, func(ctx context.Context, v map[string]string) error {
		_, err := cv.s.SetAllergyStatus(ctx, a.ID, v["status"])
		return err
	}, cv.done("Allergy status changed."))
}

// Medications.

func medicationText(m store.Medication) string {
	return withDetails(m.Name, m.Dose, m.Route, m.Frequency)
}

func (cv *chartView) medicationStatus(m store.Medication) string {
	s := m.Status
	if m.StartedOn != "" {
		s += " · started " + m.StartedOn
	}
	if m.StoppedOn != "" {
		s += " · stopped " + m.StoppedOn
	}
	return fmt.Sprintf("%s · recorded %s by %s", s, when(m.RecordedAt), cv.nameOf(m.RecordedBy))
}

func medicationActive(m store.Medication) bool { return m.Status == store.MedicationActive }

func (cv *chartView) medicationsPane() *listPane {
	return newListPane(cv.s, app.ActMedicationWrite, "Add medication…", "Show stopped", "No medications recorded.", cv.addMedication,
		func(all bool) []fyne.CanvasObject {
			return rowsOf(cv.chart.Medications, all, medicationActive, func(m store.Medication) fyne.CanvasObject {
				history := historyButton(cv, "medication", m.ID, "History of "+m.Name,
					func(x store.Medication) string { return medicationText(x) + "\n" + cv.medicationStatus(x) })
				if !medicationActive(m) {
					return recordRow(medicationText(m), cv.medicationStatus(m), false, history)
				}
				return recordRow(medicationText(m), cv.medicationStatus(m), true,
					writable(cv.s, app.ActMedicationWrite, widget.NewButton("Stop…", func() { cv.stopMedication(m) })), history)
			})
		})
}

func (cv *chartView) addMedication() {
	fields := []*chartField{
		newChartField("medication", "Medication", newKeyEntry("e.g. metformin")),
		newChartField("dose", "Dose", newKeyEntry("e.g. 500 mg (optional)")),
		newChartField("route", "Route", newKeyEntry("e.g. oral (optional)")),
		newChartField("frequency", "Frequency", newKeyEntry("e.g. twice a day (optional)")),
		newChartField("start date", "Started on", newKeyEntry("YYYY-MM-DD (optional)")),
	}
	pid := cv.patientID
	cv.u.showChartForm("Add a medication", "Add medication", 460, fields, func(ctx context.Context, v map[string]string) error {
		_, err := cv.s.AddMedication(ctx, app.NewMedication{PatientID: pid, Name: v["medication"], Dose: v["dose"],
			Route: v["route"], Frequency: v["frequency"], StartedOn: v["start date"]})
		return err
	}, cv.done("Medication added."))
}

func (cv *chartView) stopMedication(m store.Medication) {
	on := newKeyEntry("YYYY-MM-DD")
	on.SetText(time.Now().Format("2006-01-02"))
	fields := []*chartField{newChartField("stop date", "Stopped on", on)}
	cv.u.showChartForm("Stop "+m.Name, "Stop medication", 420, fields, func(ctx context.Context, v map[string]string) error {
		_, err := cv.s.StopMedication(ctx, m.ID, v["stop date"])
		return err
	}, cv.done("Medication stopped."))
}

// Problems.

func problemText(p store.Problem) string { return withDetails(p.Description, p.Code) }

func (cv *chartView) problemStatus(p store.Problem) string {
	s := p.Status
	if p.ResolvedOn != "" {
		s += " since " + p.ResolvedOn
	}
	if p.Onset != "" {
		s += " · onset " + p.Onset
	}
	return fmt.Sprintf("%s · recorded %s by %s", s, when(p.RecordedAt), cv.nameOf(p.RecordedBy))
}

func problemActive(p store.Problem) bool { return p.Status == store.ProblemActive }

func (cv *chartView) problemsPane() *listPane {
	return newListPane(cv.s, app.ActProblemWrite, "Add problem…", "Show inactive and resolved", "No problems recorded.", cv.addProblem,
		func(all bool) []fyne.CanvasObject {
			return rowsOf(cv.chart.Problems, all, problemActive, func(p store.Problem) fyne.CanvasObject {
				return recordRow(problemText(p), cv.problemStatus(p), problemActive(p),
					writable(cv.s, app.ActProblemWrite, widget.NewButton("Change status…", func() { cv.problemStatusDialog(p) })),
					historyButton(cv, "problem", p.ID, "History of "+p.Description,
						func(x store.Problem) string { return problemText(x) + "\n" + cv.problemStatus(x) }))
			})
		})
}

func (cv *chartView) addProblem() {
	fields := []*chartField{
		newChartField("problem", "Problem", newKeyEntry("e.g. type 2 diabetes")),
		newChartField("code", "Code", newKeyEntry("ICD-10 or SNOMED CT, e.g. E11.9 (optional)")),
		newChartField("onset", "Onset", newKeyEntry("YYYY, YYYY-MM or YYYY-MM-DD (optional)")),
	}
	pid := cv.patientID
	cv.u.showChartForm("Add a problem", "Add problem", 460, fields, func(ctx context.Context, v map[string]string) error {
		_, err := cv.s.AddProblem(ctx, app.NewProblem{PatientID: pid, Description: v["problem"], Code: v["code"], Onset: v["onset"]})
		return err
	}, cv.done("Problem added."))
}

// problemStatusDialog resolves a problem (the choice it starts on, unless
// it is resolved already), or marks it inactive or active again.
func (cv *chartView) problemStatusDialog(p store.Problem) {
	status := widget.NewRadioGroup([]string{store.ProblemActive, store.ProblemInactive, store.ProblemResolved}, nil)
	status.Required = true
	status.SetSelected(store.ProblemResolved)
	if p.Status == store.ProblemResolved {
		status.SetSelected(store.ProblemActive)
	}
	on := newKeyEntry("YYYY-MM-DD")
	on.SetText(time.Now().Format("2006-01-02"))
	fields := []*chartField{
		newChartField("status", "Status of "+p.Description, status),
		newChartField("resolved date", "Since (not needed to make it active again)", on),
	}
	cv.u.showChartForm("Change a problem's status", "Save", 440, fields, func(ctx context.Context, v map[string]string) error {
		_, err := cv.s.SetProblemStatus(ctx, p.ID, v["status"], v["resolved date"])
		return err
	}, cv.done("Problem status changed."))
}

// History.

// showHistory reads every version of one record (kind as app.History
// knows it; an audited chart read) and shows them, oldest first, each
// described by describe.
func (cv *chartView) showHistory(kind, id, title string, describe func(store.Version) (string, error)) {
	var vs []store.Version
	cv.u.work(func(ctx context.Context) error {
		var err error
		vs, err = cv.s.History(ctx, kind, id)
		return err
	}, func(err error) {
		if err != nil {
			cv.say(sentence(err), true)
			return
		}
		list := container.NewVBox()
		here := cv.s.Clinic().Node().ID
		for i, v := range vs {
			what := "Changed"
			switch {
			case i == 0:
				what = "Created"
			case v.Op == "delete":
				what = "Removed"
			}
			where := "on this workstation"
			if v.Origin != here {
				where = "on workstation " + v.Origin
			}
			text, derr := describe(v)
			if derr != nil {
				text = "This version cannot be read: " + sentence(derr)
			}
			body := widget.NewLabel(text)
			body.Wrapping = fyne.TextWrapWord
			list.Add(wrappedHeading(fmt.Sprintf("%s %s %s", what, when(v.At()), where)))
			list.Add(body)
		}
		cv.u.showReadOnly(title, list)
	})
}

// showReadOnly shows content in a dialog with only Close (Esc, Enter).
func (u *UI) showReadOnly(title string, content fyne.CanvasObject) {
	d := dialog.NewCustomWithoutButtons(title, container.NewGridWrap(fyne.NewSize(620, 420), container.NewVScroll(content)), u.win)
	var restore func()
	closeIt := func() { restore(); d.Hide() }
	d.SetButtons([]fyne.CanvasObject{newEscButton("Close", theme.CancelIcon(), closeIt)})
	d.Show()
	u.win.Canvas().Unfocus()
	restore = u.dialogKeys(closeIt, closeIt)
}
