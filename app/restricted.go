package app

import (
	"context"
	"fmt"
	"strings"

	"ward/store"
)

// RestrictPatient marks a patient's chart restricted and names the
// clinicians who may open it (a security officer's decision). Everyone else
// is denied the chart and needs emergency access.
func (s *Session) RestrictPatient(ctx context.Context, patientID string, clinicians []string) error {
	return s.Do(ctx, ActPatientAccess, patientID, func(tx *store.Tx, w *Work) error {
		var ids []string
		for _, name := range clinicians {
			u, err := tx.UserByUsername(name)
			if err != nil {
				return &ValidationError{"clinician", fmt.Sprintf("there is no user %q", name)}
			}
			if !u.HasRole(RoleClinician) {
				return &ValidationError{"clinician", fmt.Sprintf("%s is not a clinician", name)}
			}
			if err := tx.SetPatientAccess(patientID, u.ID, s.user.ID, true); err != nil {
				return err
			}
			ids = append(ids, u.ID)
		}
		w.Detail = "restricted; named clinicians: " + strings.Join(ids, ",")
		return tx.SetPatientRestricted(patientID, true)
	})
}

// UnrestrictPatient lifts the restriction.
func (s *Session) UnrestrictPatient(ctx context.Context, patientID string) error {
	return s.Do(ctx, ActPatientAccess, patientID, func(tx *store.Tx, w *Work) error {
		w.Detail = "restriction lifted"
		return tx.SetPatientRestricted(patientID, false)
	})
}
