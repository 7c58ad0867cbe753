package app

import (
	"context"
	"errors"
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

// PatientChange is an edit of a patient's demographics: only the fields
// that are set change.
type PatientChange struct {
	Name, BirthDate, MRN, Phone, Sex, Address *string
}

// UpdatePatient edits a patient's demographics. The result is checked as a
// registration is; the audit entry names the fields that changed, not
// their values. Search finds the patient by the new name, no longer by the
// old one.
func (s *Session) UpdatePatient(ctx context.Context, id string, ch PatientChange) (store.Patient, error) {
	var p store.Patient
	err := s.Do(ctx, ActPatientUpdate, id, func(tx *store.Tx, w *Work) error {
		old, err := tx.LivePatient(id)
		if err != nil {
			return err
		}
		n := NewPatient{Name: old.Name, BirthDate: old.BirthDate, MRN: old.MRN, Phone: old.Phone, Sex: old.Sex, Address: old.Address}
		for _, f := range []struct {
			to   *string
			from *string
		}{{&n.Name, ch.Name}, {&n.BirthDate, ch.BirthDate}, {&n.MRN, ch.MRN}, {&n.Phone, ch.Phone}, {&n.Sex, ch.Sex}, {&n.Address, ch.Address}} {
			if f.from != nil {
				*f.to = *f.from
			}
		}
		if ch.MRN != nil && strings.TrimSpace(*ch.MRN) == "" {
			return &ValidationError{"MRN", "a patient keeps a medical record number: give the new one, or leave it as it is"}
		}
		p, err = ValidatePatient(n, s.clinic.now())
		if err != nil {
			return err
		}
		p.ID = id
		var changed []string
		for _, f := range []struct{ name, old, new string }{{"name", old.Name, p.Name}, {"birth date", old.BirthDate, p.BirthDate},
			{"MRN", old.MRN, p.MRN}, {"phone", old.Phone, p.Phone}, {"sex", old.Sex, p.Sex}, {"address", old.Address, p.Address}} {
			if f.old != f.new {
				changed = append(changed, f.name)
			}
		}
		if len(changed) == 0 {
			p, w.Detail = old, "no change"
			return nil
		}
		w.Detail = "changed " + strings.Join(changed, ", ")
		p, err = tx.UpdatePatient(p)
		if errors.Is(err, store.ErrMRNTaken) {
			return &ValidationError{"MRN", "that medical record number is already used by another patient"}
		}
		return err
	})
	return p, err
}

// MergePatients folds a duplicate registration into the record to keep:
// the duplicate's appointments, encounters, notes, allergies, medications
// and problems move to keep, and the duplicate is retired (its id then
// leads to keep). The audit entry is on keep and names both ids and what
// moved.
func (s *Session) MergePatients(ctx context.Context, keep, duplicate string) (store.MergeResult, error) {
	var res store.MergeResult
	err := s.Do(ctx, ActPatientMerge, keep, func(tx *store.Tx, w *Work) error {
		if keep == duplicate {
			return &ValidationError{"duplicate", "a patient cannot be merged with itself: choose two different records"}
		}
		if _, err := tx.LivePatient(keep); err != nil {
			return err
		}
		if _, err := tx.LivePatient(duplicate); err != nil {
			return err
		}
		var err error
		res, err = tx.MergePatients(keep, duplicate)
		w.Detail = fmt.Sprintf("merged duplicate %s into %s: moved %d appointments, %d encounters, %d notes, %d allergies, %d medications, %d problems",
			duplicate, keep, res.Moved["appointments"], res.Moved["encounters"], res.Moved["notes"], res.Moved["allergies"],
			res.Moved["medications"], res.Moved["problems"])
		return err
	})
	return res, err
}
