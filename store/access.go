package store

import "time"

// Restricted charts: a patient marked restricted (a staff member, a VIP)
// has a chart only the clinicians named for it may open.

// PatientRestricted tells whether a patient's chart is restricted.
func (tx *Tx) PatientRestricted(patientID string) (bool, error) {
	var r bool
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT restricted FROM patients WHERE id = ? AND deleted = 0", patientID).Scan(&r)
	if err != nil {
		return false, notFound(err)
	}
	return r, nil
}

// MayOpenRestricted tells whether user is named for a restricted patient.
func (tx *Tx) MayOpenRestricted(patientID, userID string) (bool, error) {
	var n int
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT count(*) FROM patient_access WHERE patient_id = ? AND user_id = ? AND deleted = 0",
		patientID, userID).Scan(&n)
	return n > 0, err
}

// SetPatientRestricted marks or unmarks a patient as restricted.
func (tx *Tx) SetPatientRestricted(patientID string, restricted bool) error {
	p, err := tx.Patient(patientID)
	if err != nil {
		return err
	}
	origin, hlc := tx.stamp()
	p.Restricted = restricted
	p.UpdatedAt = tx.now.Truncate(time.Second)
	if _, err := tx.tx.ExecContext(tx.ctx, "UPDATE patients SET restricted = ?, updated_at = ?, origin = ?, hlc = ? WHERE id = ?",
		restricted, p.UpdatedAt.Unix(), origin, int64(hlc), patientID); err != nil {
		return err
	}
	return tx.logChange("patients", p.ID, "upsert", hlc, p)
}

// PatientAccessGrant names a clinician who may open a restricted chart.
type PatientAccessGrant struct {
	ID        string
	PatientID string
	UserID    string
	GrantedBy string
	GrantedAt time.Time
}

// SetPatientAccess names (allowed) or un-names a clinician for a patient.
func (tx *Tx) SetPatientAccess(patientID, userID, by string, allowed bool) error {
	origin, hlc := tx.stamp()
	g := PatientAccessGrant{ID: NewID(), PatientID: patientID, UserID: userID, GrantedBy: by, GrantedAt: tx.now.Truncate(time.Second)}
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO patient_access(id, patient_id, user_id, granted_by, granted_at, origin, hlc, deleted)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(patient_id, user_id) DO UPDATE SET granted_by = excluded.granted_by, granted_at = excluded.granted_at,
			origin = excluded.origin, hlc = excluded.hlc, deleted = excluded.deleted`,
		g.ID, patientID, userID, by, g.GrantedAt.Unix(), origin, int64(hlc), !allowed)
	if err != nil {
		return err
	}
	var id string
	if err := tx.tx.QueryRowContext(tx.ctx, "SELECT id FROM patient_access WHERE patient_id = ? AND user_id = ?", patientID, userID).Scan(&id); err != nil {
		return err
	}
	g.ID = id
	op := "upsert"
	if !allowed {
		op = "delete"
	}
	return tx.logChange("patient_access", id, op, hlc, g)
}
