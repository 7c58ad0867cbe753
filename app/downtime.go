package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"ward/emergency"
	"ward/store"
)

// DowntimeSummary is the printable downtime summary (a PDF) of a day's
// schedule: one clinician's (username or id) or, with clinician "",
// everyone's. Each patient's active allergies, medications, problems and
// the opening of their last signed note, so the clinic can work on paper
// if every screen goes dark. A restricted chart this person may not open is
// listed as not included. It is read in one transaction with one audit
// entry, which names the day and the patients by id, never by name.
//
// The document is patient information on purpose: whoever saves it keeps
// it safe (0600) and destroys it after the outage.
func (s *Session) DowntimeSummary(ctx context.Context, day time.Time, clinician string) ([]byte, error) {
	d := emergency.Downtime{Clinic: s.clinic.Name(), Day: day, Whose: "all clinicians",
		PrintedAt: s.clinic.now().In(day.Location()), PrintedBy: s.user.DisplayName}
	err := s.Do(ctx, ActDowntimeSummary, "", func(tx *store.Tx, w *Work) error {
		who := "all clinicians"
		id := ""
		if clinician != "" {
			c, err := clinicianFor(tx, clinician)
			if err != nil {
				return err
			}
			d.Whose, who, id = c.DisplayName, "clinician "+c.ID, c.ID
		}
		visits, err := tx.DaySchedule(day, id)
		if err != nil {
			return err
		}
		us, err := tx.Users()
		if err != nil {
			return err
		}
		names := displayNames(us)
		at := map[string]int{} // patient id → index in d.Patients
		var ids []string
		restricted := 0
		for _, v := range visits {
			if v.Status == store.AppointmentCancelled {
				continue
			}
			visit := emergency.DowntimeVisit{At: v.StartsAt.In(day.Location()), Clinician: v.ClinicianName,
				Status: strings.ReplaceAll(v.Status, "_", " "), Reason: v.Reason}
			if i, ok := at[v.PatientID]; ok {
				d.Patients[i].Visits = append(d.Patients[i].Visits, visit)
				continue
			}
			at[v.PatientID] = len(d.Patients)
			ids = append(ids, v.PatientID)
			// The chart is read here, in the door's own callback, like
			// every chart read (TestOneDoor).
			pt, err := tx.LivePatient(v.PatientID)
			if err != nil {
				return err
			}
			p := emergency.DowntimePatient{Name: pt.Name, MRN: pt.MRN, BirthDate: pt.BirthDate,
				Visits: []emergency.DowntimeVisit{visit}}
			if pt.Restricted {
				ok, err := tx.MayOpenRestricted(pt.ID, s.user.ID)
				if err != nil {
					return err
				}
				p.Restricted = !ok
			}
			if p.Restricted {
				restricted++
				d.Patients = append(d.Patients, p)
				continue
			}
			as, err := tx.Allergies(pt.ID, false)
			if err != nil {
				return err
			}
			ms, err := tx.Medications(pt.ID, false)
			if err != nil {
				return err
			}
			ps, err := tx.Problems(pt.ID, false)
			if err != nil {
				return err
			}
			threads, err := tx.Notes(pt.ID)
			if err != nil {
				return err
			}
			chartSummary(&p, as, ms, ps, threads, names)
			d.Patients = append(d.Patients, p)
		}
		w.Detail = fmt.Sprintf("downtime summary of %s for %s: %d patients (%d restricted, not included): %s",
			who, day.Format("2006-01-02"), len(ids), restricted, strings.Join(ids, ","))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return emergency.DowntimeSummary(d), nil
}

// chartSummary puts the active lists and the last signed note of a chart
// into p, as the lines the summary prints.
func chartSummary(p *emergency.DowntimePatient, as []store.Allergy, ms []store.Medication, ps []store.Problem,
	threads []store.NoteThread, names map[string]string) {
	for _, a := range as {
		p.Allergies = append(p.Allergies, joinNonEmpty(" — ", a.Substance, joinNonEmpty(" ", a.Reaction, parens(a.Severity))))
	}
	for _, m := range ms {
		line := joinNonEmpty(" ", m.Name, m.Dose, m.Route, m.Frequency)
		if m.StartedOn != "" {
			line += ", since " + m.StartedOn
		}
		p.Medications = append(p.Medications, line)
	}
	for _, pr := range ps {
		line := joinNonEmpty(" ", pr.Description, parens(pr.Code))
		if pr.Onset != "" {
			line += ", since " + pr.Onset
		}
		p.Problems = append(p.Problems, line)
	}
	var last store.Note
	for _, t := range threads {
		if n := t.Current(); n.Status == store.NoteSigned && n.SignedAt.After(last.SignedAt) {
			last = n
		}
	}
	if last.ID != "" {
		p.LastNote = &emergency.NoteSummary{SignedAt: last.SignedAt.Local(), Author: names[last.AuthorID],
			Lines: emergency.SummarizeNote(last.Body)}
	}
}

// joinNonEmpty joins the parts that are not empty.
func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}

// parens is "(s)", or "" for an empty s.
func parens(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}
