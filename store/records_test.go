package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// update runs fn in one transaction and fails the test on an error.
func update(t testing.TB, db *DB, fn func(tx *Tx) error) {
	t.Helper()
	if err := db.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// chartFixture is a database with a clinician and a patient.
type chartFixture struct {
	db        *DB
	clinician User
	patient   Patient
}

func newChartFixture(t testing.TB) chartFixture {
	t.Helper()
	db, _, _ := newTestDB(t)
	f := chartFixture{db: db}
	update(t, db, func(tx *Tx) error {
		var err error
		f.clinician, err = tx.AddUser(User{Username: "clara", DisplayName: "Dr. Clara Lin", PasswordHash: "x", Roles: []string{"clinician"}})
		return err
	})
	f.patient = addPatient(t, db, Patient{Name: "Grace Hopper", BirthDate: "1906-12-09", Phone: "555-1906"})
	return f
}

// changeLog lists the (op, data) of a row's change-log entries, in order.
func changeLog(t testing.TB, db *DB, table, id string) (ops []string, data []string) {
	t.Helper()
	update(t, db, func(tx *Tx) error {
		rows, err := tx.AuditDB().QueryContext(context.Background(),
			"SELECT op, data, origin FROM change_log WHERE table_name = ? AND row_id = ? ORDER BY seq", table, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var op, d, origin string
			if err := rows.Scan(&op, &d, &origin); err != nil {
				return err
			}
			if origin != db.Self().ID {
				t.Errorf("change of %s %s logged with origin %q, want this node %q", table, id, origin, db.Self().ID)
			}
			ops, data = append(ops, op), append(data, d)
		}
		return rows.Err()
	})
	return ops, data
}

func TestAppointmentStatusTransitions(t *testing.T) {
	f := newChartFixture(t)
	at := time.Date(2026, 11, 24, 9, 30, 0, 0, time.Local)
	tests := []struct {
		path []string // statuses set first, each must succeed
		to   string
		ok   bool
	}{
		{nil, AppointmentCheckedIn, true},
		{nil, AppointmentNoShow, true},
		{nil, AppointmentCancelled, true},
		{nil, AppointmentDone, false}, // not seen yet
		{nil, AppointmentBooked, false},
		{[]string{AppointmentCheckedIn}, AppointmentDone, true},
		{[]string{AppointmentCheckedIn}, AppointmentNoShow, false},
		{[]string{AppointmentCheckedIn}, AppointmentCheckedIn, false},
		{[]string{AppointmentCancelled}, AppointmentCheckedIn, false},
		{[]string{AppointmentNoShow}, AppointmentCheckedIn, false},
		{[]string{AppointmentNoShow}, AppointmentCancelled, false},
		{[]string{AppointmentCheckedIn, AppointmentDone}, AppointmentCancelled, false},
	}
	for _, tc := range tests {
		name := strings.Join(append(append([]string{AppointmentBooked}, tc.path...), tc.to), "→")
		t.Run(name, func(t *testing.T) {
			var a Appointment
			update(t, f.db, func(tx *Tx) error {
				var err error
				a, err = tx.BookAppointment(Appointment{PatientID: f.patient.ID, ClinicianID: f.clinician.ID, StartsAt: at, Reason: "cough"})
				if a.Status != AppointmentBooked || a.Minutes != 15 || !a.StartsAt.Equal(at) {
					t.Errorf("booked %+v", a)
				}
				return err
			})
			for _, s := range tc.path {
				update(t, f.db, func(tx *Tx) error { _, err := tx.SetAppointmentStatus(a.ID, s); return err })
			}
			err := f.db.Update(context.Background(), func(tx *Tx) error {
				got, err := tx.SetAppointmentStatus(a.ID, tc.to)
				if err == nil && got.Status != tc.to {
					t.Errorf("status %q after moving to %q", got.Status, tc.to)
				}
				return err
			})
			var se *StatusError
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.ok && !errors.As(err, &se):
				t.Fatalf("allowed (err %v), want a StatusError", err)
			case !tc.ok && !strings.Contains(err.Error(), "this appointment is"):
				t.Errorf("unclear refusal: %v", err)
			}
			// Every successful write, and only those, is in the change log.
			ops, _ := changeLog(t, f.db, "appointments", a.ID)
			want := 1 + len(tc.path)
			if tc.ok {
				want++
			}
			if len(ops) != want {
				t.Errorf("%d change-log entries, want %d", len(ops), want)
			}
		})
	}
	if got := (&StatusError{Record: "appointment", From: AppointmentCancelled, To: AppointmentCheckedIn}).Error(); got !=
		"this appointment is cancelled, so it cannot be checked in: it can no longer change" {
		t.Errorf("message: %q", got)
	}
}

