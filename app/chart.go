package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"ward/store"
)

// The chart: encounters and notes, allergies, medications, problems. Only
// clinicians reach it (policy.go), and a restricted patient's chart only
// the clinicians named for it (session.go).

// MaxNoteLength bounds a note (a long discharge letter fits many times).
const MaxNoteLength = 100_000

// OpenEncounter starts an encounter (kind: visit, phone, …; "" = visit) of
// a patient with the signed-in clinician.
func (s *Session) OpenEncounter(ctx context.Context, patientID, kind string) (store.Encounter, error) {
	var e store.Encounter
	err := s.Do(ctx, ActEncounterWrite, patientID, func(tx *store.Tx, w *Work) error {
		if err := checkText("kind", kind, false, 40); err != nil {
			return err
		}
		if _, err := tx.LivePatient(patientID); err != nil {
			return err
		}
		var err error
		e, err = tx.OpenEncounter(patientID, s.user.ID, kind)
		w.Detail = "opened encounter " + e.ID
		return err
	})
	return e, err
}

// CloseEncounter closes an open encounter.
func (s *Session) CloseEncounter(ctx context.Context, encounterID string) (store.Encounter, error) {
	var e store.Encounter
	err := s.Do(ctx, ActEncounterWrite, "", func(tx *store.Tx, w *Work) error {
		pid, err := tx.RecordPatient("encounters", encounterID)
		if err != nil {
			return err
		}
		if err := s.onRecord(tx, w, ActEncounterWrite, pid); err != nil {
			return err
		}
		e, err = tx.CloseEncounter(encounterID)
		w.Detail = "closed encounter " + encounterID
		return err
	})
	return e, err
}

// NewNote is a clinician's new note.
type NewNote struct {
	PatientID   string
	EncounterID string // "" = open a new encounter (a visit) for it
	Text        string
}

// WriteNote saves a draft note by the signed-in clinician, in the given
// encounter or in a new one opened with it (one audit entry for both).
func (s *Session) WriteNote(ctx context.Context, n NewNote) (store.Note, error) {
	if n.EncounterID == "" {
		// Opening the encounter is part of the work: the person must be
		// allowed that too (today the same roles are).
		if err := s.authorize(ctx, ActEncounterWrite, n.PatientID); err != nil {
			return store.Note{}, err
		}
	}
	var note store.Note
	err := s.Do(ctx, ActNoteWrite, n.PatientID, func(tx *store.Tx, w *Work) error {
		if err := checkText("note", n.Text, true, MaxNoteLength); err != nil {
			return err
		}
		if _, err := tx.LivePatient(n.PatientID); err != nil {
			return err
		}
		where := "encounter " + n.EncounterID
		if n.EncounterID == "" {
			e, err := tx.OpenEncounter(n.PatientID, s.user.ID, "visit")
			if err != nil {
				return err
			}
			n.EncounterID, where = e.ID, "new encounter "+e.ID
		}
		var err error
		note, err = tx.WriteNote(store.Note{EncounterID: n.EncounterID, PatientID: n.PatientID, AuthorID: s.user.ID, Body: n.Text})
		if errors.Is(err, store.ErrWrongPatient) {
			return &ValidationError{"encounter", "that encounter is another patient's: choose one of this patient's encounters"}
		}
		w.Detail = fmt.Sprintf("draft note %s in %s", note.ID, where)
		return err
	})
	return note, err
}

// mayChangeDraft refuses work on a draft by anyone but its author (a note
// is signed by the person who wrote it), and any on a signed note.
func (s *Session) mayChangeDraft(n store.Note, act Action) error {
	if n.Status == store.NoteSigned {
		return store.ErrNoteSigned
	}
	if n.AuthorID != s.user.ID {
		return &DeniedError{Action: act, Roles: s.user.Roles,
			Reason: "only the author of a draft note can edit, sign or discard it"}
	}
	return nil
}

