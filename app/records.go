package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"ward/store"
)

// Record services: appointments (appointments.go), the chart (chart.go),
// patient edit and merge (patients.go), and history (here). Each one is a
// single trip through the door — Session.Do — so each writes exactly one
// audit entry, and its detail holds ids, counts and statuses, never what a
// note says or which drug a patient takes.

// onRecord is the start of work on a record known by its own id (a note,
// an allergy, an appointment) rather than by its patient, which Do could
// not know before the transaction: the patient the record belongs to is
// named in the audit entry and held to the same restricted-chart rule as
// work that names its patient up front.
func (s *Session) onRecord(tx *store.Tx, w *Work, act Action, patientID string) error {
	w.Patient = patientID
	if denied := s.restricted(tx, w, act, patientID, false); denied != nil {
		return denied
	}
	return nil
}

// historyKinds: what a person asks the history of, its table, and the
// permission reading it needs (the same as reading the record itself).
var historyKinds = map[string]struct {
	table string
	act   Action
}{
	"patient":     {"patients", ActPatientRead},
	"appointment": {"appointments", ActAppointmentRead},
	"encounter":   {"encounters", ActChartRead},
	"note":        {"notes", ActChartRead},
	"allergy":     {"allergies", ActChartRead},
	"medication":  {"medications", ActChartRead},
	"problem":     {"problems", ActChartRead},
}

// HistoryKinds lists the kinds History knows, for help texts.
func HistoryKinds() []string {
	return []string{"patient", "appointment", "encounter", "note", "allergy", "medication", "problem"}
}

// History returns every version of one record (kind: patient, appointment,
// encounter, note, allergy, medication, problem), oldest first, each with
// when and on which workstation it was written.
func (s *Session) History(ctx context.Context, kind, id string) ([]store.Version, error) {
	k, ok := historyKinds[kind]
	if !ok {
		return nil, &ValidationError{"kind", "history is kept for " + strings.Join(HistoryKinds(), ", ")}
	}
	var vs []store.Version
	err := s.Do(ctx, k.act, "", func(tx *store.Tx, w *Work) error {
		pid, err := tx.RecordPatient(k.table, id)
		if err != nil {
			return err
		}
		if err := s.onRecord(tx, w, k.act, pid); err != nil {
			return err
		}
		vs, err = tx.History(k.table, id)
		w.Detail = fmt.Sprintf("history of %s %s: %d versions", kind, id, len(vs))
		return err
	})
	return vs, err
}

// checkText checks a free-text field: required or not, and its length.
func checkText(field, value string, required bool, max int) error {
	if required && strings.TrimSpace(value) == "" {
		return &ValidationError{field, "the " + field + " is required"}
	}
	if len(value) > max {
		return &ValidationError{field, fmt.Sprintf("the %s can have at most %d characters", field, max)}
	}
	return nil
}

// checkDay checks an optional calendar day (YYYY-MM-DD) that cannot be in
// the future.
func checkDay(field, value string, today time.Time) error {
	if value == "" {
		return nil
	}
	if _, err := time.Parse("2006-01-02", value); err != nil {
		return &ValidationError{field, "write the " + field + " as YYYY-MM-DD, for example 2026-03-17"}
	}
	if value > day(today) { // days in this form sort as text; no time zone to get wrong
		return &ValidationError{field, "the " + field + " is in the future"}
	}
	return nil
}

// day formats t as a calendar day.
func day(t time.Time) string { return t.Format("2006-01-02") }