func TestDaySchedule(t *testing.T) {
	f := newChartFixture(t)
	var other User
	update(t, f.db, func(tx *Tx) error {
		var err error
		other, err = tx.AddUser(User{Username: "bob", DisplayName: "Dr. Bob", PasswordHash: "x", Roles: []string{"clinician"}})
		return err
	})
	p2 := addPatient(t, f.db, Patient{Name: "Alan Turing", BirthDate: "1912-06-23"})
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.Local)
	book := []struct {
		patient, clinician string
		at                 time.Time
	}{
		{f.patient.ID, f.clinician.ID, day.Add(11 * time.Hour)},
		{p2.ID, other.ID, day.Add(9 * time.Hour)},
		{p2.ID, f.clinician.ID, day.Add(9*time.Hour + 30*time.Minute)},
		{f.patient.ID, f.clinician.ID, day.Add(24*time.Hour + 9*time.Hour)}, // next day
		{f.patient.ID, f.clinician.ID, day.Add(-time.Minute)},               // the evening before
		{f.patient.ID, other.ID, day.Add(23*time.Hour + 59*time.Minute)},    // last minute of the day
	}
	ids := make([]string, len(book))
	update(t, f.db, func(tx *Tx) error {
		for i, b := range book {
			a, err := tx.BookAppointment(Appointment{PatientID: b.patient, ClinicianID: b.clinician, StartsAt: b.at})
			if err != nil {
				return err
			}
			ids[i] = a.ID
		}
		_, err := tx.SetAppointmentStatus(ids[2], AppointmentCancelled)
		return err
	})
	tests := []struct {
		clinician string
		want      []string
	}{
		{"", []string{ids[1], ids[2], ids[0], ids[5]}},
		{f.clinician.ID, []string{ids[2], ids[0]}},
		{other.ID, []string{ids[1], ids[5]}},
	}
	for _, tc := range tests {
		var got []ScheduledVisit
		update(t, f.db, func(tx *Tx) error {
			var err error
			got, err = tx.DaySchedule(day.Add(15*time.Hour), tc.clinician)
			return err
		})
		var gotIDs []string
		for _, v := range got {
			gotIDs = append(gotIDs, v.ID)
		}
		if strings.Join(gotIDs, ",") != strings.Join(tc.want, ",") {
			t.Errorf("schedule for %q: %v, want %v", tc.clinician, gotIDs, tc.want)
		}
		for _, v := range got {
			if v.PatientName == "" || v.ClinicianUser == "" || v.PatientMRN == "" {
				t.Errorf("schedule line without names: %+v", v)
			}
			if v.ID == ids[2] && v.Status != AppointmentCancelled {
				t.Errorf("cancelled appointment listed as %q", v.Status)
			}
		}
	}
	// Unknown patient or clinician: nothing is booked.
	err := f.db.Update(context.Background(), func(tx *Tx) error {
		_, err := tx.BookAppointment(Appointment{PatientID: "nope", ClinicianID: f.clinician.ID, StartsAt: day})
		return err
	})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no patient") {
		t.Errorf("booking an unknown patient: %v", err)
	}
}

// writeSignedNote writes and signs a note in a new encounter.
func writeSignedNote(t testing.TB, f chartFixture, body string) Note {
	t.Helper()
	var n Note
	update(t, f.db, func(tx *Tx) error {
		e, err := tx.OpenEncounter(f.patient.ID, f.clinician.ID, "")
		if err != nil {
			return err
		}
		n, err = tx.WriteNote(Note{EncounterID: e.ID, PatientID: f.patient.ID, AuthorID: f.clinician.ID, Body: body})
		if err != nil {
			return err
		}
		n, err = tx.SignNote(n.ID)
		return err
	})
	return n
}

