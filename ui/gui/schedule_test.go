package gui

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"ward/app"
	"ward/store"
)

// The front desk's schedule: book two visits for today from the Schedule
// tab (a time that is not one is refused beside the field), check one
// patient in, mark the other a no-show; the rows and the summary show the
// statuses, and each change is in the audit chain. The day can be moved.
func TestScheduleFrontDesk(t *testing.T) {
	c := testClinic(t)
	desk := sessionOf(t, c, "frontdesk")
	registerPatient(t, desk, "Ines Moreau", "1988-07-14")
	registerPatient(t, desk, "Colm Murphy", "1979-11-02")

	u := newTestUI(t, c)
	sh := signInAs(t, u, "frontdesk")
	v := scheduleTab(t, u, sh)
	if v.who.Selected != allClinicians || !strings.Contains(v.dayLabel.Text, "(today)") ||
		!strings.Contains(visibleText(u), "No appointments on this day.") {
		t.Fatalf("the front desk's first schedule: %q, %q\n%s", v.who.Selected, v.dayLabel.Text, visibleText(u))
	}

	book := func(name, at string) {
		t.Helper()
		tap(u, v.book)
		typeKeys(u, v.picker.search.entry, strings.ToLower(name[:5]))
		v.picker.search.entry.TypedKey(&fyneKeyReturn)
		u.settle()
		f := v.booking
		if f == nil {
			t.Fatalf("no booking form after choosing %s:\n%s", name, visibleText(u))
		}
		dlg := topOverlay(t, u)
		if !strings.Contains(textOf(dlg), name) {
			t.Fatalf("the booking form is not for %s:\n%s", name, textOf(dlg))
		}
		selectsIn(dlg)[0].SetSelected("Dr. Clara Lin")
		when := entriesIn(dlg)[0]
		when.SetText(time.Now().Format("2006-01-02") + " " + at)
		tap(u, f.save)
	}
	tap(u, v.book)
	typeKeys(u, v.picker.search.entry, "ines")
	v.picker.search.entry.TypedKey(&fyneKeyReturn)
	u.settle()
	dlg := topOverlay(t, u)
	selectsIn(dlg)[0].SetSelected("Dr. Clara Lin")
	entriesIn(dlg)[0].SetText("tomorrow at nine")
	tap(u, v.booking.save)
	if msg := fieldMessage(t, dlg, "Day and time (YYYY-MM-DD HH:MM)"); !strings.Contains(msg, "YYYY-MM-DD HH:MM") {
		t.Fatalf("a time that is not one: %q", msg)
	}
	closeTop(u)
	if len(u.win.Canvas().Overlays().List()) != 0 {
		t.Fatal("Esc did not close the booking form")
	}

	book("Ines Moreau", "09:00")
	book("Colm Murphy", "09:30")
	if got := len(v.visits); got != 2 {
		t.Fatalf("the day lists %d visits after booking two:\n%s", got, visibleText(u))
	}
	tap(u, rowButton(t, v.rows, "Ines Moreau", "Check in"))
	tap(u, rowButton(t, v.rows, "Colm Murphy", "No-show"))
	if !strings.Contains(textOf(topOverlay(t, u)), "Colm Murphy did not come to the 09:30 appointment with Dr. Clara Lin") {
		t.Fatalf("the no-show confirmation says:\n%s", textOf(topOverlay(t, u)))
	}
	pressKey(u, fyne.KeyReturn)
	if r := rowsText(v.rows, "Ines Moreau"); !strings.Contains(r, "checked in") || strings.Contains(r, "Check in") {
		t.Fatalf("Ines's row after check-in:\n%s", r)
	}
	if r := rowsText(v.rows, "Colm Murphy"); !strings.Contains(r, "no-show") || strings.Contains(r, "Cancel") {
		t.Fatalf("Colm's row after the no-show:\n%s", r)
	}
	if got := v.summary.Text; got != "2 appointments: 1 checked in, 1 no-show" {
		t.Fatalf("summary = %q", got)
	}
	if hasButton(v.rows, "Done") {
		t.Error("the front desk is offered Done (a clinician's step)")
	}
	got := auditActions(t, c)
	for _, want := range []string{": " + store.AppointmentCheckedIn + " ", ": " + store.AppointmentNoShow + " ", " booked appointment "} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in the audit chain: %s", want, got)
		}
	}

	tap(u, v.next)
	if !strings.Contains(v.dayLabel.Text, "(tomorrow)") || len(v.visits) != 0 {
		t.Fatalf("next day: %q, %d visits", v.dayLabel.Text, len(v.visits))
	}
	tap(u, v.today)
	if len(v.visits) != 2 {
		t.Fatalf("back to today: %d visits", len(v.visits))
	}
}

// A clinician sees their own day first, marks a checked-in visit done,
// can look at everyone's day and open a patient's chart from it.
func TestScheduleClinician(t *testing.T) {
	c := testClinic(t)
	addClinician(t, c, "drsmith", "Dr. Ann Smith")
	ctx := context.Background()
	desk := sessionOf(t, c, "frontdesk")
	mine := registerPatient(t, desk, "Priya Rahman", "1990-05-05")
	theirs := registerPatient(t, desk, "Sven Lindqvist", "1966-03-03")
	nine := startOfDay(time.Now()).Add(9 * time.Hour)
	a, err := desk.BookAppointment(ctx, app.NewAppointment{PatientID: mine.ID, Clinician: "clinician", At: nine})
	if err == nil {
		_, err = desk.CheckIn(ctx, a.ID)
	}
	if err == nil {
		_, err = desk.BookAppointment(ctx, app.NewAppointment{PatientID: theirs.ID, Clinician: "drsmith", At: nine})
	}
	if err != nil {
		t.Fatal(err)
	}

	u := newTestUI(t, c)
	v := scheduleTab(t, u, signInAs(t, u, "clinician"))
	if v.who.Selected != "Dr. Clara Lin" || rowsText(v.rows, "Priya Rahman") == "" || rowsText(v.rows, "Sven Lindqvist") != "" {
		t.Fatalf("the clinician's first schedule (%q):\n%s", v.who.Selected, textOf(v.rows))
	}
	tap(u, rowButton(t, v.rows, "Priya Rahman", "Done"))
	if r := rowsText(v.rows, "Priya Rahman"); !strings.Contains(r, "done") || strings.Contains(r, "Done\n") {
		t.Fatalf("after Done:\n%s", r)
	}
	assertAudited(t, c, "appointment.write success appointment "+a.ID+": "+store.AppointmentDone)

	v.who.SetSelected(allClinicians)
	u.settle()
	if rowsText(v.rows, "Sven Lindqvist") == "" {
		t.Fatalf("everyone's day:\n%s", textOf(v.rows))
	}
	tap(u, rowButton(t, v.rows, "Sven Lindqvist", "Open chart"))
	if sh := u.current(); sh.tabs.Selected().Text != chartTitle {
		t.Fatal("Open chart did not show the chart")
	}
}

// scheduleTab is the shell's Schedule tab, selected and read.
func scheduleTab(t *testing.T, u *UI, sh *shell) *scheduleView {
	t.Helper()
	for _, it := range sh.tabs.Items {
		if v, ok := it.Content.(*scheduleView); ok {
			sh.tabs.Select(it)
			u.settle()
			return v
		}
	}
	t.Fatal("no Schedule tab")
	return nil
}
