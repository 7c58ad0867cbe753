package store

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Clinic records beyond demographics: appointments (appointments.go), the
// chart — encounters, notes, allergies, medications, problems (chart.go) —
// and every row's history from the change log (history.go).
//
// Every write stamps the row with this node and a fresh HLC and appends the
// row as it is after the write to the change log, so the replica carries it.
// Nothing is removed: a removal is a tombstone (deleted = 1) logged as
// "delete". Reads skip tombstones.

// Statuses of the records. They are stored as written here.
const (
	AppointmentBooked    = "booked"
	AppointmentCheckedIn = "checked_in"
	AppointmentNoShow    = "no_show"
	AppointmentCancelled = "cancelled"
	AppointmentDone      = "done"

	EncounterOpen   = "open"
	EncounterClosed = "closed"

	NoteDraft  = "draft"
	NoteSigned = "signed"

	AllergyActive   = "active"
	AllergyInactive = "inactive"
	AllergyResolved = "resolved"

	MedicationActive  = "active"
	MedicationStopped = "stopped"

	ProblemActive   = "active"
	ProblemInactive = "inactive"
	ProblemResolved = "resolved"
)

// ErrNoteSigned is returned for any change to a signed note. The database
// refuses it too (migration 003), so no other program can change one.
var ErrNoteSigned = errors.New("this note is signed and cannot be changed: write an amendment instead")

// ErrWrongPatient is returned when two records that must belong to the same
// patient do not (a note for one patient in another's encounter).
var ErrWrongPatient = errors.New("that record belongs to another patient")

// StatusError is a status change the record's current status does not allow
// (checking in a cancelled appointment, stopping a stopped medication).
type StatusError struct {
	Record string // "appointment", "note", "allergy", "medication", "problem", "encounter"
	From   string
	To     string
	Allows []string // the statuses it may move to from From
}

func (e *StatusError) Error() string {
	if e.From == e.To {
		return fmt.Sprintf("this %s is already %s", e.Record, statusWords(e.To))
	}
	msg := fmt.Sprintf("this %s is %s, so it cannot be %s", e.Record, statusWords(e.From), statusVerb(e.To))
	switch {
	case len(e.Allows) == 0:
		return msg + ": it can no longer change"
	default:
		words := make([]string, len(e.Allows))
		for i, s := range e.Allows {
			words[i] = statusVerb(s)
		}
		return msg + "; it can only be " + strings.Join(words, " or ")
	}
}

// statusWords says a status the way the front desk says it.
func statusWords(s string) string {
	switch s {
	case AppointmentCheckedIn:
		return "checked in"
	case AppointmentNoShow:
		return "marked as a no-show"
	}
	return s
}

// statusVerb says what moving to a status is called.
func statusVerb(s string) string {
	switch s {
	case AppointmentCheckedIn:
		return "checked in"
	case AppointmentNoShow:
		return "marked as a no-show"
	case AppointmentDone:
		return "marked done"
	case "active":
		return "made active again"
	case "inactive":
		return "marked inactive"
	}
	return s
}

// transitions lists, per record and status, the statuses it may move to.
// They encode the clinic's workflow for local edits only: the replica takes
// a peer's row as it is (last writer wins), whatever path led there.
var transitions = map[string]map[string][]string{
	"appointment": {
		AppointmentBooked:    {AppointmentCheckedIn, AppointmentNoShow, AppointmentCancelled},
		AppointmentCheckedIn: {AppointmentDone},
	},
	"encounter": {
		EncounterOpen: {EncounterClosed},
	},
	"allergy": {
		AllergyActive:   {AllergyInactive, AllergyResolved},
		AllergyInactive: {AllergyActive, AllergyResolved},
		AllergyResolved: {AllergyActive},
	},
	"medication": {
		// A stopped medication is not restarted: it is prescribed again,
		// as a new row, so both courses stay in the chart.
		MedicationActive: {MedicationStopped},
	},
	"problem": {
		ProblemActive:   {ProblemInactive, ProblemResolved},
		ProblemInactive: {ProblemActive, ProblemResolved},
		ProblemResolved: {ProblemActive}, // a recurrence
	},
}

// checkTransition refuses a status change the workflow does not allow.
func checkTransition(record, from, to string) error {
	for _, ok := range transitions[record][from] {
		if ok == to {
			return nil
		}
	}
	return &StatusError{Record: record, From: from, To: to, Allows: transitions[record][from]}
}

// ValidStatus tells whether status is one a record of this kind can have.
func ValidStatus(record, status string) bool {
	if _, ok := transitions[record][status]; ok {
		return true
	}
	for _, tos := range transitions[record] {
		for _, s := range tos {
			if s == status {
				return true
			}
		}
	}
	return false
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// queryList runs q and scans every row with scan.
func queryList[T any](tx *Tx, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queryOne runs q and scans its one row; no row is ErrNotFound.
func queryOne[T any](tx *Tx, scan func(scanner) (T, error), q string, args ...any) (T, error) {
	v, err := scan(tx.tx.QueryRowContext(tx.ctx, q, args...))
	return v, notFound(err)
}

// execOne runs one statement that must change exactly one row.
func (tx *Tx) execOne(q string, args ...any) error {
	res, err := tx.tx.ExecContext(tx.ctx, q, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return ErrNotFound
	}
	return nil
}

// logged reads back the row just written and appends it to the change log,
// so the log holds exactly what the table holds; a tombstone is logged as
// "delete".
func logged[T any](tx *Tx, table, id string, hlc uint64, read func(id string) (T, bool, error)) (T, error) {
	v, deleted, err := read(id)
	if err != nil {
		return v, err
	}
	op := "upsert"
	if deleted {
		op = "delete"
	}
	return v, tx.logChange(table, id, op, hlc, v)
}

// unixOrZero turns stored unix seconds into a time; 0 or NULL is the zero time.
func unixOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// patientExists checks that a live patient has id; a merged-away one is
// a *MergedError naming the record it lives on in.
func (tx *Tx) patientExists(id string) error {
	var n int
	if err := tx.tx.QueryRowContext(tx.ctx, "SELECT count(*) FROM patients WHERE id = ? AND deleted = 0", id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return tx.patientGone(id)
	}
	return nil
}

// patientGone says why there is no live patient with id: merged, or never was.
func (tx *Tx) patientGone(id string) error {
	if into, err := tx.PatientMergedInto(id); err == nil && into != "" {
		return &MergedError{ID: id, Into: into}
	}
	return &NotFoundError{Record: "patient", ID: id}
}

// MergedError is returned for a patient record that was merged into
// another: the old id leads to the one to use.
type MergedError struct{ ID, Into string }

func (e *MergedError) Error() string {
	return fmt.Sprintf("this patient record (%s) was merged into %s: use that one", e.ID, e.Into)
}

func (e *MergedError) Unwrap() error { return ErrNotFound }

// NotFoundError says which record could not be found (wraps ErrNotFound).
type NotFoundError struct{ Record, ID string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("there is no %s with id %q", e.Record, e.ID)
}

func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// missing names the record behind a bare ErrNotFound.
func missing(err error, record, id string) error {
	if err == ErrNotFound {
		return &NotFoundError{Record: record, ID: id}
	}
	return err
}
