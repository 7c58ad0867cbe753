package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"ward/store"
)

// NewAppointment is what the front desk fills in to book a visit.
type NewAppointment struct {
	PatientID string
	Clinician string    // username (as the front desk knows them) or user id
	At        time.Time // start, in the clinic's local time
	Minutes   int       // 0 = 15
	Reason    string
}

// Appointment lengths the booking form accepts.
const (
	DefaultAppointmentMinutes = 15
	MaxAppointmentMinutes     = 8 * 60
)

// clinicianFor finds the person a visit is booked with, by username or id.
func clinicianFor(tx *store.Tx, ref string) (store.User, error) {
	if ref == "" {
		return store.User{}, &ValidationError{"clinician", "choose the clinician the patient will see"}
	}
	u, err := tx.UserByUsername(ref)
	if errors.Is(err, store.ErrNotFound) {
		u, err = tx.UserByID(ref)
	}
	if errors.Is(err, store.ErrNotFound) {
		return u, &ValidationError{"clinician", fmt.Sprintf("there is no user %q", ref)}
	}
	if err != nil {
		return u, err
	}
	if !u.HasRole(RoleClinician) {
		return u, &ValidationError{"clinician", fmt.Sprintf("%s is not a clinician", u.Username)}
	}
	return u, nil
}

// BookAppointment books a visit of a patient with a clinician.
func (s *Session) BookAppointment(ctx context.Context, n NewAppointment) (store.Appointment, error) {
	var a store.Appointment
	err := s.Do(ctx, ActAppointmentWrite, n.PatientID, func(tx *store.Tx, w *Work) error {
		if n.Minutes == 0 {
			n.Minutes = DefaultAppointmentMinutes
		}
		now := s.clinic.now()
		switch {
		case n.At.IsZero():
			return &ValidationError{"time", "give the appointment's day and time, for example 2026-11-24 09:30"}
		case n.At.Before(startOfDay(now)):
			return &ValidationError{"time", "that day is in the past: book today or later"}
		case n.Minutes < 5 || n.Minutes > MaxAppointmentMinutes:
			return &ValidationError{"minutes", fmt.Sprintf("an appointment lasts 5 to %d minutes", MaxAppointmentMinutes)}
		}
		if err := checkText("reason", n.Reason, false, 500); err != nil {
			return err
		}
		if _, err := tx.LivePatient(n.PatientID); err != nil {
			return err
		}
		c, err := clinicianFor(tx, n.Clinician)
		if err != nil {
			return err
		}
		if c.Disabled {
			return &ValidationError{"clinician", c.Username + "'s account is disabled: book with another clinician"}
		}
		a, err = tx.BookAppointment(store.Appointment{PatientID: n.PatientID, ClinicianID: c.ID, StartsAt: n.At,
			Minutes: n.Minutes, Reason: n.Reason})
		w.Detail = fmt.Sprintf("booked appointment %s with clinician %s", a.ID, c.ID)
		return err
	})
	return a, err
}

func startOfDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// DaySchedule lists the appointments of one day (its date in day's
// location), by time: one clinician's (username or id) or, with clinician
// "", everyone's. One audit entry records the day, whose schedule and how
// many appointments were shown.
func (s *Session) DaySchedule(ctx context.Context, day time.Time, clinician string) ([]store.ScheduledVisit, error) {
	var vs []store.ScheduledVisit
	err := s.Do(ctx, ActAppointmentRead, "", func(tx *store.Tx, w *Work) error {
		who, id := "all clinicians", ""
		if clinician != "" {
			c, err := clinicianFor(tx, clinician)
			if err != nil {
				return err
			}
			who, id = "clinician "+c.ID, c.ID
		}
		var err error
		vs, err = tx.DaySchedule(day, id)
		w.Detail = fmt.Sprintf("schedule of %s for %s: %d appointments", who, day.Format("2006-01-02"), len(vs))
		return err
	})
	return vs, err
}

// Clinicians lists the people visits can be booked with (enabled
// clinicians), for the booking form.
func (s *Session) Clinicians(ctx context.Context) ([]store.User, error) {
	var cs []store.User
	err := s.Do(ctx, ActAppointmentRead, "", func(tx *store.Tx, w *Work) error {
		us, err := tx.Users()
		for _, u := range us {
			if u.HasRole(RoleClinician) && !u.Disabled {
				u.PasswordHash = ""
				cs = append(cs, u)
			}
		}
		w.Detail = fmt.Sprintf("%d clinicians", len(cs))
		return err
	})
	return cs, err
}

// CheckIn marks a booked patient as arrived.
func (s *Session) CheckIn(ctx context.Context, appointmentID string) (store.Appointment, error) {
	return s.moveAppointment(ctx, appointmentID, store.AppointmentCheckedIn)
}

// NoShow marks a booked appointment the patient did not come to.
func (s *Session) NoShow(ctx context.Context, appointmentID string) (store.Appointment, error) {
	return s.moveAppointment(ctx, appointmentID, store.AppointmentNoShow)
}

// CancelAppointment cancels a booked appointment.
func (s *Session) CancelAppointment(ctx context.Context, appointmentID string) (store.Appointment, error) {
	return s.moveAppointment(ctx, appointmentID, store.AppointmentCancelled)
}

// CompleteAppointment marks a checked-in visit as done.
func (s *Session) CompleteAppointment(ctx context.Context, appointmentID string) (store.Appointment, error) {
	return s.moveAppointment(ctx, appointmentID, store.AppointmentDone)
}

func (s *Session) moveAppointment(ctx context.Context, id, status string) (store.Appointment, error) {
	var a store.Appointment
	err := s.Do(ctx, ActAppointmentWrite, "", func(tx *store.Tx, w *Work) error {
		pid, err := tx.RecordPatient("appointments", id)
		if err != nil {
			return err
		}
		if err := s.onRecord(tx, w, ActAppointmentWrite, pid); err != nil {
			return err
		}
		a, err = tx.SetAppointmentStatus(id, status)
		w.Detail = fmt.Sprintf("appointment %s: %s", id, status)
		return err
	})
	return a, err
}
