package app

import (
	"context"
	"fmt"

	"ward/store"
)

// UpcomingAppointments lists one patient's appointments from the start of
// today on, earliest first, with the clinician's name: what the front desk
// reads on the patient's card. Cancelled and no-show visits are listed too,
// with their status. One audit entry (appointment.read, on the patient)
// records how many were shown.
func (s *Session) UpcomingAppointments(ctx context.Context, patientID string) ([]store.ScheduledVisit, error) {
	var vs []store.ScheduledVisit
	err := s.Do(ctx, ActAppointmentRead, patientID, func(tx *store.Tx, w *Work) error {
		p, err := tx.LivePatient(patientID)
		if err != nil {
			return err
		}
		as, err := tx.PatientAppointments(patientID)
		if err != nil {
			return err
		}
		us, err := tx.Users()
		if err != nil {
			return err
		}
		names, usernames := displayNames(us), make(map[string]string, len(us))
		for _, u := range us {
			usernames[u.ID] = u.Username
		}
		from := startOfDay(s.clinic.now())
		for _, a := range as {
			if a.StartsAt.Before(from) {
				continue
			}
			vs = append(vs, store.ScheduledVisit{Appointment: a, PatientName: p.Name, PatientMRN: p.MRN,
				ClinicianName: names[a.ClinicianID], ClinicianUser: usernames[a.ClinicianID]})
		}
		w.Detail = fmt.Sprintf("upcoming appointments: %d", len(vs))
		return nil
	})
	return vs, err
}
