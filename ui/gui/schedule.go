package gui

import (
	"context"
	"fmt"
	"strconv"
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

// The Schedule tab: one day's appointments, everyone's or one clinician's
// (a clinician's own by default), by time. The front desk checks patients
// in, marks no-shows and cancels; a clinician marks a visit done. Each
// change is one audited call through app, and the day is read again after
// it, so what shows is what the records hold. The day is read again too
// whenever the tab comes on screen (a visit booked from a patient's card
// shows up).

// allClinicians is the clinician choice that shows everyone's day.
const allClinicians = "All clinicians"

// statusNames are appointment statuses as the desk says them.
var statusNames = map[string]string{
	store.AppointmentBooked:    "booked",
	store.AppointmentCheckedIn: "checked in",
	store.AppointmentNoShow:    "no-show",
	store.AppointmentCancelled: "cancelled",
	store.AppointmentDone:      "done",
}

// visitWhen is an appointment's start as the desk reads it.
func visitWhen(t time.Time) string { return t.Local().Format("Mon 2 Jan 2006, 15:04") }

// scheduleView is the Schedule tab.
type scheduleView struct {
	tabView
	u   *UI
	s   *app.Session
	gen int // bumped per read: a late answer for another day is dropped

	day        time.Time // midnight, local time
	clinicians []store.User
	who        *widget.Select // allClinicians or a clinician's display name
	choosing   bool           // the Select is being filled (its OnChanged must not read)

	dayLabel, summary *widget.Label
	message           *widget.Label // the outcome of the last action
	prev, next, today *widget.Button
	book              *widget.Button
	print             *widget.Button // "Print downtime summary", clinicians only (downtime.go)
	rows              *fyne.Container
	visits            []store.ScheduledVisit
	booking           *chartForm     // the booking dialog while it is open
	picker            *patientPicker // the patient picker of "Book appointment"
}

// scheduleSection builds the Schedule tab for s.
func (u *UI) scheduleSection(s *app.Session) fyne.CanvasObject {
	v := &scheduleView{u: u, s: s, day: startOfDay(time.Now())}
	v.dayLabel = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	v.dayLabel.SizeName = theme.SizeNameSubHeadingText
	v.summary = widget.NewLabel("")
	v.message = widget.NewLabel("")
	v.message.Wrapping = fyne.TextWrapWord
	v.message.Hide()
	v.prev = widget.NewButtonWithIcon("Previous day", theme.NavigateBackIcon(), func() { v.goTo(v.day.AddDate(0, 0, -1)) })
	v.next = widget.NewButtonWithIcon("Next day", theme.NavigateNextIcon(), func() { v.goTo(v.day.AddDate(0, 0, 1)) })
	v.today = widget.NewButton("Today", func() { v.goTo(startOfDay(time.Now())) })
	v.who = widget.NewSelect([]string{allClinicians}, func(string) {
		if !v.choosing {
			v.load()
		}
	})
	v.book = writable(s, app.ActAppointmentWrite, widget.NewButtonWithIcon("Book appointment", theme.ContentAddIcon(), v.startBooking))
	v.book.Importance = widget.HighImportance
	v.rows = container.NewVBox()

	right := container.NewHBox(v.who, v.book)
	if s.Allowed(app.ActDowntimeSummary) {
		v.print = widget.NewButtonWithIcon("Print downtime summary", theme.DocumentPrintIcon(), v.printDowntime)
		right.Add(v.print)
	}
	bar := container.NewBorder(nil, nil, container.NewHBox(v.prev, v.today, v.next, v.dayLabel), right)
	top := container.NewVBox(bar, v.summary, v.message, widget.NewSeparator())
	v.root, v.shown = container.NewBorder(top, nil, nil, nil, container.NewVScroll(v.rows)), v.load
	v.ExtendBaseWidget(v)
	return v
}

// goTo shows another day.
func (v *scheduleView) goTo(day time.Time) {
	v.day = startOfDay(day)
	v.say("", false)
	v.load()
}

// clinician is the username whose day shows, or "" for everyone's.
func (v *scheduleView) clinician() string {
	for _, c := range v.clinicians {
		if c.DisplayName == v.who.Selected {
			return c.Username
		}
	}
	return ""
}

// load reads the day (and, the first time, the clinicians to choose from).
func (v *scheduleView) load() {
	v.gen++
	gen, day, first := v.gen, v.day, v.clinicians == nil
	who := v.clinician()
	if first && v.s.User().HasRole(app.RoleClinician) && !v.s.ReadOnly() {
		who = v.s.User().Username // a clinician sees their own day first (the kit, everyone's)
	}
	var cs []store.User
	var visits []store.ScheduledVisit
	v.dayLabel.SetText(dayName(day))
	v.u.work(func(ctx context.Context) error {
		var err error
		if first {
			if cs, err = v.s.Clinicians(ctx); err != nil {
				return err
			}
		}
		visits, err = v.s.DaySchedule(ctx, day, who)
		return err
	}, func(err error) {
		if gen != v.gen {
			return
		}
		if first && err == nil {
			v.setClinicians(cs, who)
		}
		if err != nil {
			v.say(sentence(err), true)
			return
		}
		v.visits = visits
		v.fill()
	})
}

// setClinicians fills the clinician choice and selects who ("" = all).
func (v *scheduleView) setClinicians(cs []store.User, who string) {
	v.clinicians = append([]store.User{}, cs...) // not nil: read, even when there is none
	options, selected := []string{allClinicians}, allClinicians
	for _, c := range cs {
		options = append(options, c.DisplayName)
		if c.Username == who {
			selected = c.DisplayName
		}
	}
	v.choosing = true
	v.who.SetOptions(options)
	v.who.SetSelected(selected)
	v.choosing = false
}

// fill shows the day just read: one row per appointment, with what can be
// done to it now.
func (v *scheduleView) fill() {
	counts := map[string]int{}
	var objs []fyne.CanvasObject
	for _, vis := range v.visits {
		counts[vis.Status]++
		if len(objs) > 0 {
			objs = append(objs, widget.NewSeparator())
		}
		objs = append(objs, v.row(vis))
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("No appointments on this day."))
	}
	v.rows.Objects = objs
	v.rows.Refresh()
	var parts []string
	for _, st := range []string{store.AppointmentBooked, store.AppointmentCheckedIn, store.AppointmentDone,
		store.AppointmentNoShow, store.AppointmentCancelled} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], statusNames[st]))
		}
	}
	sum := fmt.Sprintf("%d appointments", len(v.visits))
	if len(parts) > 0 {
		sum += ": " + strings.Join(parts, ", ")
	}
	v.summary.SetText(sum)
}

