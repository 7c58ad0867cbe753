package store

import (
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"
)

// The chart: encounters with their notes, allergies, medications, problems.

// Encounter is one contact of a patient with a clinician (a visit, a call);
// notes are written in it.
type Encounter struct {
	ID          string
	PatientID   string
	ClinicianID string
	StartedAt   time.Time
	Kind        string // visit, phone, …
	Status      string // EncounterOpen, EncounterClosed
	Deleted     bool
}

const encounterColumns = "id, patient_id, clinician_id, started_at, kind, status, deleted"

func scanEncounter(row scanner) (Encounter, error) {
	var e Encounter
	var started int64
	err := row.Scan(&e.ID, &e.PatientID, &e.ClinicianID, &started, &e.Kind, &e.Status, &e.Deleted)
	e.StartedAt = time.Unix(started, 0)
	return e, err
}

func (tx *Tx) encounterRow(id string) (Encounter, bool, error) {
	e, err := queryOne(tx, scanEncounter, "SELECT "+encounterColumns+" FROM encounters WHERE id = ?", id)
	return e, e.Deleted, missing(err, "encounter", id)
}

// Encounter returns one encounter by id.
func (tx *Tx) Encounter(id string) (Encounter, error) {
	e, deleted, err := tx.encounterRow(id)
	if err == nil && deleted {
		err = &NotFoundError{"encounter", id}
	}
	return e, err
}