// EditDraft replaces the text of the signed-in clinician's draft note. A
// signed note is refused (store.ErrNoteSigned): amend it instead.
func (s *Session) EditDraft(ctx context.Context, noteID, text string) (store.Note, error) {
	var note store.Note
	err := s.Do(ctx, ActNoteWrite, "", func(tx *store.Tx, w *Work) error {
		pid, err := tx.RecordPatient("notes", noteID)
		if err != nil {
			return err
		}
		if err := s.onRecord(tx, w, ActNoteWrite, pid); err != nil {
			return err
		}
		if err := checkText("note", text, true, MaxNoteLength); err != nil {
			return err
		}
		cur, err := tx.Note(noteID)
		if err != nil {
			return err
		}
		if err := s.mayChangeDraft(cur, ActNoteWrite); err != nil {
			return err
		}
		note, err = tx.EditDraft(noteID, text)
		w.Detail = "edited draft note " + noteID
		return err
	})
	return note, err
}

// DiscardDraft throws away the signed-in clinician's draft (a tombstone;
// its history stays).
func (s *Session) DiscardDraft(ctx context.Context, noteID string) error {
	return s.Do(ctx, ActNoteWrite, "", func(tx *store.Tx, w *Work) error {
		pid, err := tx.RecordPatient("notes", noteID)
		if err != nil {
			return err
		}
		if err := s.onRecord(tx, w, ActNoteWrite, pid); err != nil {
			return err
		}
		cur, err := tx.Note(noteID)
		if err != nil {
			return err
		}
		if err := s.mayChangeDraft(cur, ActNoteWrite); err != nil {
			return err
		}
		_, err = tx.DiscardDraft(noteID)
		w.Detail = "discarded draft note " + noteID
		return err
	})
}

// SignNote signs the signed-in clinician's draft: from then on it cannot
// change, only be amended.
func (s *Session) SignNote(ctx context.Context, noteID string) (store.Note, error) {
	var note store.Note
	err := s.Do(ctx, ActNoteSign, "", func(tx *store.Tx, w *Work) error {
		pid, err := tx.RecordPatient("notes", noteID)
		if err != nil {
			return err
		}
		if err := s.onRecord(tx, w, ActNoteSign, pid); err != nil {
			return err
		}
		cur, err := tx.Note(noteID)
		if err != nil {
			return err
		}
		if err := s.mayChangeDraft(cur, ActNoteSign); err != nil {
			return err
		}
		note, err = tx.SignNote(noteID)
		w.Detail = "signed note " + noteID
		return err
	})
	return note, err
}

// AmendNote writes a draft amendment of a signed note: a new version,
// linked to the old one, signed in its turn with SignNote.
func (s *Session) AmendNote(ctx context.Context, noteID, text string) (store.Note, error) {
	var note store.Note
	err := s.Do(ctx, ActNoteAmend, "", func(tx *store.Tx, w *Work) error {
		pid, err := tx.RecordPatient("notes", noteID)
		if err != nil {
			return err
		}
		if err := s.onRecord(tx, w, ActNoteAmend, pid); err != nil {
			return err
		}
		if err := checkText("note", text, true, MaxNoteLength); err != nil {
			return err
		}
		note, err = tx.AmendNote(noteID, s.user.ID, text)
		w.Detail = fmt.Sprintf("draft amendment %s of note %s", note.ID, noteID)
		return err
	})
	return note, err
}

// NoteList is a patient's notes, each with its versions, and the names of
// their authors.
type NoteList struct {
	Threads []store.NoteThread
	Names   map[string]string // user id → display name
}

// Notes lists a patient's notes, each with its versions.
func (s *Session) Notes(ctx context.Context, patientID string) (NoteList, error) {
	var l NoteList
	err := s.Do(ctx, ActChartRead, patientID, func(tx *store.Tx, w *Work) error {
		if _, err := tx.LivePatient(patientID); err != nil {
			return err
		}
		var err error
		if l.Threads, err = tx.Notes(patientID); err != nil {
			return err
		}
		us, err := tx.Users()
		l.Names = displayNames(us)
		w.Detail = fmt.Sprintf("notes: %d", len(l.Threads))
		return err
	})
	return l, err
}

// displayNames maps user ids to the names notes and lists show.
func displayNames(us []store.User) map[string]string {
	m := make(map[string]string, len(us))
	for _, u := range us {
		m[u.ID] = u.DisplayName
	}
	return m
}

