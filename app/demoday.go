package app

import (
	"context"
	"time"
)

// The demo clinic's working day: today's schedule for the demo clinician,
// booked and checked in by the front desk, and a few filled charts, written
// by the clinician. Everything goes through the same services (and so the
// same door and audit chain) a person at the desk would use, signed in as
// that person.

// demoVisits are the reasons of today's demo appointments, from 08:30
// every 30 minutes.
var demoVisits = []string{"Blood pressure review", "Asthma follow-up", "Low back pain", "Annual check-up",
	"Vaccination", "Diabetes review", "Prescription renewal", "Skin rash", "Knee pain", "Headaches",
	"Post-operative check", "Medication review"}

// demoChart is one filled chart of the demo.
type demoChart struct {
	allergies   []NewAllergy
	medications []NewMedication
	problems    []NewProblem
	signed      string // a signed visit note ("" = none)
	amendment   string // an amendment of it, signed too ("" = none)
	draft       string // a draft note, not yet signed ("" = none)
}

var demoCharts = []demoChart{
	{
		allergies: []NewAllergy{{Substance: "Penicillin", Reaction: "Hives and swelling of the lips", Severity: "severe"},
			{Substance: "Latex", Reaction: "Contact rash", Severity: "mild"}},
		medications: []NewMedication{{Name: "Amlodipine", Dose: "5 mg", Route: "oral", Frequency: "once daily", StartedOn: "2024-03-01"},
			{Name: "Metformin", Dose: "500 mg", Route: "oral", Frequency: "twice daily with meals", StartedOn: "2021-06-14"}},
		problems: []NewProblem{{Description: "Essential hypertension", Code: "I10", Onset: "2019"},
			{Description: "Type 2 diabetes mellitus", Code: "E11.9", Onset: "2021-06"}},
		signed: "Blood pressure review. Home readings 135–145/85–90 over the last month. No chest pain, no " +
			"shortness of breath. BP today 142/88, pulse 72 regular. Plan: continue amlodipine 5 mg, " +
			"recheck in 4 weeks with home readings; HbA1c due next visit.",
		amendment: "Blood pressure review. Home readings 135–145/85–90 over the last month. No chest pain, no " +
			"shortness of breath. BP today 142/88, pulse 72 regular. Plan: continue amlodipine 5 mg, " +
			"recheck in 4 weeks with home readings; HbA1c due next visit.\n\nAmendment: the patient " +
			"reports ankle swelling since the dose change; to be reviewed at the next visit.",
		draft: "Phone call: patient asks about travel vaccinations for a trip in the spring. To discuss at the next visit.",
	},
	{
		allergies:   []NewAllergy{{Substance: "Peanuts", Reaction: "Anaphylaxis", Severity: "severe"}},
		medications: []NewMedication{{Name: "Salbutamol inhaler", Dose: "100 micrograms, 2 puffs", Route: "inhaled", Frequency: "as needed"}},
		problems:    []NewProblem{{Description: "Asthma", Code: "J45.909", Onset: "2010"}},
		signed: "Asthma follow-up. Using the reliever twice a week, mostly after exercise. Chest clear, peak flow " +
			"420 L/min (best 450). Adrenaline auto-injector in date. Plan: no change; review in 6 months.",
	},
	{
		medications: []NewMedication{{Name: "Sertraline", Dose: "50 mg", Route: "oral", Frequency: "once daily", StartedOn: "2025-01-20"}},
		problems:    []NewProblem{{Description: "Low back pain", Onset: "2025-09"}},
		draft:       "Low back pain for three weeks after lifting at work, no leg symptoms. Examination to follow.",
	},
}

// AddDemoDay gives the demo clinic today's work: a dozen appointments with
// the demo clinician (some checked in, some seen) for the given patients,
// and filled charts (allergies, medications, problems, a signed note with
// an amendment, drafts) for the first of them. One patient of the day
// (DemoRestrictedVisit) has a restricted chart, named for nobody, so that
// emergency access can be tried. It does nothing when the
// clinician already has appointments today, and refuses a real clinic.
func (c *Clinic) AddDemoDay(ctx context.Context, patientIDs []string) error {
	if demo, err := c.IsDemo(ctx); err != nil {
		return err
	} else if !demo {
		return ErrNotDemo
	}
	desk, err := c.SignIn(ctx, DemoUsers[1].Username, DemoPassword)
	if err != nil {
		return err
	}
	defer desk.SignOut(ctx)
	clinician := DemoUsers[2].Username
	now := c.now()
	today, err := desk.DaySchedule(ctx, now, clinician)
	if err != nil || len(today) > 0 {
		return err
	}
	start := time.Date(now.Year(), now.Month(), now.Day(), 8, 30, 0, 0, now.Location())
	for i, reason := range demoVisits {
		if i >= len(patientIDs) {
			break
		}
		a, err := desk.BookAppointment(ctx, NewAppointment{PatientID: patientIDs[i], Clinician: clinician,
			At: start.Add(time.Duration(i) * 30 * time.Minute), Minutes: 20, Reason: reason})
		switch {
		case err != nil:
		case i < 2: // seen already
			if _, err = desk.CheckIn(ctx, a.ID); err == nil {
				_, err = desk.CompleteAppointment(ctx, a.ID)
			}
		case i < 5: // in the waiting room
			_, err = desk.CheckIn(ctx, a.ID)
		case i == 5:
			_, err = desk.NoShow(ctx, a.ID)
		}
		if err != nil {
			return err
		}
	}
	doc, err := c.SignIn(ctx, clinician, DemoPassword)
	if err != nil {
		return err
	}
	defer doc.SignOut(ctx)
	for i, ch := range demoCharts {
		if i >= len(patientIDs) {
			break
		}
		if err := doc.fillDemoChart(ctx, patientIDs[i], ch); err != nil {
			return err
		}
	}
	if DemoRestrictedVisit < len(patientIDs) {
		sec, err := c.SignIn(ctx, DemoUsers[3].Username, DemoPassword)
		if err != nil {
			return err
		}
		defer sec.SignOut(ctx)
		return sec.RestrictPatient(ctx, patientIDs[DemoRestrictedVisit], nil)
	}
	return nil
}

// DemoRestrictedVisit is the demo day's visit (0-based, in the waiting
// room) whose chart is restricted: the demo clinician needs emergency
// access to open it.
const DemoRestrictedVisit = 3

// fillDemoChart writes one demo chart as the signed-in clinician.
func (s *Session) fillDemoChart(ctx context.Context, pid string, ch demoChart) error {
	for _, a := range ch.allergies {
		a.PatientID = pid
		if _, err := s.AddAllergy(ctx, a); err != nil {
			return err
		}
	}
	for _, m := range ch.medications {
		m.PatientID = pid
		if _, err := s.AddMedication(ctx, m); err != nil {
			return err
		}
	}
	for _, p := range ch.problems {
		p.PatientID = pid
		if _, err := s.AddProblem(ctx, p); err != nil {
			return err
		}
	}
	if ch.signed != "" {
		n, err := s.WriteNote(ctx, NewNote{PatientID: pid, Text: ch.signed})
		if err == nil {
			_, err = s.SignNote(ctx, n.ID)
		}
		if err == nil && ch.amendment != "" {
			if n, err = s.AmendNote(ctx, n.ID, ch.amendment); err == nil {
				_, err = s.SignNote(ctx, n.ID)
			}
		}
		if err != nil {
			return err
		}
	}
	if ch.draft != "" {
		if _, err := s.WriteNote(ctx, NewNote{PatientID: pid, Text: ch.draft}); err != nil {
			return err
		}
	}
	return nil
}
