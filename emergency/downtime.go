package emergency

import (
	"fmt"
	"strings"
	"time"

	"ward/emergency/pdf"
)

// Downtime is a day's schedule with what a clinician needs of each
// patient's chart to work on paper when every screen is dark. app gathers
// it through the audited door; DowntimeSummary only lays it out.
type Downtime struct {
	Clinic    string
	Day       time.Time // the schedule's day (its date in its location)
	Whose     string    // "all clinicians" or a clinician's name
	PrintedAt time.Time
	PrintedBy string // the signed-in person's display name
	Patients  []DowntimePatient
}

// DowntimePatient is one patient of the day: their visits, and the chart
// summary unless Restricted.
type DowntimePatient struct {
	Visits    []DowntimeVisit
	Name      string
	MRN       string
	BirthDate string // YYYY-MM-DD
	// Restricted: the chart is restricted and this person may not open it,
	// so nothing of it is printed.
	Restricted  bool
	Allergies   []string // active, as lines ("Penicillin — hives (severe)")
	Medications []string // active
	Problems    []string // active
	LastNote    *NoteSummary
}

// DowntimeVisit is an appointment on the day.
type DowntimeVisit struct {
	At        time.Time
	Clinician string
	Status    string
	Reason    string
}

// NoteSummary is the opening of the last signed note.
type NoteSummary struct {
	SignedAt time.Time
	Author   string
	Lines    []string
}

// NoteSummaryLines is how many lines of the last note the summary keeps.
const NoteSummaryLines = 6

// SummarizeNote keeps the first non-empty lines of a note's text, up to
// NoteSummaryLines, each cut to a printable length.
func SummarizeNote(body string) []string {
	const maxLine = 300
	var out []string
	for _, l := range strings.Split(body, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if r := []rune(l); len(r) > maxLine {
			l = string(r[:maxLine]) + "…"
		}
		if out = append(out, l); len(out) == NoteSummaryLines {
			break
		}
	}
	return out
}

// RestrictedNotice is what stands on a restricted patient's page instead
// of the chart.
const RestrictedNotice = "restricted chart — not included"

// DowntimeSummary lays out the day as a PDF: the day's list first, then one
// page per patient. Every page says it holds patient information.
func DowntimeSummary(d Downtime) []byte {
	day := d.Day.Format("Monday 2 January 2006")
	doc := pdf.New(pdf.A4, "Downtime summary — "+day, d.PrintedAt,
		fmt.Sprintf("Ward downtime summary · %s · %s · printed %s", d.Clinic, d.Day.Format("2006-01-02"),
			d.PrintedAt.Format("2006-01-02 15:04")))
	confidential := func() {
		doc.Banner(10, pdf.Red, "CONFIDENTIAL — patient information for use during a system outage. "+
			"Keep it with you, enter what you do into Ward when it is back, then shred this paper.")
	}

	confidential()
	doc.Heading(18, "Downtime summary — "+d.Clinic)
	doc.Text(pdf.Helvetica, 11, fmt.Sprintf("Schedule of %s for %s. Printed %s by %s.", d.Whose, day,
		d.PrintedAt.Format("2006-01-02 15:04"), d.PrintedBy))
	doc.Space(6)
	if len(d.Patients) == 0 {
		doc.Text(pdf.Helvetica, 11, "No appointments on this day.")
	}
	for _, p := range d.Patients {
		for _, v := range p.Visits {
			doc.Item(pdf.Helvetica, 11, fmt.Sprintf("%s  %s (MRN %s) with %s — %s", v.At.Format("15:04"), p.Name, p.MRN,
				v.Clinician, v.Status))
		}
	}

	for _, p := range d.Patients {
		doc.NewPage()
		confidential()
		doc.Heading(18, p.Name)
		doc.Text(pdf.Helvetica, 11, fmt.Sprintf("Born %s · MRN %s", p.BirthDate, p.MRN))
		for _, v := range p.Visits {
			line := fmt.Sprintf("%s with %s (%s)", v.At.Format("15:04"), v.Clinician, v.Status)
			if v.Reason != "" {
				line += ": " + v.Reason
			}
			doc.Text(pdf.Helvetica, 11, line)
		}
		if p.Restricted {
			doc.Space(8)
			doc.Banner(12, pdf.Grey, strings.ToUpper(RestrictedNotice[:1])+RestrictedNotice[1:]+
				". Only the clinicians named for this patient may see it; in an emergency, use emergency access when Ward is back.")
			continue
		}
		section(doc, "Allergies", p.Allergies, "No active allergy recorded (ask the patient).")
		section(doc, "Medications", p.Medications, "No active medication recorded.")
		section(doc, "Problems", p.Problems, "No active problem recorded.")
		doc.Heading(13, "Last signed note")
		if p.LastNote == nil {
			doc.Text(pdf.Helvetica, 11, "No signed note.")
			continue
		}
		doc.Text(pdf.Helvetica, 10, fmt.Sprintf("Signed %s by %s (first lines):", p.LastNote.SignedAt.Format("2006-01-02 15:04"),
			p.LastNote.Author))
		for _, l := range p.LastNote.Lines {
			doc.Indented(pdf.Helvetica, 11, 12, l)
		}
	}
	return doc.Bytes()
}

// section is a heading and its list, or a sentence when the list is empty.
func section(doc *pdf.Doc, title string, items []string, none string) {
	doc.Heading(13, title)
	if len(items) == 0 {
		doc.Text(pdf.Helvetica, 11, none)
	}
	for _, it := range items {
		doc.Item(pdf.Helvetica, 11, it)
	}
}