// HasAllergies tells whether a patient has an active allergy. It is the
// one piece of the chart the front desk sees: a flag, not the list.
func (s *Session) HasAllergies(ctx context.Context, patientID string) (bool, error) {
	var has bool
	err := s.Do(ctx, ActPatientRead, patientID, func(tx *store.Tx, w *Work) error {
		if _, err := tx.LivePatient(patientID); err != nil {
			return err
		}
		var err error
		has, err = tx.HasAllergies(patientID)
		w.Detail = "allergy flag"
		return err
	})
	return has, err
}

// NewAllergy is an allergy to record.
type NewAllergy struct {
	PatientID string
	Substance string
	Reaction  string
	Severity  string // mild, moderate, severe, or ""
}

// AllergySeverities are the severities an allergy can be recorded with.
var AllergySeverities = []string{"mild", "moderate", "severe"}

// AddAllergy records an active allergy.
func (s *Session) AddAllergy(ctx context.Context, n NewAllergy) (store.Allergy, error) {
	var a store.Allergy
	err := s.Do(ctx, ActAllergyWrite, n.PatientID, func(tx *store.Tx, w *Work) error {
		if err := checkText("substance", n.Substance, true, 200); err != nil {
			return err
		}
		if err := checkText("reaction", n.Reaction, false, 500); err != nil {
			return err
		}
		if n.Severity != "" && !oneOf(n.Severity, AllergySeverities) {
			return &ValidationError{"severity", "the severity is mild, moderate or severe"}
		}
		if _, err := tx.LivePatient(n.PatientID); err != nil {
			return err
		}
		var err error
		a, err = tx.AddAllergy(store.Allergy{PatientID: n.PatientID, Substance: n.Substance, Reaction: n.Reaction,
			Severity: n.Severity, RecordedBy: s.user.ID})
		w.Detail = "added allergy " + a.ID
		return err
	})
	return a, err
}

// SetAllergyStatus marks an allergy active, inactive or resolved.
func (s *Session) SetAllergyStatus(ctx context.Context, allergyID, status string) (store.Allergy, error) {
	var a store.Allergy
	err := s.Do(ctx, ActAllergyWrite, "", func(tx *store.Tx, w *Work) error {
		pid, err := tx.RecordPatient("allergies", allergyID)
		if err != nil {
			return err
		}
		if err := s.onRecord(tx, w, ActAllergyWrite, pid); err != nil {
			return err
		}
		if !store.ValidStatus("allergy", status) {
			return &ValidationError{"status", "an allergy is active, inactive or resolved"}
		}
		a, err = tx.SetAllergyStatus(allergyID, status)
		w.Detail = fmt.Sprintf("allergy %s: %s", allergyID, status)
		return err
	})
	return a, err
}

// Allergies lists a patient's active allergies, or all with all.
func (s *Session) Allergies(ctx context.Context, patientID string, all bool) ([]store.Allergy, error) {
	var out []store.Allergy
	err := s.Do(ctx, ActChartRead, patientID, func(tx *store.Tx, w *Work) error {
		if _, err := tx.LivePatient(patientID); err != nil {
			return err
		}
		var err error
		out, err = tx.Allergies(patientID, all)
		w.Detail = fmt.Sprintf("allergies: %d", len(out))
		return err
	})
	return out, err
}

// NewMedication is a medication to record.
type NewMedication struct {
	PatientID string
	Name      string
	Dose      string
	Route     string
	Frequency string
	StartedOn string // YYYY-MM-DD, optional
}

// AddMedication records an active medication.
func (s *Session) AddMedication(ctx context.Context, n NewMedication) (store.Medication, error) {
	var m store.Medication
	err := s.Do(ctx, ActMedicationWrite, n.PatientID, func(tx *store.Tx, w *Work) error {
		for _, f := range []struct {
			field, value string
			required     bool
			max          int
		}{{"medication", n.Name, true, 200}, {"dose", n.Dose, false, 100}, {"route", n.Route, false, 100},
			{"frequency", n.Frequency, false, 100}} {
			if err := checkText(f.field, f.value, f.required, f.max); err != nil {
				return err
			}
		}
		if err := checkDay("start date", n.StartedOn, s.clinic.now()); err != nil {
			return err
		}
		if _, err := tx.LivePatient(n.PatientID); err != nil {
			return err
		}
		var err error
		m, err = tx.AddMedication(store.Medication{PatientID: n.PatientID, Name: n.Name, Dose: n.Dose, Route: n.Route,
			Frequency: n.Frequency, StartedOn: n.StartedOn, RecordedBy: s.user.ID})
		w.Detail = "added medication " + m.ID
		return err
	})
	return m, err
}