func TestSignedNoteIsImmutable(t *testing.T) {
	f := newChartFixture(t)
	ctx := context.Background()

	// A draft can be edited and is then signed with the time of signing.
	var n Note
	update(t, f.db, func(tx *Tx) error {
		e, err := tx.OpenEncounter(f.patient.ID, f.clinician.ID, "visit")
		if err != nil {
			return err
		}
		if n, err = tx.WriteNote(Note{EncounterID: e.ID, PatientID: f.patient.ID, AuthorID: f.clinician.ID, Body: "first words"}); err != nil {
			return err
		}
		if n.Status != NoteDraft || !n.SignedAt.IsZero() {
			t.Errorf("new note %+v", n)
		}
		if n, err = tx.EditDraft(n.ID, "BP 120/80"); err != nil {
			return err
		}
		n, err = tx.SignNote(n.ID)
		return err
	})
	if n.Status != NoteSigned || n.SignedAt.IsZero() || n.Body != "BP 120/80" {
		t.Fatalf("signed note %+v", n)
	}

	// Store refuses every change.
	for name, change := range map[string]func(tx *Tx) error{
		"edit":    func(tx *Tx) error { _, err := tx.EditDraft(n.ID, "changed"); return err },
		"sign":    func(tx *Tx) error { _, err := tx.SignNote(n.ID); return err },
		"discard": func(tx *Tx) error { _, err := tx.DiscardDraft(n.ID); return err },
	} {
		if err := f.db.Update(ctx, change); !errors.Is(err, ErrNoteSigned) {
			t.Errorf("%s of a signed note: %v, want ErrNoteSigned", name, err)
		}
	}

	// And so does the database, whatever writes to it.
	for _, tc := range []struct {
		sql     string
		allowed bool
	}{
		{"UPDATE notes SET body = 'rewritten' WHERE id = ?", false},
		{"UPDATE notes SET status = 'draft' WHERE id = ?", false},
		{"UPDATE notes SET signed_at = signed_at + 1 WHERE id = ?", false},
		{"UPDATE notes SET signed_at = NULL WHERE id = ?", false},
		{"UPDATE notes SET author_id = 'someone-else' WHERE id = ?", false},
		{"UPDATE notes SET amends_id = id WHERE id = ?", false},
		{"UPDATE notes SET encounter_id = 'elsewhere' WHERE id = ?", false},
		{"UPDATE notes SET created_at = 0 WHERE id = ?", false},
		{"UPDATE notes SET deleted = 1 WHERE id = ?", false},
		{"DELETE FROM notes WHERE id = ?", false},
		// A merge re-points the patient; the replica re-applies the same row.
		{"UPDATE notes SET patient_id = patient_id, origin = 'peer', hlc = hlc + 1 WHERE id = ?", true},
		{"UPDATE notes SET body = body, status = status WHERE id = ?", true},
	} {
		err := f.db.Update(ctx, func(tx *Tx) error {
			_, err := tx.AuditDB().ExecContext(ctx, tc.sql, n.ID)
			return err
		})
		switch {
		case tc.allowed && err != nil:
			t.Errorf("%s: refused: %v", tc.sql, err)
		case !tc.allowed && (err == nil || !strings.Contains(err.Error(), "a signed note cannot be")):
			t.Errorf("%s: %v, want the database to refuse", tc.sql, err)
		}
	}
	update(t, f.db, func(tx *Tx) error {
		got, err := tx.Note(n.ID)
		if got.Body != "BP 120/80" || got.Status != NoteSigned || !got.SignedAt.Equal(n.SignedAt) {
			t.Errorf("signed note changed: %+v", got)
		}
		return err
	})

	// A note is never signed without the time of signing.
	var d Note
	update(t, f.db, func(tx *Tx) error {
		var err error
		d, err = tx.WriteNote(Note{EncounterID: n.EncounterID, PatientID: f.patient.ID, AuthorID: f.clinician.ID, Body: "draft"})
		return err
	})
	err := f.db.Update(ctx, func(tx *Tx) error {
		_, err := tx.AuditDB().ExecContext(ctx, "UPDATE notes SET status = 'signed' WHERE id = ?", d.ID)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "time of signing") {
		t.Errorf("signing without a time: %v", err)
	}

	// A note goes only into an encounter of its own patient.
	other := addPatient(t, f.db, Patient{Name: "Alan Turing", BirthDate: "1912-06-23"})
	err = f.db.Update(ctx, func(tx *Tx) error {
		_, err := tx.WriteNote(Note{EncounterID: n.EncounterID, PatientID: other.ID, AuthorID: f.clinician.ID, Body: "x"})
		return err
	})
	if !errors.Is(err, ErrWrongPatient) {
		t.Errorf("note in another patient's encounter: %v", err)
	}
}

func TestAmendmentChain(t *testing.T) {
	f := newChartFixture(t)
	ctx := context.Background()
	a := writeSignedNote(t, f, "v1")
	amend := func(id, body string) (Note, error) {
		var n Note
		err := f.db.Update(ctx, func(tx *Tx) error {
			var err error
			n, err = tx.AmendNote(id, f.clinician.ID, body)
			return err
		})
		return n, err
	}
	sign := func(id string) { update(t, f.db, func(tx *Tx) error { _, err := tx.SignNote(id); return err }) }

	b, err := amend(a.ID, "v2")
	if err != nil {
		t.Fatal(err)
	}
	if b.AmendsID != a.ID || b.Status != NoteDraft || b.EncounterID != a.EncounterID || b.ID == a.ID {
		t.Fatalf("amendment %+v of %+v", b, a)
	}
	var ae *AmendmentError
	if _, err := amend(a.ID, "v2 again"); !errors.As(err, &ae) || !strings.Contains(err.Error(), "already in draft") {
		t.Errorf("second amendment while one is in draft: %v", err)
	}
	if _, err := amend(b.ID, "amending a draft"); !errors.As(err, &ae) || !strings.Contains(err.Error(), "still a draft") {
		t.Errorf("amending a draft: %v", err)
	}
	sign(b.ID)
	if _, err := amend(a.ID, "fork"); !errors.As(err, &ae) || !strings.Contains(err.Error(), b.ID) {
		t.Errorf("amending an amended version: %v (should point at %s)", err, b.ID)
	}
	c, err := amend(b.ID, "v3")
	if err != nil {
		t.Fatal(err)
	}
	other := writeSignedNote(t, f, "another visit")

	var threads []NoteThread
	update(t, f.db, func(tx *Tx) error {
		threads, err = tx.Notes(f.patient.ID)
		return err
	})
	if len(threads) != 2 {
		t.Fatalf("%d threads, want 2: %+v", len(threads), threads)
	}
	var bodies []string
	for _, v := range threads[0].Versions {
		bodies = append(bodies, v.Body)
	}
	if strings.Join(bodies, ",") != "v1,v2,v3" {
		t.Errorf("versions %v, want v1,v2,v3", bodies)
	}
	if cur := threads[0].Current(); cur.ID != b.ID {
		t.Errorf("current version %s (%s), want the newest signed one %s", cur.ID, cur.Body, b.ID)
	}
	if threads[0].Newest().ID != c.ID || threads[0].Original().ID != a.ID {
		t.Errorf("newest/original wrong")
	}
	if len(threads[1].Versions) != 1 || threads[1].Original().ID != other.ID {
		t.Errorf("second thread %+v", threads[1])
	}
	sign(c.ID)
	update(t, f.db, func(tx *Tx) error {
		th, err := tx.NoteVersions(a.ID)
		if len(th.Versions) != 3 || th.Current().ID != c.ID {
			t.Errorf("after signing v3: %+v", th)
		}
		return err
	})
	// The signed versions are all still there, unchanged.
	update(t, f.db, func(tx *Tx) error {
		for id, body := range map[string]string{a.ID: "v1", b.ID: "v2", c.ID: "v3"} {
			n, err := tx.Note(id)
			if err != nil {
				return err
			}
			if n.Body != body || n.Status != NoteSigned {
				t.Errorf("version %s is %+v", id, n)
			}
		}
		return nil
	})
}

func TestAllergiesMedicationsProblems(t *testing.T) {
	f := newChartFixture(t)
	ctx := context.Background()
	var al Allergy
	var med Medication
	var pr Problem
	update(t, f.db, func(tx *Tx) error {
		has, err := tx.HasAllergies(f.patient.ID)
		if has || err != nil {
			t.Errorf("no allergies yet: %v %v", has, err)
		}
		if al, err = tx.AddAllergy(Allergy{PatientID: f.patient.ID, Substance: "penicillin", Reaction: "hives", Severity: "severe", RecordedBy: f.clinician.ID}); err != nil {
			return err
		}
		if med, err = tx.AddMedication(Medication{PatientID: f.patient.ID, Name: "metformin", Dose: "500 mg", StartedOn: "2020-01-01", RecordedBy: f.clinician.ID}); err != nil {
			return err
		}
		pr, err = tx.AddProblem(Problem{PatientID: f.patient.ID, Description: "type 2 diabetes", Code: "E11", Onset: "2019", RecordedBy: f.clinician.ID})
		return err
	})
	if al.Status != AllergyActive || med.Status != MedicationActive || pr.Status != ProblemActive {
		t.Fatalf("new records not active: %v %v %v", al.Status, med.Status, pr.Status)
	}
	counts := func() (act, all [3]int, has bool) {
		update(t, f.db, func(tx *Tx) error {
			for i, everything := range []bool{false, true} {
				a, err := tx.Allergies(f.patient.ID, everything)
				if err != nil {
					return err
				}
				m, err := tx.Medications(f.patient.ID, everything)
				if err != nil {
					return err
				}
				p, err := tx.Problems(f.patient.ID, everything)
				if err != nil {
					return err
				}
				n := [3]int{len(a), len(m), len(p)}
				if i == 0 {
					act = n
				} else {
					all = n
				}
			}
			var err error
			has, err = tx.HasAllergies(f.patient.ID)
			return err
		})
		return
	}
	if act, all, has := counts(); act != [3]int{1, 1, 1} || all != [3]int{1, 1, 1} || !has {
		t.Fatalf("active %v all %v has %v", act, all, has)
	}
	update(t, f.db, func(tx *Tx) error {
		var err error
		if al, err = tx.SetAllergyStatus(al.ID, AllergyInactive); err != nil {
			return err
		}
		if med, err = tx.StopMedication(med.ID, "2026-01-31"); err != nil {
			return err
		}
		pr, err = tx.SetProblemStatus(pr.ID, ProblemResolved, "2026-02-01")
		return err
	})
	if med.StoppedOn != "2026-01-31" || pr.ResolvedOn != "2026-02-01" {
		t.Errorf("dates not kept: %+v %+v", med, pr)
	}
	if act, all, has := counts(); act != [3]int{0, 0, 0} || all != [3]int{1, 1, 1} || has {
		t.Fatalf("after status changes: active %v all %v has %v", act, all, has)
	}
	// Transitions the workflow refuses.
	for name, change := range map[string]func(tx *Tx) error{
		"stop a stopped medication": func(tx *Tx) error { _, err := tx.StopMedication(med.ID, "2026-02-02"); return err },
		"inactive allergy again":    func(tx *Tx) error { _, err := tx.SetAllergyStatus(al.ID, AllergyInactive); return err },
		"resolved problem resolved": func(tx *Tx) error { _, err := tx.SetProblemStatus(pr.ID, ProblemResolved, ""); return err },
		"unknown status":            func(tx *Tx) error { _, err := tx.SetAllergyStatus(al.ID, "gone"); return err },
	} {
		var se *StatusError
		if err := f.db.Update(ctx, change); !errors.As(err, &se) {
			t.Errorf("%s: %v, want a StatusError", name, err)
		}
	}
	// A recurrence: resolved → active clears the resolved day.
	update(t, f.db, func(tx *Tx) error {
		var err error
		pr, err = tx.SetProblemStatus(pr.ID, ProblemActive, "2026-03-01")
		return err
	})
	if pr.Status != ProblemActive || pr.ResolvedOn != "" {
		t.Errorf("recurrence: %+v", pr)
	}
	if !ValidStatus("allergy", "resolved") || ValidStatus("medication", "resolved") || ValidStatus("appointment", "gone") {
		t.Error("ValidStatus")
	}
}

func TestHistory(t *testing.T) {
	f := newChartFixture(t)
	ctx := context.Background()
	var al Allergy
	update(t, f.db, func(tx *Tx) error {
		var err error
		if al, err = tx.AddAllergy(Allergy{PatientID: f.patient.ID, Substance: "latex", RecordedBy: f.clinician.ID}); err != nil {
			return err
		}
		if _, err = tx.SetAllergyStatus(al.ID, AllergyInactive); err != nil {
			return err
		}
		if _, err = tx.SetAllergyStatus(al.ID, AllergyActive); err != nil {
			return err
		}
		p := f.patient
		p.Name, p.Phone = "Grace Brewster Hopper", "555-0000"
		_, err = tx.UpdatePatient(p)
		return err
	})
	var vs, ps []Version
	update(t, f.db, func(tx *Tx) error {
		var err error
		if vs, err = tx.History("allergies", al.ID); err != nil {
			return err
		}
		ps, err = tx.History("patients", f.patient.ID)
		return err
	})
	var statuses []string
	for i, v := range vs {
		var a Allergy
		if err := v.Decode(&a); err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, a.Status)
		if a.ID != al.ID || a.Substance != "latex" || v.Op != "upsert" || v.Origin != f.db.Self().ID {
			t.Errorf("version %d: %+v %+v", i, v, a)
		}
		if i > 0 && v.HLC <= vs[i-1].HLC {
			t.Errorf("versions out of HLC order")
		}
		if time.Since(v.At()) > time.Minute {
			t.Errorf("version time %v", v.At())
		}
	}
	if strings.Join(statuses, ",") != "active,inactive,active" {
		t.Errorf("allergy versions %v", statuses)
	}
	var names []string
	for _, v := range ps {
		var p Patient
		if err := v.Decode(&p); err != nil {
			t.Fatal(err)
		}
		names = append(names, p.Name+"/"+p.Phone)
	}
	if strings.Join(names, ",") != "Grace Hopper/555-1906,Grace Brewster Hopper/555-0000" {
		t.Errorf("patient versions %v", names)
	}
	err := f.db.Update(ctx, func(tx *Tx) error { _, err := tx.History("allergies", "no-such-id"); return err })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("history of nothing: %v", err)
	}
	err = f.db.Update(ctx, func(tx *Tx) error { _, err := tx.History("audit_entries", "1"); return err })
	if err == nil || !strings.Contains(err.Error(), "no history") {
		t.Errorf("history of a non-record table: %v", err)
	}
	update(t, f.db, func(tx *Tx) error {
		pid, err := tx.RecordPatient("allergies", al.ID)
		if pid != f.patient.ID {
			t.Errorf("RecordPatient %q", pid)
		}
		return err
	})
}