// OpenEncounter starts an encounter of a patient with a clinician, now.
func (tx *Tx) OpenEncounter(patientID, clinicianID, kind string) (Encounter, error) {
	if err := tx.patientExists(patientID); err != nil {
		return Encounter{}, missing(err, "patient", patientID)
	}
	if kind == "" {
		kind = "visit"
	}
	e := Encounter{ID: NewID(), PatientID: patientID, ClinicianID: clinicianID, StartedAt: tx.now.Truncate(time.Second),
		Kind: kind, Status: EncounterOpen}
	origin, hlc := tx.stamp()
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO encounters(`+encounterColumns+`, origin, hlc)
		VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)`,
		e.ID, e.PatientID, e.ClinicianID, e.StartedAt.Unix(), e.Kind, e.Status, origin, int64(hlc))
	if err != nil {
		return Encounter{}, err
	}
	return logged(tx, "encounters", e.ID, hlc, tx.encounterRow)
}

// CloseEncounter closes an open encounter.
func (tx *Tx) CloseEncounter(id string) (Encounter, error) {
	e, err := tx.Encounter(id)
	if err != nil {
		return e, err
	}
	if err := checkTransition("encounter", e.Status, EncounterClosed); err != nil {
		return e, err
	}
	origin, hlc := tx.stamp()
	if err := tx.execOne("UPDATE encounters SET status = ?, origin = ?, hlc = ? WHERE id = ?",
		EncounterClosed, origin, int64(hlc), id); err != nil {
		return Encounter{}, err
	}
	return logged(tx, "encounters", id, hlc, tx.encounterRow)
}

// Encounters lists a patient's encounters, newest first.
func (tx *Tx) Encounters(patientID string) ([]Encounter, error) {
	return queryList(tx, scanEncounter, "SELECT "+encounterColumns+
		" FROM encounters WHERE patient_id = ? AND deleted = 0 ORDER BY started_at DESC, id DESC", patientID)
}

// Note is a clinician's note in an encounter: a draft until signed, then
// immutable. An amendment is a new note whose AmendsID is the note it
// replaces; the chain of them is the note's version history.
type Note struct {
	ID          string
	EncounterID string
	PatientID   string
	AuthorID    string
	AmendsID    string // "" for an original note
	Body        string
	Status      string // NoteDraft, NoteSigned
	CreatedAt   time.Time
	SignedAt    time.Time // zero while a draft
	Deleted     bool
}

const noteColumns = "id, encounter_id, patient_id, author_id, amends_id, body, status, created_at, signed_at, deleted"

func scanNote(row scanner) (Note, error) {
	var n Note
	var amends sql.NullString
	var created int64
	var signed sql.NullInt64
	err := row.Scan(&n.ID, &n.EncounterID, &n.PatientID, &n.AuthorID, &amends, &n.Body, &n.Status, &created, &signed, &n.Deleted)
	n.AmendsID, n.CreatedAt, n.SignedAt = amends.String, time.Unix(created, 0), unixOrZero(signed.Int64)
	return n, err
}

func (tx *Tx) noteRow(id string) (Note, bool, error) {
	n, err := queryOne(tx, scanNote, "SELECT "+noteColumns+" FROM notes WHERE id = ?", id)
	return n, n.Deleted, missing(err, "note", id)
}

// Note returns one note by id.
func (tx *Tx) Note(id string) (Note, error) {
	n, deleted, err := tx.noteRow(id)
	if err == nil && deleted {
		err = &NotFoundError{"note", id}
	}
	return n, err
}

// WriteNote saves a new draft note (an original or, with AmendsID set by
// AmendNote, an amendment) in an encounter of the same patient.
func (tx *Tx) WriteNote(n Note) (Note, error) {
	e, err := tx.Encounter(n.EncounterID)
	if err != nil {
		return Note{}, err
	}
	if e.PatientID != n.PatientID {
		return Note{}, ErrWrongPatient
	}
	n.ID = NewID()
	n.Status = NoteDraft
	n.CreatedAt = tx.now.Truncate(time.Second)
	n.SignedAt = time.Time{}
	var amends any
	if n.AmendsID != "" {
		amends = n.AmendsID
	}
	origin, hlc := tx.stamp()
	_, err = tx.tx.ExecContext(tx.ctx, `INSERT INTO notes(`+noteColumns+`, origin, hlc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, ?, ?)`,
		n.ID, n.EncounterID, n.PatientID, n.AuthorID, amends, n.Body, n.Status, n.CreatedAt.Unix(), origin, int64(hlc))
	if err != nil {
		return Note{}, err
	}
	return logged(tx, "notes", n.ID, hlc, tx.noteRow)
}

// draft returns a note that may still change: a draft.
func (tx *Tx) draft(id string) (Note, error) {
	n, err := tx.Note(id)
	if err != nil {
		return n, err
	}
	if n.Status != NoteDraft {
		return n, ErrNoteSigned
	}
	return n, nil
}

// EditDraft replaces the text of a draft note. A signed note is refused
// with ErrNoteSigned (and by the database, should anything try anyway).
func (tx *Tx) EditDraft(id, body string) (Note, error) {
	if _, err := tx.draft(id); err != nil {
		return Note{}, err
	}
	origin, hlc := tx.stamp()
	if err := tx.execOne("UPDATE notes SET body = ?, origin = ?, hlc = ? WHERE id = ? AND status = 'draft'",
		body, origin, int64(hlc), id); err != nil {
		return Note{}, err
	}
	return logged(tx, "notes", id, hlc, tx.noteRow)
}

// SignNote signs a draft: from now on it is part of the legal record and
// never changes.
func (tx *Tx) SignNote(id string) (Note, error) {
	if _, err := tx.draft(id); err != nil {
		return Note{}, err
	}
	origin, hlc := tx.stamp()
	if err := tx.execOne("UPDATE notes SET status = 'signed', signed_at = ?, origin = ?, hlc = ? WHERE id = ? AND status = 'draft'",
		tx.now.Unix(), origin, int64(hlc), id); err != nil {
		return Note{}, err
	}
	return logged(tx, "notes", id, hlc, tx.noteRow)
}

// DiscardDraft tombstones a draft nobody will sign. Signed notes stay.
func (tx *Tx) DiscardDraft(id string) (Note, error) {
	if _, err := tx.draft(id); err != nil {
		return Note{}, err
	}
	origin, hlc := tx.stamp()
	if err := tx.execOne("UPDATE notes SET deleted = 1, origin = ?, hlc = ? WHERE id = ? AND status = 'draft'",
		origin, int64(hlc), id); err != nil {
		return Note{}, err
	}
	return logged(tx, "notes", id, hlc, tx.noteRow)
}

// AmendmentError explains why a note cannot be amended (yet).
type AmendmentError struct {
	Reason string
}

func (e *AmendmentError) Error() string { return e.Reason }

// AmendNote writes a draft amendment of a signed note, by author, in the
// same encounter. Only the newest version of a note is amended, and only one
// amendment is in draft at a time, so the versions form one chain. (Two
// workstations amending the same version offline make two; both are kept
// and listed, as both were written.)
func (tx *Tx) AmendNote(id, authorID, body string) (Note, error) {
	old, err := tx.Note(id)
	if err != nil {
		return Note{}, err
	}
	if old.Status != NoteSigned {
		return Note{}, &AmendmentError{"this note is still a draft: edit it instead of amending it"}
	}
	var next string
	var nextStatus string
	err = tx.tx.QueryRowContext(tx.ctx, "SELECT id, status FROM notes WHERE amends_id = ? AND deleted = 0 ORDER BY created_at DESC, id DESC LIMIT 1",
		id).Scan(&next, &nextStatus)
	switch {
	case err == nil && nextStatus == NoteDraft:
		return Note{}, &AmendmentError{fmt.Sprintf("an amendment of this note is already in draft (note %s): edit or sign that one", next)}
	case err == nil:
		return Note{}, &AmendmentError{fmt.Sprintf("this note has already been amended: amend its newest version (note %s)", next)}
	case !errors.Is(err, sql.ErrNoRows):
		return Note{}, err
	}
	return tx.WriteNote(Note{EncounterID: old.EncounterID, PatientID: old.PatientID, AuthorID: authorID, AmendsID: old.ID, Body: body})
}

// NoteThread is a note and its amendments: Versions[0] is the original,
// the last is the newest. Current is the version that stands: the newest
// signed one (or the draft, while nothing is signed yet).
type NoteThread struct {
	Versions []Note
}

// Original is the first version.
func (t NoteThread) Original() Note { return t.Versions[0] }

// Newest is the last version written (possibly a draft amendment).
func (t NoteThread) Newest() Note { return t.Versions[len(t.Versions)-1] }

// Current is the version that stands: the newest signed one, else the draft.
func (t NoteThread) Current() Note {
	for i := len(t.Versions) - 1; i >= 0; i-- {
		if t.Versions[i].Status == NoteSigned {
			return t.Versions[i]
		}
	}
	return t.Versions[len(t.Versions)-1]
}

// Notes lists a patient's notes as threads of versions, oldest thread first.
func (tx *Tx) Notes(patientID string) ([]NoteThread, error) {
	ns, err := queryList(tx, scanNote, "SELECT "+noteColumns+
		" FROM notes WHERE patient_id = ? AND deleted = 0 ORDER BY created_at, id", patientID)
	if err != nil {
		return nil, err
	}
	return noteThreads(ns), nil
}

// NoteVersions returns the thread a note belongs to.
func (tx *Tx) NoteVersions(id string) (NoteThread, error) {
	n, err := tx.Note(id)
	if err != nil {
		return NoteThread{}, err
	}
	threads, err := tx.Notes(n.PatientID)
	if err != nil {
		return NoteThread{}, err
	}
	for _, t := range threads {
		for _, v := range t.Versions {
			if v.ID == id {
				return t, nil
			}
		}
	}
	return NoteThread{}, &NotFoundError{"note", id}
}

// noteThreads groups notes by the original each descends from through
// amends_id, each thread in version order (how many amendments from the
// original, then time written). ns comes in creation order, so the threads
// do too.
func noteThreads(ns []Note) []NoteThread {
	byID := make(map[string]Note, len(ns))
	for _, n := range ns {
		byID[n.ID] = n
	}
	type place struct {
		root  string
		depth int
	}
	placeOf := func(n Note) place {
		depth := 0
		for n.AmendsID != "" && depth < len(ns) { // bounded: a cycle cannot hang us
			up, ok := byID[n.AmendsID]
			if !ok {
				break // amends a discarded note: the thread starts here
			}
			n, depth = up, depth+1
		}
		return place{n.ID, depth}
	}
	places := make(map[string]place, len(ns))
	idx := map[string]int{}
	var threads []NoteThread
	for _, n := range ns {
		pl := placeOf(n)
		places[n.ID] = pl
		i, ok := idx[pl.root]
		if !ok {
			i = len(threads)
			idx[pl.root] = i
			threads = append(threads, NoteThread{})
		}
		threads[i].Versions = append(threads[i].Versions, n)
	}
	for _, t := range threads {
		vs := t.Versions
		sort.SliceStable(vs, func(a, b int) bool {
			da, db := places[vs[a].ID].depth, places[vs[b].ID].depth
			if da != db {
				return da < db
			}
			if !vs[a].CreatedAt.Equal(vs[b].CreatedAt) {
				return vs[a].CreatedAt.Before(vs[b].CreatedAt)
			}
			return vs[a].ID < vs[b].ID
		})
	}
	return threads
}

// Allergy is a substance the patient reacts to.
type Allergy struct {
	ID         string
	PatientID  string
	Substance  string
	Reaction   string
	Severity   string // mild, moderate, severe, or ""
	Status     string // AllergyActive, …Inactive, …Resolved
	RecordedBy string
	RecordedAt time.Time
	Deleted    bool
}

const allergyColumns = "id, patient_id, substance, reaction, severity, status, recorded_by, recorded_at, deleted"

func scanAllergy(row scanner) (Allergy, error) {
	var a Allergy
	var at int64
	err := row.Scan(&a.ID, &a.PatientID, &a.Substance, &a.Reaction, &a.Severity, &a.Status, &a.RecordedBy, &at, &a.Deleted)
	a.RecordedAt = time.Unix(at, 0)
	return a, err
}

func (tx *Tx) allergyRow(id string) (Allergy, bool, error) {
	a, err := queryOne(tx, scanAllergy, "SELECT "+allergyColumns+" FROM allergies WHERE id = ?", id)
	return a, a.Deleted, missing(err, "allergy", id)
}

// Allergy returns one allergy by id.
func (tx *Tx) Allergy(id string) (Allergy, error) {
	a, deleted, err := tx.allergyRow(id)
	if err == nil && deleted {
		err = &NotFoundError{"allergy", id}
	}
	return a, err
}

// AddAllergy records an active allergy.
func (tx *Tx) AddAllergy(a Allergy) (Allergy, error) {
	if err := tx.patientExists(a.PatientID); err != nil {
		return Allergy{}, missing(err, "patient", a.PatientID)
	}
	a.ID, a.Status, a.RecordedAt = NewID(), AllergyActive, tx.now.Truncate(time.Second)
	origin, hlc := tx.stamp()
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO allergies(`+allergyColumns+`, origin, hlc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
		a.ID, a.PatientID, a.Substance, a.Reaction, a.Severity, a.Status, a.RecordedBy, a.RecordedAt.Unix(), origin, int64(hlc))
	if err != nil {
		return Allergy{}, err
	}
	return logged(tx, "allergies", a.ID, hlc, tx.allergyRow)
}

// SetAllergyStatus marks an allergy inactive, resolved, or active again.
func (tx *Tx) SetAllergyStatus(id, status string) (Allergy, error) {
	a, err := tx.Allergy(id)
	if err != nil {
		return a, err
	}
	if err := checkTransition("allergy", a.Status, status); err != nil {
		return a, err
	}
	origin, hlc := tx.stamp()
	if err := tx.execOne("UPDATE allergies SET status = ?, origin = ?, hlc = ? WHERE id = ?", status, origin, int64(hlc), id); err != nil {
		return Allergy{}, err
	}
	return logged(tx, "allergies", id, hlc, tx.allergyRow)
}

// Allergies lists a patient's allergies: active ones only, or all with all.
func (tx *Tx) Allergies(patientID string, all bool) ([]Allergy, error) {
	return queryList(tx, scanAllergy, "SELECT "+allergyColumns+" FROM allergies WHERE patient_id = ? AND deleted = 0"+
		activeOnly(all)+" ORDER BY status <> 'active', recorded_at, id", patientID)
}

// HasAllergies tells whether a patient has an active allergy: the flag the
// front desk sees, without the list.
func (tx *Tx) HasAllergies(patientID string) (bool, error) {
	if err := tx.patientExists(patientID); err != nil {
		return false, missing(err, "patient", patientID)
	}
	var n int
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT count(*) FROM allergies WHERE patient_id = ? AND deleted = 0 AND status = 'active'",
		patientID).Scan(&n)
	return n > 0, err
}

func activeOnly(all bool) string {
	if all {
		return ""
	}
	return " AND status = 'active'"
}

// Medication is a drug the patient takes (or took: stopped).
type Medication struct {
	ID         string
	PatientID  string
	Name       string
	Dose       string
	Route      string
	Frequency  string
	Status     string // MedicationActive, MedicationStopped
	StartedOn  string // YYYY-MM-DD or ""
	StoppedOn  string // YYYY-MM-DD or ""
	RecordedBy string
	RecordedAt time.Time
	Deleted    bool
}

const medicationColumns = "id, patient_id, name, dose, route, frequency, status, started_on, stopped_on, recorded_by, recorded_at, deleted"

func scanMedication(row scanner) (Medication, error) {
	var m Medication
	var at int64
	err := row.Scan(&m.ID, &m.PatientID, &m.Name, &m.Dose, &m.Route, &m.Frequency, &m.Status, &m.StartedOn, &m.StoppedOn,
		&m.RecordedBy, &at, &m.Deleted)
	m.RecordedAt = time.Unix(at, 0)
	return m, err
}

func (tx *Tx) medicationRow(id string) (Medication, bool, error) {
	m, err := queryOne(tx, scanMedication, "SELECT "+medicationColumns+" FROM medications WHERE id = ?", id)
	return m, m.Deleted, missing(err, "medication", id)
}

// Medication returns one medication by id.
func (tx *Tx) Medication(id string) (Medication, error) {
	m, deleted, err := tx.medicationRow(id)
	if err == nil && deleted {
		err = &NotFoundError{"medication", id}
	}
	return m, err
}

// AddMedication records an active medication.
func (tx *Tx) AddMedication(m Medication) (Medication, error) {
	if err := tx.patientExists(m.PatientID); err != nil {
		return Medication{}, missing(err, "patient", m.PatientID)
	}
	m.ID, m.Status, m.StoppedOn, m.RecordedAt = NewID(), MedicationActive, "", tx.now.Truncate(time.Second)
	origin, hlc := tx.stamp()
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO medications(`+medicationColumns+`, origin, hlc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
		m.ID, m.PatientID, m.Name, m.Dose, m.Route, m.Frequency, m.Status, m.StartedOn, m.StoppedOn, m.RecordedBy,
		m.RecordedAt.Unix(), origin, int64(hlc))
	if err != nil {
		return Medication{}, err
	}
	return logged(tx, "medications", m.ID, hlc, tx.medicationRow)
}

// StopMedication marks an active medication stopped on a day (YYYY-MM-DD).
func (tx *Tx) StopMedication(id, on string) (Medication, error) {
	m, err := tx.Medication(id)
	if err != nil {
		return m, err
	}
	if err := checkTransition("medication", m.Status, MedicationStopped); err != nil {
		return m, err
	}
	origin, hlc := tx.stamp()
	if err := tx.execOne("UPDATE medications SET status = ?, stopped_on = ?, origin = ?, hlc = ? WHERE id = ?",
		MedicationStopped, on, origin, int64(hlc), id); err != nil {
		return Medication{}, err
	}
	return logged(tx, "medications", id, hlc, tx.medicationRow)
}

// Medications lists a patient's medications: active ones only, or all.
func (tx *Tx) Medications(patientID string, all bool) ([]Medication, error) {
	return queryList(tx, scanMedication, "SELECT "+medicationColumns+" FROM medications WHERE patient_id = ? AND deleted = 0"+
		activeOnly(all)+" ORDER BY status <> 'active', recorded_at, id", patientID)
}

// Problem is an entry of the patient's problem list (a diagnosis, a
// condition).
type Problem struct {
	ID          string
	PatientID   string
	Description string
	Code        string // ICD-10 or SNOMED CT, optional
	Status      string // ProblemActive, …Inactive, …Resolved
	Onset       string // YYYY-MM-DD, YYYY-MM, YYYY or ""
	ResolvedOn  string // YYYY-MM-DD or "" while active
	RecordedBy  string
	RecordedAt  time.Time
	Deleted     bool
}

const problemColumns = "id, patient_id, description, code, status, onset, resolved_on, recorded_by, recorded_at, deleted"

func scanProblem(row scanner) (Problem, error) {
	var p Problem
	var at int64
	err := row.Scan(&p.ID, &p.PatientID, &p.Description, &p.Code, &p.Status, &p.Onset, &p.ResolvedOn, &p.RecordedBy, &at, &p.Deleted)
	p.RecordedAt = time.Unix(at, 0)
	return p, err
}

func (tx *Tx) problemRow(id string) (Problem, bool, error) {
	p, err := queryOne(tx, scanProblem, "SELECT "+problemColumns+" FROM problems WHERE id = ?", id)
	return p, p.Deleted, missing(err, "problem", id)
}

// Problem returns one problem by id.
func (tx *Tx) Problem(id string) (Problem, error) {
	p, deleted, err := tx.problemRow(id)
	if err == nil && deleted {
		err = &NotFoundError{"problem", id}
	}
	return p, err
}

// AddProblem records an active problem.
func (tx *Tx) AddProblem(p Problem) (Problem, error) {
	if err := tx.patientExists(p.PatientID); err != nil {
		return Problem{}, missing(err, "patient", p.PatientID)
	}
	p.ID, p.Status, p.ResolvedOn, p.RecordedAt = NewID(), ProblemActive, "", tx.now.Truncate(time.Second)
	origin, hlc := tx.stamp()
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO problems(`+problemColumns+`, origin, hlc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
		p.ID, p.PatientID, p.Description, p.Code, p.Status, p.Onset, p.ResolvedOn, p.RecordedBy, p.RecordedAt.Unix(), origin, int64(hlc))
	if err != nil {
		return Problem{}, err
	}
	return logged(tx, "problems", p.ID, hlc, tx.problemRow)
}

// SetProblemStatus marks a problem resolved or inactive (on: the day,
// YYYY-MM-DD), or active again (a recurrence; the resolved day is cleared).
func (tx *Tx) SetProblemStatus(id, status, on string) (Problem, error) {
	p, err := tx.Problem(id)
	if err != nil {
		return p, err
	}
	if err := checkTransition("problem", p.Status, status); err != nil {
		return p, err
	}
	if status == ProblemActive {
		on = ""
	}
	origin, hlc := tx.stamp()
	if err := tx.execOne("UPDATE problems SET status = ?, resolved_on = ?, origin = ?, hlc = ? WHERE id = ?",
		status, on, origin, int64(hlc), id); err != nil {
		return Problem{}, err
	}
	return logged(tx, "problems", id, hlc, tx.problemRow)
}

// Problems lists a patient's problems: active ones only, or all.
func (tx *Tx) Problems(patientID string, all bool) ([]Problem, error) {
	return queryList(tx, scanProblem, "SELECT "+problemColumns+" FROM problems WHERE patient_id = ? AND deleted = 0"+
		activeOnly(all)+" ORDER BY status <> 'active', recorded_at, id", patientID)
}