// StopMedication marks a medication stopped on a day (YYYY-MM-DD; ""
// = today).
func (s *Session) StopMedication(ctx context.Context, medicationID, on string) (store.Medication, error) {
	var m store.Medication
	err := s.Do(ctx, ActMedicationWrite, "", func(tx *store.Tx, w *Work) error {
		pid, err := tx.RecordPatient("medications", medicationID)
		if err != nil {
			return err
		}
		if err := s.onRecord(tx, w, ActMedicationWrite, pid); err != nil {
			return err
		}
		if on == "" {
			on = day(s.clinic.now())
		}
		if err := checkDay("stop date", on, s.clinic.now()); err != nil {
			return err
		}
		cur, err := tx.Medication(medicationID)
		if err != nil {
			return err
		}
		if cur.StartedOn != "" && on < cur.StartedOn {
			return &ValidationError{"stop date", "the stop date is before the day the medication was started"}
		}
		m, err = tx.StopMedication(medicationID, on)
		w.Detail = fmt.Sprintf("medication %s: stopped", medicationID)
		return err
	})
	return m, err
}

// Medications lists a patient's active medications, or all with all.
func (s *Session) Medications(ctx context.Context, patientID string, all bool) ([]store.Medication, error) {
	var out []store.Medication
	err := s.Do(ctx, ActChartRead, patientID, func(tx *store.Tx, w *Work) error {
		if _, err := tx.LivePatient(patientID); err != nil {
			return err
		}
		var err error
		out, err = tx.Medications(patientID, all)
		w.Detail = fmt.Sprintf("medications: %d", len(out))
		return err
	})
	return out, err
}

// NewProblem is a problem-list entry to record.
type NewProblem struct {
	PatientID   string
	Description string
	Code        string // ICD-10 or SNOMED CT, optional
	Onset       string // YYYY, YYYY-MM or YYYY-MM-DD, optional
}

// AddProblem records an active problem.
func (s *Session) AddProblem(ctx context.Context, n NewProblem) (store.Problem, error) {
	var p store.Problem
	err := s.Do(ctx, ActProblemWrite, n.PatientID, func(tx *store.Tx, w *Work) error {
		if err := checkText("problem", n.Description, true, 500); err != nil {
			return err
		}
		if err := checkText("code", n.Code, false, 32); err != nil {
			return err
		}
		if err := checkOnset(n.Onset, s.clinic.now()); err != nil {
			return err
		}
		if _, err := tx.LivePatient(n.PatientID); err != nil {
			return err
		}
		var err error
		p, err = tx.AddProblem(store.Problem{PatientID: n.PatientID, Description: n.Description, Code: n.Code,
			Onset: n.Onset, RecordedBy: s.user.ID})
		w.Detail = "added problem " + p.ID
		return err
	})
	return p, err
}

// checkOnset accepts a year, a month or a day: patients often remember
// no more than that.
func checkOnset(onset string, today time.Time) error {
	switch len(onset) {
	case 0:
		return nil
	case 4:
		onset += "-01-01"
	case 7:
		onset += "-01"
	}
	if err := checkDay("onset", onset, today); err != nil {
		return &ValidationError{"onset", "write the onset as YYYY, YYYY-MM or YYYY-MM-DD, not in the future"}
	}
	return nil
}

// ResolveProblem marks a problem resolved on a day (YYYY-MM-DD; "" = today).
func (s *Session) ResolveProblem(ctx context.Context, problemID, on string) (store.Problem, error) {
	return s.setProblemStatus(ctx, problemID, store.ProblemResolved, on)
}

// SetProblemStatus marks a problem active (again), inactive or resolved;
// on is the day it stopped being active ("" = today).
func (s *Session) SetProblemStatus(ctx context.Context, problemID, status, on string) (store.Problem, error) {
	return s.setProblemStatus(ctx, problemID, status, on)
}

