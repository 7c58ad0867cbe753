package store

import (
	"time"
)

// Appointment is a booked visit of a patient with a clinician.
type Appointment struct {
	ID          string
	PatientID   string
	ClinicianID string
	StartsAt    time.Time
	Minutes     int
	Status      string // AppointmentBooked, …CheckedIn, …NoShow, …Cancelled, …Done
	Reason      string
	Deleted     bool
}

// Ends is when the appointment's time is over.
func (a Appointment) Ends() time.Time { return a.StartsAt.Add(time.Duration(a.Minutes) * time.Minute) }

const appointmentColumns = "id, patient_id, clinician_id, starts_at, minutes, status, reason, deleted"

func scanAppointment(row scanner) (Appointment, error) {
	var a Appointment
	var starts int64
	err := row.Scan(&a.ID, &a.PatientID, &a.ClinicianID, &starts, &a.Minutes, &a.Status, &a.Reason, &a.Deleted)
	a.StartsAt = time.Unix(starts, 0)
	return a, err
}

// appointmentRow reads an appointment, tombstone or not.
func (tx *Tx) appointmentRow(id string) (Appointment, bool, error) {
	a, err := queryOne(tx, scanAppointment, "SELECT "+appointmentColumns+" FROM appointments WHERE id = ?", id)
	return a, a.Deleted, missing(err, "appointment", id)
}

// Appointment returns one appointment by id.
func (tx *Tx) Appointment(id string) (Appointment, error) {
	a, deleted, err := tx.appointmentRow(id)
	if err == nil && deleted {
		err = &NotFoundError{"appointment", id}
	}
	return a, err
}

// BookAppointment books a visit; it starts out booked. The patient and the
// clinician must exist.
func (tx *Tx) BookAppointment(a Appointment) (Appointment, error) {
	if err := tx.patientExists(a.PatientID); err != nil {
		return Appointment{}, missing(err, "patient", a.PatientID)
	}
	if _, err := tx.UserByID(a.ClinicianID); err != nil {
		return Appointment{}, missing(err, "clinician", a.ClinicianID)
	}
	a.ID = NewID()
	a.Status = AppointmentBooked
	a.StartsAt = a.StartsAt.Truncate(time.Second)
	if a.Minutes <= 0 {
		a.Minutes = 15
	}
	origin, hlc := tx.stamp()
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO appointments(`+appointmentColumns+`, origin, hlc)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
		a.ID, a.PatientID, a.ClinicianID, a.StartsAt.Unix(), a.Minutes, a.Status, a.Reason, origin, int64(hlc))
	if err != nil {
		return Appointment{}, err
	}
	return logged(tx, "appointments", a.ID, hlc, tx.appointmentRow)
}

// SetAppointmentStatus moves an appointment along the front desk's
// workflow: a booked one is checked in, marked a no-show or cancelled; a
// checked-in one is done. Anything else is refused with a *StatusError.
func (tx *Tx) SetAppointmentStatus(id, status string) (Appointment, error) {
	a, err := tx.Appointment(id)
	if err != nil {
		return Appointment{}, err
	}
	if err := checkTransition("appointment", a.Status, status); err != nil {
		return a, err
	}
	origin, hlc := tx.stamp()
	if err := tx.execOne("UPDATE appointments SET status = ?, origin = ?, hlc = ? WHERE id = ?",
		status, origin, int64(hlc), id); err != nil {
		return Appointment{}, err
	}
	return logged(tx, "appointments", id, hlc, tx.appointmentRow)
}

// ScheduledVisit is a line of a day's schedule: the appointment with the
// names the front desk reads it by.
type ScheduledVisit struct {
	Appointment
	PatientName   string
	PatientMRN    string
	ClinicianName string // display name
	ClinicianUser string // username
}

// DaySchedule lists the appointments that start on day (in day's location,
// midnight to midnight, so a DST change day is 23 or 25 hours) by start
// time: one clinician's when clinicianID is given, everyone's when it is "".
// Cancelled and no-show appointments are listed too, with their status.
func (tx *Tx) DaySchedule(day time.Time, clinicianID string) ([]ScheduledVisit, error) {
	from := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, day.Location())
	to := from.AddDate(0, 0, 1)
	q := `SELECT ` + prefixed("a.", appointmentColumns) + `, p.name, p.mrn, u.display_name, u.username
		FROM appointments a JOIN patients p ON p.id = a.patient_id JOIN users u ON u.id = a.clinician_id
		WHERE a.starts_at >= ? AND a.starts_at < ? AND a.deleted = 0`
	args := []any{from.Unix(), to.Unix()}
	if clinicianID != "" {
		q += " AND a.clinician_id = ?"
		args = append(args, clinicianID)
	}
	q += " ORDER BY a.starts_at, u.username, a.id"
	return queryList(tx, scanVisit, q, args...)
}

func scanVisit(row scanner) (ScheduledVisit, error) {
	var v ScheduledVisit
	var starts int64
	err := row.Scan(&v.ID, &v.PatientID, &v.ClinicianID, &starts, &v.Minutes, &v.Status, &v.Reason, &v.Deleted,
		&v.PatientName, &v.PatientMRN, &v.ClinicianName, &v.ClinicianUser)
	v.StartsAt = time.Unix(starts, 0)
	return v, err
}

// PatientAppointments lists a patient's appointments, earliest first.
func (tx *Tx) PatientAppointments(patientID string) ([]Appointment, error) {
	return queryList(tx, scanAppointment, "SELECT "+appointmentColumns+
		" FROM appointments WHERE patient_id = ? AND deleted = 0 ORDER BY starts_at, id", patientID)
}