func TestUpdatePatientKeepsSearchInStep(t *testing.T) {
	f := newChartFixture(t)
	ctx := context.Background()
	other := addPatient(t, f.db, Patient{Name: "Alan Turing", BirthDate: "1912-06-23"})
	search := func(q string) []string {
		var ids []string
		update(t, f.db, func(tx *Tx) error {
			ps, err := tx.SearchPatients(q, 10)
			for _, p := range ps {
				ids = append(ids, p.ID)
			}
			return err
		})
		return ids
	}
	if got := search("hopper"); len(got) != 1 {
		t.Fatalf("before the edit: %v", got)
	}
	p := f.patient
	p.Name, p.Phone, p.BirthDate = "Wilhelmina Quarrington", "555-7777", "1961-07-04"
	update(t, f.db, func(tx *Tx) error {
		got, err := tx.UpdatePatient(p)
		if got.MRN != f.patient.MRN || !got.CreatedAt.Equal(f.patient.CreatedAt) {
			t.Errorf("edit changed what it should keep: %+v", got)
		}
		return err
	})
	for q, want := range map[string]int{"hopper": 0, "grace": 0, "5551906": 0, "wilhel": 1, "quarrington": 1, "5557777": 1, "1961-07": 1, "turing": 1} {
		if got := search(q); len(got) != want {
			t.Errorf("search %q: %d results, want %d", q, len(got), want)
		}
	}
	// MRN: another patient's is refused; a new free one is taken.
	p.MRN = other.MRN
	err := f.db.Update(ctx, func(tx *Tx) error { _, err := tx.UpdatePatient(p); return err })
	if !errors.Is(err, ErrMRNTaken) {
		t.Errorf("taking another's MRN: %v", err)
	}
	p.MRN = "A77001"
	update(t, f.db, func(tx *Tx) error { _, err := tx.UpdatePatient(p); return err })
	if got := search("a77001"); len(got) != 1 || got[0] != p.ID {
		t.Errorf("search by new MRN: %v", got)
	}
	// The index agrees with the table (FTS5's own check).
	update(t, f.db, func(tx *Tx) error {
		_, err := tx.AuditDB().ExecContext(ctx, "INSERT INTO patients_fts(patients_fts, rank) VALUES ('integrity-check', 1)")
		return err
	})
}