// setProblemStatus is SetProblemStatus under a name of its own (the door's
// guard knows store methods by name, and the store has a SetProblemStatus).
func (s *Session) setProblemStatus(ctx context.Context, problemID, status, on string) (store.Problem, error) {
	var p store.Problem
	err := s.Do(ctx, ActProblemWrite, "", func(tx *store.Tx, w *Work) error {
		pid, err := tx.RecordPatient("problems", problemID)
		if err != nil {
			return err
		}
		if err := s.onRecord(tx, w, ActProblemWrite, pid); err != nil {
			return err
		}
		if !store.ValidStatus("problem", status) {
			return &ValidationError{"status", "a problem is active, inactive or resolved"}
		}
		if on == "" {
			on = day(s.clinic.now())
		}
		if err := checkDay("resolved date", on, s.clinic.now()); err != nil {
			return err
		}
		p, err = tx.SetProblemStatus(problemID, status, on)
		w.Detail = fmt.Sprintf("problem %s: %s", problemID, status)
		return err
	})
	return p, err
}

// Problems lists a patient's active problems, or all with all.
func (s *Session) Problems(ctx context.Context, patientID string, all bool) ([]store.Problem, error) {
	var out []store.Problem
	err := s.Do(ctx, ActChartRead, patientID, func(tx *store.Tx, w *Work) error {
		if _, err := tx.LivePatient(patientID); err != nil {
			return err
		}
		var err error
		out, err = tx.Problems(patientID, all)
		w.Detail = fmt.Sprintf("problems: %d", len(out))
		return err
	})
	return out, err
}

// Chart is a patient's whole chart, as one read.
type Chart struct {
	Patient     store.Patient
	Allergies   []store.Allergy    // all; active first
	Medications []store.Medication // all; active first
	Problems    []store.Problem    // all; active first
	Encounters  []ChartEncounter   // newest first
	Unfiled     []store.NoteThread // notes whose encounter is gone (should stay empty)
	Names       map[string]string  // user id → display name, for authors and recorders
}

// ChartEncounter is an encounter with its notes.
type ChartEncounter struct {
	store.Encounter
	Notes []store.NoteThread
}

// HasAllergies tells whether the chart lists an active allergy.
func (c Chart) HasAllergies() bool {
	for _, a := range c.Allergies {
		if a.Status == store.AllergyActive {
			return true
		}
	}
	return false
}

// Chart opens a patient's whole chart — demographics, allergies,
// medications, problems, encounters with their notes and versions — in one
// transaction with one audit entry (chart.read).
func (s *Session) Chart(ctx context.Context, patientID string) (Chart, error) {
	var c Chart
	err := s.Do(ctx, ActChartRead, patientID, func(tx *store.Tx, w *Work) error {
		var err error
		if c.Patient, err = tx.LivePatient(patientID); err != nil {
			return err
		}
		if c.Allergies, err = tx.Allergies(patientID, true); err != nil {
			return err
		}
		if c.Medications, err = tx.Medications(patientID, true); err != nil {
			return err
		}
		if c.Problems, err = tx.Problems(patientID, true); err != nil {
			return err
		}
		es, err := tx.Encounters(patientID)
		if err != nil {
			return err
		}
		threads, err := tx.Notes(patientID)
		if err != nil {
			return err
		}
		at := make(map[string]int, len(es))
		for i, e := range es {
			at[e.ID] = i
			c.Encounters = append(c.Encounters, ChartEncounter{Encounter: e})
		}
		notes := 0
		for _, t := range threads {
			notes += len(t.Versions)
			if i, ok := at[t.Original().EncounterID]; ok {
				c.Encounters[i].Notes = append(c.Encounters[i].Notes, t)
			} else {
				c.Unfiled = append(c.Unfiled, t)
			}
		}
		us, err := tx.Users()
		if err != nil {
			return err
		}
		c.Names = displayNames(us)
		w.Detail = fmt.Sprintf("chart: %d allergies, %d medications, %d problems, %d encounters, %d note versions",
			len(c.Allergies), len(c.Medications), len(c.Problems), len(es), notes)
		return nil
	})
	return c, err
}

func oneOf(s string, set []string) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}
