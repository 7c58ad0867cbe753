package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"ward/store"
)

// ValidationError says which field of a form is wrong and why, in words the
// front desk can act on. It never contains the typed value.
type ValidationError struct {
	Field   string
	Problem string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Problem }

// NewPatient is what registration asks for.
type NewPatient struct {
	Name      string
	BirthDate string // YYYY-MM-DD
	MRN       string // optional; drawn when empty
	Phone     string
	Sex       string
	Address   string
}

// ValidatePatient checks a registration form and returns the cleaned record.
func ValidatePatient(n NewPatient, today time.Time) (store.Patient, error) {
	p := store.Patient{Name: strings.Join(strings.Fields(n.Name), " "), BirthDate: strings.TrimSpace(n.BirthDate),
		MRN: strings.TrimSpace(n.MRN), Phone: strings.TrimSpace(n.Phone), Sex: strings.TrimSpace(n.Sex),
		Address: strings.TrimSpace(n.Address)}
	if p.Name == "" {
		return p, &ValidationError{"name", "the patient's name is required"}
	}
	if len(p.Name) > 200 {
		return p, &ValidationError{"name", "a name can have at most 200 characters"}
	}
	dob, err := time.Parse("2006-01-02", p.BirthDate)
	if err != nil {
		return p, &ValidationError{"birth date", "write the birth date as YYYY-MM-DD, for example 1984-03-17"}
	}
	if dob.After(today) {
		return p, &ValidationError{"birth date", "the birth date is in the future"}
	}
	if dob.Before(today.AddDate(-130, 0, 0)) {
		return p, &ValidationError{"birth date", "the birth date is more than 130 years ago"}
	}
	if p.MRN != "" && (len(p.MRN) > 32 || strings.ContainsAny(p.MRN, " \t")) {
		return p, &ValidationError{"MRN", "a medical record number has at most 32 characters and no spaces"}
	}
	if p.Phone != "" && len(digits(p.Phone)) < 5 {
		return p, &ValidationError{"phone", "a phone number needs at least 5 digits"}
	}
	return p, nil
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// RegisterPatient adds a patient.
func (s *Session) RegisterPatient(ctx context.Context, n NewPatient) (store.Patient, error) {
	p, err := ValidatePatient(n, time.Now())
	if err != nil {
		s.record(ctx, ActPatientCreate, "", "failure", failureDetail(err))
		return store.Patient{}, err
	}
	err = s.Do(ctx, ActPatientCreate, "", func(tx *store.Tx, w *Work) error {
		var err error
		p, err = tx.AddPatient(p)
		w.Patient = p.ID
		return err
	})
	return p, err
}

// Patient opens one patient's record.
func (s *Session) Patient(ctx context.Context, id string) (store.Patient, error) {
	var p store.Patient
	err := s.Do(ctx, ActPatientRead, id, func(tx *store.Tx, w *Work) error {
		var err error
		p, err = tx.Patient(id)
		return err
	})
	return p, err
}

// SearchPatients finds patients as the front desk types. The audit entry
// records how many were shown, not the words typed (they are PHI).
func (s *Session) SearchPatients(ctx context.Context, query string, limit int) ([]store.Patient, error) {
	var ps []store.Patient
	err := s.Do(ctx, ActPatientSearch, "", func(tx *store.Tx, w *Work) error {
		var err error
		ps, err = tx.SearchPatients(query, limit)
		w.Detail = fmt.Sprintf("%d results", len(ps))
		return err
	})
	return ps, err
}
