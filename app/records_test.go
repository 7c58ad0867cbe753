package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"ward/store"
	"ward/store/audit"
)

// recordsClinic is a clinic with a front desk, two clinicians and the
// administrator (who is also the security officer), all signed in.
type recordsClinic struct {
	c              *Clinic
	root, fd       *Session
	doc, doc2      *Session
	patient, other store.Patient
}

func newRecordsClinic(t testing.TB) recordsClinic {
	t.Helper()
	ctx := context.Background()
	c, _, _ := newClinic(t)
	r := recordsClinic{c: c, root: signIn(t, c, "root", adminPW)}
	for _, u := range []NewUser{
		{Username: "fd", Roles: []string{RoleFrontDesk}, Password: "front desk pass"},
		{Username: "doc", Name: "Dr. Clara Lin", Roles: []string{RoleClinician}, Password: "clinician pass"},
		{Username: "doc2", Name: "Dr. Bob Okafor", Roles: []string{RoleClinician}, Password: "clinician pass"},
	} {
		if _, err := r.root.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	r.fd = signIn(t, c, "fd", "front desk pass")
	r.doc = signIn(t, c, "doc", "clinician pass")
	r.doc2 = signIn(t, c, "doc2", "clinician pass")
	var err error
	if r.patient, err = r.fd.RegisterPatient(ctx, NewPatient{Name: "Grace Hopper", BirthDate: "1906-12-09", Phone: "555-1906"}); err != nil {
		t.Fatal(err)
	}
	if r.other, err = r.fd.RegisterPatient(ctx, NewPatient{Name: "Grace M Hopper", BirthDate: "1906-12-09"}); err != nil {
		t.Fatal(err)
	}
	return r
}

// PHI the tests write; none of it may reach the audit chain.
var testPHI = []string{"Grace", "Hopper", "555-1906", "555-7777", "persistent cough", "penicillin", "hives",
	"metformin", "500 mg", "diabetes", "E11", "Correction", "follow-up visit", "Wilhelmina"}

// Each record service is one trip through the door: exactly one audit
// entry, with the right action, person, patient and outcome.
func TestRecordServicesAuditOnce(t *testing.T) {
	ctx := context.Background()
	r := newRecordsClinic(t)
	p := r.patient
	at := time.Now().Add(48 * time.Hour).Truncate(time.Minute)

	var appt, appt2 store.Appointment
	var enc store.Encounter
	var note, amend store.Note
	var al store.Allergy
	var med store.Medication
	var prob store.Problem
	var flag bool
	var chart Chart
	patientID := func() string { return p.ID }
	steps := []struct {
		name    string
		who     *Session
		run     func() error
		act     Action
		patient func() string
		outcome string
		detail  string // a part the detail must contain
	}{
		{"book", r.fd, func() (err error) {
			appt, err = r.fd.BookAppointment(ctx, NewAppointment{PatientID: p.ID, Clinician: "doc", At: at, Reason: "follow-up visit"})
			return err
		}, ActAppointmentWrite, patientID, audit.OutcomeSuccess, "booked appointment"},
		{"book another", r.fd, func() (err error) {
			appt2, err = r.fd.BookAppointment(ctx, NewAppointment{PatientID: p.ID, Clinician: "doc", At: at.Add(time.Hour), Minutes: 30})
			return err
		}, ActAppointmentWrite, patientID, audit.OutcomeSuccess, ""},
		{"book in the past", r.fd, func() error {
			_, err := r.fd.BookAppointment(ctx, NewAppointment{PatientID: p.ID, Clinician: "doc", At: time.Now().AddDate(0, 0, -2)})
			return wantValidation(err, "time")
		}, ActAppointmentWrite, patientID, audit.OutcomeFailure, "invalid input: time"},
		{"book with the front desk", r.fd, func() error {
			_, err := r.fd.BookAppointment(ctx, NewAppointment{PatientID: p.ID, Clinician: "fd", At: at})
			return wantValidation(err, "clinician")
		}, ActAppointmentWrite, patientID, audit.OutcomeFailure, "invalid input: clinician"},
		{"day schedule", r.fd, func() error {
			vs, err := r.fd.DaySchedule(ctx, at, "")
			if err == nil && len(vs) != 2 {
				t.Errorf("schedule has %d visits", len(vs))
			}
			return err
		}, ActAppointmentRead, func() string { return "" }, audit.OutcomeSuccess, "all clinicians"},
		{"clinician's schedule", r.doc, func() error {
			vs, err := r.doc.DaySchedule(ctx, at, r.doc.User().ID)
			if err == nil && (len(vs) != 2 || vs[0].PatientName != "Grace Hopper") {
				t.Errorf("schedule %+v", vs)
			}
			return err
		}, ActAppointmentRead, func() string { return "" }, audit.OutcomeSuccess, ": 2 appointments"},
		{"check in", r.fd, func() error { _, err := r.fd.CheckIn(ctx, appt.ID); return err },
			ActAppointmentWrite, patientID, audit.OutcomeSuccess, "checked_in"},
		{"check in twice", r.fd, func() error {
			_, err := r.fd.CheckIn(ctx, appt.ID)
			var se *store.StatusError
			if !errors.As(err, &se) {
				return errors.New("a second check-in was not refused")
			}
			return nil
		}, ActAppointmentWrite, patientID, audit.OutcomeFailure, ""},
		{"no-show", r.fd, func() error { _, err := r.fd.NoShow(ctx, appt2.ID); return err },
			ActAppointmentWrite, patientID, audit.OutcomeSuccess, "no_show"},
		{"done", r.doc, func() error { _, err := r.doc.CompleteAppointment(ctx, appt.ID); return err },
			ActAppointmentWrite, patientID, audit.OutcomeSuccess, "done"},
		{"allergy flag, none yet", r.fd, func() (err error) {
			flag, err = r.fd.HasAllergies(ctx, p.ID)
			if flag {
				t.Error("flag set without allergies")
			}
			return err
		}, ActPatientRead, patientID, audit.OutcomeSuccess, "allergy flag"},
		{"open encounter", r.doc, func() (err error) { enc, err = r.doc.OpenEncounter(ctx, p.ID, ""); return err },
			ActEncounterWrite, patientID, audit.OutcomeSuccess, "opened encounter"},
		{"write note", r.doc, func() (err error) {
			note, err = r.doc.WriteNote(ctx, NewNote{PatientID: p.ID, EncounterID: enc.ID, Text: "persistent cough"})
			return err
		}, ActNoteWrite, patientID, audit.OutcomeSuccess, "draft note"},
		{"empty note", r.doc, func() error {
			_, err := r.doc.WriteNote(ctx, NewNote{PatientID: p.ID, EncounterID: enc.ID, Text: "  "})
			return wantValidation(err, "note")
		}, ActNoteWrite, patientID, audit.OutcomeFailure, "invalid input: note"},
		{"edit draft", r.doc, func() (err error) { note, err = r.doc.EditDraft(ctx, note.ID, "persistent cough, 3 days"); return err },
			ActNoteWrite, patientID, audit.OutcomeSuccess, "edited draft note"},
		{"sign another's draft", r.doc2, func() error {
			_, err := r.doc2.SignNote(ctx, note.ID)
			var de *DeniedError
			if !errors.As(err, &de) {
				return errors.New("a clinician signed another's draft")
			}
			return nil
		}, ActNoteSign, patientID, "", ""},
		{"sign note", r.doc, func() (err error) { note, err = r.doc.SignNote(ctx, note.ID); return err },
			ActNoteSign, patientID, audit.OutcomeSuccess, "signed note"},
		{"edit signed note", r.doc, func() error {
			if _, err := r.doc.EditDraft(ctx, note.ID, "rewritten"); !errors.Is(err, store.ErrNoteSigned) {
				return errors.New("a signed note was edited")
			}
			return nil
		}, ActNoteWrite, patientID, audit.OutcomeFailure, ""},
		{"amend note (another clinician)", r.doc2, func() (err error) {
			amend, err = r.doc2.AmendNote(ctx, note.ID, "Correction: cough for 5 days")
			return err
		}, ActNoteAmend, patientID, audit.OutcomeSuccess, "draft amendment"},
		{"sign amendment", r.doc2, func() (err error) { amend, err = r.doc2.SignNote(ctx, amend.ID); return err },
			ActNoteSign, patientID, audit.OutcomeSuccess, "signed note"},
		{"add allergy", r.doc, func() (err error) {
			al, err = r.doc.AddAllergy(ctx, NewAllergy{PatientID: p.ID, Substance: "penicillin", Reaction: "hives", Severity: "severe"})
			return err
		}, ActAllergyWrite, patientID, audit.OutcomeSuccess, "added allergy"},
		{"allergy flag", r.fd, func() (err error) {
			flag, err = r.fd.HasAllergies(ctx, p.ID)
			if !flag {
				t.Error("flag not set with an active allergy")
			}
			return err
		}, ActPatientRead, patientID, audit.OutcomeSuccess, "allergy flag"},
		{"allergy inactive", r.doc, func() (err error) { al, err = r.doc.SetAllergyStatus(ctx, al.ID, store.AllergyInactive); return err },
			ActAllergyWrite, patientID, audit.OutcomeSuccess, "inactive"},
		{"add medication", r.doc, func() (err error) {
			med, err = r.doc.AddMedication(ctx, NewMedication{PatientID: p.ID, Name: "metformin", Dose: "500 mg", StartedOn: "2020-01-15"})
			return err
		}, ActMedicationWrite, patientID, audit.OutcomeSuccess, "added medication"},
		{"stop before started", r.doc, func() error {
			_, err := r.doc.StopMedication(ctx, med.ID, "2019-01-01")
			return wantValidation(err, "stop date")
		}, ActMedicationWrite, patientID, audit.OutcomeFailure, "invalid input: stop date"},
		{"stop medication", r.doc, func() (err error) { med, err = r.doc.StopMedication(ctx, med.ID, ""); return err },
			ActMedicationWrite, patientID, audit.OutcomeSuccess, "stopped"},
		{"add problem", r.doc, func() (err error) {
			prob, err = r.doc.AddProblem(ctx, NewProblem{PatientID: p.ID, Description: "diabetes", Code: "E11", Onset: "2019-03"})
			return err
		}, ActProblemWrite, patientID, audit.OutcomeSuccess, "added problem"},
		{"resolve problem", r.doc, func() (err error) { prob, err = r.doc.ResolveProblem(ctx, prob.ID, ""); return err },
			ActProblemWrite, patientID, audit.OutcomeSuccess, "resolved"},
		{"notes", r.doc, func() error {
			l, err := r.doc.Notes(ctx, p.ID)
			if err == nil && (len(l.Threads) != 1 || len(l.Threads[0].Versions) != 2 || l.Names[r.doc.User().ID] != "Dr. Clara Lin") {
				t.Errorf("notes %+v", l)
			}
			return err
		}, ActChartRead, patientID, audit.OutcomeSuccess, "notes: 1"},
		{"allergies", r.doc, func() error { _, err := r.doc.Allergies(ctx, p.ID, true); return err },
			ActChartRead, patientID, audit.OutcomeSuccess, "allergies: 1"},
		{"medications", r.doc, func() error { _, err := r.doc.Medications(ctx, p.ID, false); return err },
			ActChartRead, patientID, audit.OutcomeSuccess, "medications: 0"},
		{"problems", r.doc, func() error { _, err := r.doc.Problems(ctx, p.ID, true); return err },
			ActChartRead, patientID, audit.OutcomeSuccess, "problems: 1"},
		{"chart", r.doc, func() (err error) { chart, err = r.doc.Chart(ctx, p.ID); return err },
			ActChartRead, patientID, audit.OutcomeSuccess, "chart: 1 allergies, 1 medications, 1 problems, 1 encounters, 2 note versions"},
		{"chart at the front desk", r.fd, func() error {
			_, err := r.fd.Chart(ctx, p.ID)
			var de *DeniedError
			if !errors.As(err, &de) {
				return errors.New("the front desk opened a chart")
			}
			return nil
		}, ActChartRead, patientID, audit.OutcomeDenied, ""},
		{"history of an allergy", r.doc, func() error {
			vs, err := r.doc.History(ctx, "allergy", al.ID)
			if err == nil && len(vs) != 2 {
				t.Errorf("%d versions", len(vs))
			}
			return err
		}, ActChartRead, patientID, audit.OutcomeSuccess, "2 versions"},
		{"history of a note at the front desk", r.fd, func() error {
			_, err := r.fd.History(ctx, "note", note.ID)
			var de *DeniedError
			if !errors.As(err, &de) {
				return errors.New("the front desk read a note's history")
			}
			return nil
		}, ActChartRead, func() string { return "" }, audit.OutcomeDenied, ""},
		{"edit patient", r.fd, func() (err error) {
			name, phone := "Wilhelmina Hopper", "555-7777"
			p, err = r.fd.UpdatePatient(ctx, p.ID, PatientChange{Name: &name, Phone: &phone})
			return err
		}, ActPatientUpdate, patientID, audit.OutcomeSuccess, "changed name, phone"},
		{"edit patient, nothing new", r.fd, func() (err error) {
			phone := "555-7777"
			_, err = r.fd.UpdatePatient(ctx, p.ID, PatientChange{Phone: &phone})
			return err
		}, ActPatientUpdate, patientID, audit.OutcomeSuccess, "no change"},
		{"history of the patient", r.fd, func() error {
			vs, err := r.fd.History(ctx, "patient", p.ID)
			if err == nil && len(vs) != 2 {
				t.Errorf("%d patient versions, want 2 (no version for an edit that changed nothing)", len(vs))
			}
			return err
		}, ActPatientRead, patientID, audit.OutcomeSuccess, "2 versions"},
		{"merge", r.fd, func() error {
			res, err := r.fd.MergePatients(ctx, p.ID, r.other.ID)
			if err == nil && res.Total() != 0 {
				t.Errorf("merge moved %+v", res.Moved)
			}
			return err
		}, ActPatientMerge, patientID, audit.OutcomeSuccess, "merged duplicate " + r.other.ID + " into " + p.ID},
	}
	for _, s := range steps {
		before := len(auditEntries(t, r.c))
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		es := auditEntries(t, r.c)[before:]
		if len(es) != 1 {
			t.Fatalf("%s: %d audit entries, want exactly 1: %+v", s.name, len(es), es)
		}
		e := es[0]
		if e.Action != string(s.act) || e.Patient != s.patient() || e.User != s.who.User().ID {
			t.Errorf("%s: audited as %s by %s on patient %q, want %s by %s on %q", s.name, e.Action, e.User, e.Patient,
				s.act, s.who.User().ID, s.patient())
		}
		if s.outcome != "" && e.Outcome != s.outcome {
			t.Errorf("%s: outcome %s, want %s (%s)", s.name, e.Outcome, s.outcome, e.Detail)
		}
		if s.outcome == "" && e.Outcome == audit.OutcomeSuccess {
			t.Errorf("%s: audited as a success", s.name)
		}
		if !strings.Contains(e.Detail, s.detail) {
			t.Errorf("%s: detail %q, want it to contain %q", s.name, e.Detail, s.detail)
		}
	}
	if len(chart.Allergies) != 1 || len(chart.Encounters) != 1 || len(chart.Encounters[0].Notes) != 1 || chart.HasAllergies() {
		t.Errorf("chart %+v", chart)
	}
	for _, e := range auditEntries(t, r.c) {
		for _, phi := range testPHI {
			if strings.Contains(e.Detail, phi) {
				t.Errorf("audit entry %d (%s) holds patient data %q: %q", e.Seq, e.Action, phi, e.Detail)
			}
		}
	}
}

func wantValidation(err error, field string) error {
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != field {
		return errors.New("want a validation error on " + field + ", got: " + errString(err))
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// The front desk sees whether a patient has allergies, never which; the
// chart is the clinicians'; the security officer sees neither.
func TestAllergyFlagAndChartAccess(t *testing.T) {
	ctx := context.Background()
	r := newRecordsClinic(t)
	if _, err := r.doc.AddAllergy(ctx, NewAllergy{PatientID: r.patient.ID, Substance: "latex"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		who         *Session
		flag, chart bool
	}{{r.fd, true, false}, {r.doc, true, true}, {r.root, false, false}} {
		name := tc.who.User().Username
		has, err := tc.who.HasAllergies(ctx, r.patient.ID)
		var de *DeniedError
		switch {
		case tc.flag && (err != nil || !has):
			t.Errorf("%s: allergy flag %v, %v", name, has, err)
		case !tc.flag && !errors.As(err, &de):
			t.Errorf("%s: allergy flag allowed (%v)", name, err)
		}
		c, err := tc.who.Chart(ctx, r.patient.ID)
		switch {
		case tc.chart && (err != nil || len(c.Allergies) != 1):
			t.Errorf("%s: chart %v", name, err)
		case !tc.chart && (!errors.As(err, &de) || len(c.Allergies) != 0):
			t.Errorf("%s: chart allowed (%v)", name, err)
		}
		if _, err := tc.who.Allergies(ctx, r.patient.ID, false); tc.chart != (err == nil) {
			t.Errorf("%s: allergy list: %v", name, err)
		}
	}
	// A merged-away id leads to the record kept.
	if _, err := r.fd.MergePatients(ctx, r.patient.ID, r.other.ID); err != nil {
		t.Fatal(err)
	}
	_, err := r.doc.Chart(ctx, r.other.ID)
	var me *store.MergedError
	if !errors.As(err, &me) || me.Into != r.patient.ID || !errors.Is(err, store.ErrNotFound) {
		t.Errorf("chart of a merged-away id: %v", err)
	}
	if e := lastEntry(t, r.c); e.Outcome != audit.OutcomeFailure || e.Detail != "not found" {
		t.Errorf("merged-away chart audited as %+v", e)
	}
}

// Work on a restricted patient's records by their own ids (a note, an
// allergy) is held to the restriction like work that names the patient.
func TestRestrictedChartByRecordID(t *testing.T) {
	ctx := context.Background()
	r := newRecordsClinic(t)
	n, err := r.doc.WriteNote(ctx, NewNote{PatientID: r.patient.ID, Text: "draft"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.doc.SignNote(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	al, err := r.doc.AddAllergy(ctx, NewAllergy{PatientID: r.patient.ID, Substance: "latex"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.root.RestrictPatient(ctx, r.patient.ID, []string{"doc"}); err != nil {
		t.Fatal(err)
	}
	for name, try := range map[string]func(s *Session) error{
		"amend":   func(s *Session) error { _, err := s.AmendNote(ctx, n.ID, "x"); return err },
		"allergy": func(s *Session) error { _, err := s.SetAllergyStatus(ctx, al.ID, store.AllergyInactive); return err },
		"history": func(s *Session) error { _, err := s.History(ctx, "note", n.ID); return err },
		"chart":   func(s *Session) error { _, err := s.Chart(ctx, r.patient.ID); return err },
		"notes":   func(s *Session) error { _, err := s.Notes(ctx, r.patient.ID); return err },
	} {
		err := try(r.doc2)
		var de *DeniedError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "restricted") {
			t.Errorf("%s by a clinician not named: %v", name, err)
		}
		e := lastEntry(t, r.c)
		if e.Patient != r.patient.ID || e.Outcome == audit.OutcomeSuccess || e.User != r.doc2.User().ID {
			t.Errorf("%s refusal audited as %+v", name, e)
		}
		if err := try(r.doc); err != nil {
			t.Errorf("%s by the named clinician: %v", name, err)
		}
	}
	// The appointment desk is not the chart: booking still works.
	if _, err := r.fd.BookAppointment(ctx, NewAppointment{PatientID: r.patient.ID, Clinician: "doc2", At: time.Now().Add(time.Hour)}); err != nil {
		t.Errorf("booking a restricted patient: %v", err)
	}
}

// Validation speaks to the person at the desk and names the field.
func TestRecordValidation(t *testing.T) {
	ctx := context.Background()
	r := newRecordsClinic(t)
	future := time.Now().Add(24 * time.Hour)
	tooLong := strings.Repeat("x", MaxNoteLength+1)
	for _, tc := range []struct {
		field string
		run   func() error
	}{
		{"minutes", func() error {
			_, err := r.fd.BookAppointment(ctx, NewAppointment{PatientID: r.patient.ID, Clinician: "doc", At: future, Minutes: 2})
			return err
		}},
		{"time", func() error {
			_, err := r.fd.BookAppointment(ctx, NewAppointment{PatientID: r.patient.ID, Clinician: "doc"})
			return err
		}},
		{"clinician", func() error {
			_, err := r.fd.BookAppointment(ctx, NewAppointment{PatientID: r.patient.ID, At: future})
			return err
		}},
		{"note", func() error {
			_, err := r.doc.WriteNote(ctx, NewNote{PatientID: r.patient.ID, Text: tooLong})
			return err
		}},
		{"substance", func() error { _, err := r.doc.AddAllergy(ctx, NewAllergy{PatientID: r.patient.ID}); return err }},
		{"severity", func() error {
			_, err := r.doc.AddAllergy(ctx, NewAllergy{PatientID: r.patient.ID, Substance: "x", Severity: "extreme"})
			return err
		}},
		{"medication", func() error { _, err := r.doc.AddMedication(ctx, NewMedication{PatientID: r.patient.ID}); return err }},
		{"start date", func() error {
			_, err := r.doc.AddMedication(ctx, NewMedication{PatientID: r.patient.ID, Name: "x", StartedOn: "2999-01-01"})
			return err
		}},
		{"onset", func() error {
			_, err := r.doc.AddProblem(ctx, NewProblem{PatientID: r.patient.ID, Description: "x", Onset: "March"})
			return err
		}},
		{"problem", func() error { _, err := r.doc.AddProblem(ctx, NewProblem{PatientID: r.patient.ID}); return err }},
		{"kind", func() error { _, err := r.doc.History(ctx, "audit", "x"); return err }},
		{"birth date", func() error {
			d := "17/03/1984"
			_, err := r.fd.UpdatePatient(ctx, r.patient.ID, PatientChange{BirthDate: &d})
			return err
		}},
		{"MRN", func() error {
			_, err := r.fd.UpdatePatient(ctx, r.patient.ID, PatientChange{MRN: &r.other.MRN})
			return err
		}},
		{"duplicate", func() error { _, err := r.fd.MergePatients(ctx, r.patient.ID, r.patient.ID); return err }},
	} {
		if err := wantValidation(tc.run(), tc.field); err != nil {
			t.Error(err)
		}
	}
	// A note in another patient's encounter.
	e, err := r.doc.OpenEncounter(ctx, r.other.ID, "phone")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.doc.WriteNote(ctx, NewNote{PatientID: r.patient.ID, EncounterID: e.ID, Text: "x"})
	if wantValidation(err, "encounter") != nil {
		t.Errorf("note in another's encounter: %v", err)
	}
	// Unknown records are named in the error.
	if _, err := r.doc.SignNote(ctx, "no-such-note"); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "no note") {
		t.Errorf("signing an unknown note: %v", err)
	}
}

// The booking form's list of clinicians, closing a visit, throwing away a
// draft: each one audited entry, nothing left behind.
func TestCliniciansEncountersDrafts(t *testing.T) {
	ctx := context.Background()
	r := newRecordsClinic(t)
	cs, err := r.fd.Clinicians(ctx)
	if err != nil || len(cs) != 2 || cs[0].Username != "doc" || cs[0].PasswordHash != "" {
		t.Fatalf("clinicians %+v %v", cs, err)
	}
	n, err := r.doc.WriteNote(ctx, NewNote{PatientID: r.patient.ID, Text: "wrong patient, sorry"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.doc2.DiscardDraft(ctx, n.ID); err == nil {
		t.Error("another clinician discarded a draft")
	}
	before := len(auditEntries(t, r.c))
	if err := r.doc.DiscardDraft(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	if e := auditEntries(t, r.c)[before:]; len(e) != 1 || e[0].Action != string(ActNoteWrite) || e[0].Patient != r.patient.ID {
		t.Errorf("discard audited as %+v", e)
	}
	if l, err := r.doc.Notes(ctx, r.patient.ID); err != nil || len(l.Threads) != 0 {
		t.Errorf("a discarded draft is listed: %+v %v", l, err)
	}
	if vs, err := r.doc.History(ctx, "note", n.ID); err != nil || len(vs) != 2 || vs[1].Op != "delete" {
		t.Errorf("history of a discarded draft: %+v %v", vs, err)
	}
	e, err := r.doc.CloseEncounter(ctx, n.EncounterID)
	if err != nil || e.Status != store.EncounterClosed {
		t.Fatalf("close: %+v %v", e, err)
	}
	var se *store.StatusError
	if _, err := r.doc.CloseEncounter(ctx, n.EncounterID); !errors.As(err, &se) {
		t.Errorf("closing twice: %v", err)
	}
}