func TestMergePatients(t *testing.T) {
	f := newChartFixture(t)
	ctx := context.Background()
	keep := f.patient
	dup := addPatient(t, f.db, Patient{Name: "Grace M. Hopper", BirthDate: "1906-12-09"})
	// Records on both; the duplicate's include a signed note, an amendment,
	// a discarded draft (tombstone) and a cancelled appointment.
	var dupRows = map[string][]string{}
	record := func(table, id string) { dupRows[table] = append(dupRows[table], id) }
	update(t, f.db, func(tx *Tx) error {
		if _, err := tx.AddAllergy(Allergy{PatientID: keep.ID, Substance: "latex", RecordedBy: f.clinician.ID}); err != nil {
			return err
		}
		a, err := tx.BookAppointment(Appointment{PatientID: dup.ID, ClinicianID: f.clinician.ID, StartsAt: time.Now()})
		if err != nil {
			return err
		}
		record("appointments", a.ID)
		if a, err = tx.BookAppointment(Appointment{PatientID: dup.ID, ClinicianID: f.clinician.ID, StartsAt: time.Now()}); err != nil {
			return err
		}
		if _, err := tx.SetAppointmentStatus(a.ID, AppointmentCancelled); err != nil {
			return err
		}
		record("appointments", a.ID)
		e, err := tx.OpenEncounter(dup.ID, f.clinician.ID, "")
		if err != nil {
			return err
		}
		record("encounters", e.ID)
		n, err := tx.WriteNote(Note{EncounterID: e.ID, PatientID: dup.ID, AuthorID: f.clinician.ID, Body: "signed"})
		if err != nil {
			return err
		}
		if _, err := tx.SignNote(n.ID); err != nil {
			return err
		}
		record("notes", n.ID)
		am, err := tx.AmendNote(n.ID, f.clinician.ID, "amended")
		if err != nil {
			return err
		}
		record("notes", am.ID)
		gone, err := tx.WriteNote(Note{EncounterID: e.ID, PatientID: dup.ID, AuthorID: f.clinician.ID, Body: "discarded"})
		if err != nil {
			return err
		}
		if _, err := tx.DiscardDraft(gone.ID); err != nil {
			return err
		}
		record("notes", gone.ID)
		al, err := tx.AddAllergy(Allergy{PatientID: dup.ID, Substance: "penicillin", RecordedBy: f.clinician.ID})
		if err != nil {
			return err
		}
		record("allergies", al.ID)
		m, err := tx.AddMedication(Medication{PatientID: dup.ID, Name: "aspirin", RecordedBy: f.clinician.ID})
		if err != nil {
			return err
		}
		record("medications", m.ID)
		p, err := tx.AddProblem(Problem{PatientID: dup.ID, Description: "asthma", RecordedBy: f.clinician.ID})
		if err != nil {
			return err
		}
		record("problems", p.ID)
		// The duplicate was restricted, with one named clinician.
		if err := tx.SetPatientAccess(dup.ID, f.clinician.ID, "officer", true); err != nil {
			return err
		}
		return tx.SetPatientRestricted(dup.ID, true)
	})
	logBefore := map[string]int{}
	for table, ids := range dupRows {
		for _, id := range ids {
			ops, _ := changeLog(t, f.db, table, id)
			logBefore[id] = len(ops)
		}
	}

	var res MergeResult
	wasDeleted := map[string]bool{}
	update(t, f.db, func(tx *Tx) error {
		var err error
		res, err = tx.MergePatients(keep.ID, dup.ID)
		return err
	})
	if res.Total() != 9 || res.Moved["notes"] != 3 || res.Moved["appointments"] != 2 {
		t.Errorf("merge moved %+v", res.Moved)
	}
	update(t, f.db, func(tx *Tx) error {
		for table, ids := range dupRows {
			for _, id := range ids {
				var pid string
				var deleted bool
				if err := tx.AuditDB().QueryRowContext(ctx, "SELECT patient_id, deleted FROM "+table+" WHERE id = ?", id).Scan(&pid, &deleted); err != nil {
					return err
				}
				if pid != keep.ID {
					t.Errorf("%s %s still on %s", table, id, pid)
				}
				wasDeleted[id] = deleted
			}
		}
		for _, q := range []string{"appointments", "encounters", "notes", "allergies", "medications", "problems"} {
			var n int
			if err := tx.AuditDB().QueryRowContext(ctx, "SELECT count(*) FROM "+q+" WHERE patient_id = ?", dup.ID).Scan(&n); err != nil {
				return err
			}
			if n != 0 {
				t.Errorf("%d %s left on the duplicate", n, q)
			}
		}
		// The duplicate is a tombstone that points at keep.
		if _, err := tx.Patient(dup.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("duplicate still readable: %v", err)
		}
		if into, err := tx.PatientMergedInto(dup.ID); into != keep.ID || err != nil {
			t.Errorf("merged into %q, %v", into, err)
		}
		// The restriction came along.
		if r, _ := tx.PatientRestricted(keep.ID); !r {
			t.Error("the duplicate's restriction was lost")
		}
		if ok, _ := tx.MayOpenRestricted(keep.ID, f.clinician.ID); !ok {
			t.Error("the duplicate's named clinician was lost")
		}
		// The chart of keep has everything.
		threads, err := tx.Notes(keep.ID)
		if err != nil {
			return err
		}
		if len(threads) != 1 || len(threads[0].Versions) != 2 {
			t.Errorf("keep's notes after merge: %+v", threads)
		}
		as, err := tx.Allergies(keep.ID, false)
		if len(as) != 2 {
			t.Errorf("keep's allergies after merge: %d", len(as))
		}
		return err
	})
	for table, ids := range dupRows {
		for _, id := range ids {
			ops, data := changeLog(t, f.db, table, id)
			if len(ops) != logBefore[id]+1 || !strings.Contains(data[len(data)-1], `"PatientID":"`+keep.ID+`"`) {
				t.Errorf("%s %s: move not in the change log: %v", table, id, data)
			}
			if want := map[bool]string{false: "upsert", true: "delete"}[wasDeleted[id]]; ops[len(ops)-1] != want {
				t.Errorf("%s %s logged as %s, want %s", table, id, ops[len(ops)-1], want)
			}
		}
	}
	ops, data := changeLog(t, f.db, "patients", dup.ID)
	if ops[len(ops)-1] != "delete" || !strings.Contains(data[len(data)-1], `"MergedInto":"`+keep.ID+`"`) {
		t.Errorf("duplicate's tombstone logged as %s %s", ops[len(ops)-1], data[len(data)-1])
	}
	if got := func() []string {
		var ids []string
		update(t, f.db, func(tx *Tx) error {
			ps, err := tx.SearchPatients("hopper", 10)
			for _, p := range ps {
				ids = append(ids, p.ID)
			}
			return err
		})
		return ids
	}(); len(got) != 1 || got[0] != keep.ID {
		t.Errorf("search after merge finds %v, want only keep", got)
	}

	// Refused: itself, a merged-away record, an unknown one. Nothing changes.
	for name, tc := range map[string][2]string{"self": {keep.ID, keep.ID}, "merged": {keep.ID, dup.ID}, "unknown": {"nope", keep.ID}} {
		err := f.db.Update(ctx, func(tx *Tx) error { _, err := tx.MergePatients(tc[0], tc[1]); return err })
		if err == nil || (name == "self") != errors.Is(err, ErrMergeSelf) {
			t.Errorf("merge %s: %v", name, err)
		}
	}
}