// row is one appointment: time and patient, then clinician, length,
// status and reason, and the buttons its status allows.
func (v *scheduleView) row(vis store.ScheduledVisit) fyne.CanvasObject {
	var buttons []fyne.CanvasObject
	who := vis.PatientName + " (MRN " + vis.PatientMRN + ")"
	at := vis.StartsAt.Local().Format("15:04")
	switch vis.Status {
	case store.AppointmentBooked:
		checkIn := widget.NewButtonWithIcon("Check in", theme.ConfirmIcon(), func() {
			v.change("Checked in: "+vis.PatientName+".", func(ctx context.Context) error {
				_, err := v.s.CheckIn(ctx, vis.ID)
				return err
			})
		})
		noShow := widget.NewButton("No-show", func() {
			v.u.confirmAction("Mark as no-show?", fmt.Sprintf("%s did not come to the %s appointment with %s. "+
				"This cannot be changed afterwards.", vis.PatientName, at, vis.ClinicianName), "Mark no-show", func() {
				v.change("Marked as no-show: "+vis.PatientName+".", func(ctx context.Context) error {
					_, err := v.s.NoShow(ctx, vis.ID)
					return err
				})
			})
		})
		cancel := widget.NewButtonWithIcon("Cancel…", theme.CancelIcon(), func() {
			v.u.confirmAction("Cancel the appointment?", fmt.Sprintf("Cancel %s's %s appointment with %s? "+
				"This cannot be changed afterwards: book again if needed.", vis.PatientName, at, vis.ClinicianName),
				"Cancel appointment", func() {
					v.change("Cancelled: "+vis.PatientName+" at "+at+".", func(ctx context.Context) error {
						_, err := v.s.CancelAppointment(ctx, vis.ID)
						return err
					})
				})
		})
		buttons = append(buttons, writable(v.s, app.ActAppointmentWrite, checkIn), writable(v.s, app.ActAppointmentWrite, noShow), writable(v.s, app.ActAppointmentWrite, cancel))
	case store.AppointmentCheckedIn:
		if v.s.User().HasRole(app.RoleClinician) {
			buttons = append(buttons, writable(v.s, app.ActAppointmentWrite, widget.NewButtonWithIcon("Done", theme.ConfirmIcon(), func() {
				v.change("Done: "+vis.PatientName+".", func(ctx context.Context) error {
					_, err := v.s.CompleteAppointment(ctx, vis.ID)
					return err
				})
			})))
		}
	}
	if v.s.Allowed(app.ActChartRead) {
		buttons = append(buttons, widget.NewButtonWithIcon("Open chart", theme.DocumentIcon(), func() { v.u.openChart(vis.PatientID) }))
	}
	return recordRow(at+"  ·  "+who, withDetails(vis.ClinicianName+"  ·  "+statusNames[vis.Status],
		fmt.Sprintf("%d min", vis.Minutes), vis.Reason), vis.Status == store.AppointmentBooked || vis.Status == store.AppointmentCheckedIn, buttons...)
}

// change runs one appointment change through app, says how it went and
// reads the day again.
func (v *scheduleView) change(done string, fn func(ctx context.Context) error) {
	v.u.work(fn, func(err error) {
		if err != nil {
			v.say(sentence(err), true)
		} else {
			v.say(done, false)
		}
		v.load()
	})
}

// say shows the outcome of the last action, or why it failed ("" hides it).
func (v *scheduleView) say(text string, failed bool) { showOutcome(v.message, text, failed) }

// startBooking is "Book appointment": pick the patient, then the booking
// form, for the day and clinician showing.
func (v *scheduleView) startBooking() {
	v.picker = v.u.pickPatient(v.s, "Book an appointment", "Who is the appointment for?", nil, func(p store.Patient) {
		v.booking = nil
		v.u.bookAppointment(v.s, p, v.day, v.clinician(), func(a store.Appointment) {
			v.say("Booked: "+p.Name+", "+visitWhen(a.StartsAt)+".", false)
			if startOfDay(a.StartsAt.Local()).Equal(v.day) {
				v.load()
			}
		}, func(f *chartForm) { v.booking = f })
	})
}

// bookAppointment opens the booking form for p: clinician, day and time,
// length, reason; app's message about a field shows under it. The time
// offered is the next quarter hour (today) or 09:00 (another day); the
// clinician offered is clinician (a username), or the person booking when
// they are a clinician. shown, when set, gets the form once it is open.
func (u *UI) bookAppointment(s *app.Session, p store.Patient, day time.Time, clinician string, booked func(store.Appointment), shown func(*chartForm)) {
	var cs []store.User
	u.work(func(ctx context.Context) error {
		var err error
		cs, err = s.Clinicians(ctx)
		return err
	}, func(err error) {
		if err != nil {
			dialog.ShowInformation("Cannot book now", sentence(err), u.win)
			return
		}
		if clinician == "" && s.User().HasRole(app.RoleClinician) {
			clinician = s.User().Username
		}
		names := make([]string, len(cs))
		who := widget.NewSelect(nil, nil)
		for i, c := range cs {
			names[i] = c.DisplayName
			if c.Username == clinician {
				who.Selected = c.DisplayName
			}
		}
		who.SetOptions(names)
		who.PlaceHolder = "choose the clinician"
		when := newKeyEntry("YYYY-MM-DD HH:MM")
		when.SetText(offeredTime(day, time.Now()).Format("2006-01-02 15:04"))
		minutes := newKeyEntry(strconv.Itoa(app.DefaultAppointmentMinutes))
		minutes.SetText(strconv.Itoa(app.DefaultAppointmentMinutes))
		reason := newKeyEntry("optional: what the visit is for")
		fields := []*chartField{ // an entry first: Esc in a focused Select would do nothing
			newChartField("time", "Day and time (YYYY-MM-DD HH:MM)", when),
			newChartField("clinician", "Clinician", who),
			newChartField("minutes", "Minutes", minutes),
			newChartField("reason", "Reason", reason),
		}
		var a store.Appointment
		f := u.showChartForm("Book an appointment for "+patientLine(p), "Book", 520, fields,
			func(ctx context.Context, val map[string]string) error {
				n := app.NewAppointment{PatientID: p.ID, Reason: val["reason"]}
				for _, c := range cs {
					if c.DisplayName == val["clinician"] {
						n.Clinician = c.Username
					}
				}
				var err error
				if n.At, err = time.ParseInLocation("2006-01-02 15:04", val["time"], time.Local); err != nil {
					return &app.ValidationError{Field: "time", Problem: "write the day and time as YYYY-MM-DD HH:MM, for example 2026-11-24 09:30"}
				}
				if n.Minutes, err = strconv.Atoi(val["minutes"]); err != nil {
					return &app.ValidationError{Field: "minutes", Problem: "write how long the visit is in minutes, for example 15"}
				}
				a, err = s.BookAppointment(ctx, n)
				return err
			}, func() { booked(a) })
		if shown != nil {
			shown(f)
		}
	})
}

// offeredTime is when a booking form first proposes: 09:00 on another day;
// today, the next quarter hour from now.
func offeredTime(day, now time.Time) time.Time {
	if !startOfDay(day).Equal(startOfDay(now)) {
		return startOfDay(day).Add(9 * time.Hour)
	}
	return now.Truncate(15 * time.Minute).Add(15 * time.Minute)
}

// startOfDay is midnight of t's day, in local time.
func startOfDay(t time.Time) time.Time {
	t = t.Local()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.Local)
}

// dayName is a day as the schedule's heading says it.
func dayName(day time.Time) string {
	name, today := day.Format("Monday 2 January 2006"), startOfDay(time.Now())
	switch {
	case day.Equal(today):
		name += " (today)"
	case day.Equal(today.AddDate(0, 0, 1)):
		name += " (tomorrow)"
	case day.Equal(today.AddDate(0, 0, -1)):
		name += " (yesterday)"
	}
	return name
}

// showOutcome shows on l the outcome of an action, or why it failed
// ("" hides l).
func showOutcome(l *widget.Label, text string, failed bool) {
	l.SetText(text)
	l.Importance = widget.SuccessImportance
	if failed {
		l.Importance = widget.DangerImportance
	}
	if text == "" {
		l.Hide()
	} else {
		l.Show()
	}
}
