package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"ward/emergency/pdf/pdftest"
)

func TestDowntimeSummary(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newClinic(t)
	admin := signIn(t, c, "root", adminPW)
	for _, u := range []NewUser{
		{Username: "doc", Name: "Dr Núñez", Roles: []string{RoleClinician, RoleFrontDesk}, Password: "doctor password"},
		{Username: "doc2", Name: "Dr Other", Roles: []string{RoleClinician}, Password: "other doctor password"},
		{Username: "desk", Name: "Desk", Roles: []string{RoleFrontDesk}, Password: "front desk password"},
	} {
		if _, err := admin.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	doc := signIn(t, c, "doc", "doctor password")
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	full, err := doc.RegisterPatient(ctx, NewPatient{Name: "Jürgen Müller", BirthDate: "1950-02-03"})
	must(full, err)
	must(doc.AddAllergy(ctx, NewAllergy{PatientID: full.ID, Substance: "Penicillin", Reaction: "hives", Severity: "severe"}))
	must(doc.AddMedication(ctx, NewMedication{PatientID: full.ID, Name: "Metformin", Dose: "500 mg", Frequency: "twice daily"}))
	must(doc.AddProblem(ctx, NewProblem{PatientID: full.ID, Description: "Type 2 diabetes", Code: "E11.9"}))
	old, err := doc.WriteNote(ctx, NewNote{PatientID: full.ID, Text: "Old note, superseded."})
	must(old, err)
	must(doc.SignNote(ctx, old.ID))
	time.Sleep(1100 * time.Millisecond) // signed times are in seconds: the next note is later
	n, err := doc.WriteNote(ctx, NewNote{PatientID: full.ID, Text: "BP 150/90.\n\nRecheck in two weeks."})
	must(n, err)
	must(doc.SignNote(ctx, n.ID))
	must(doc.WriteNote(ctx, NewNote{PatientID: full.ID, Text: "Unsigned draft, not printed."}))

	hidden, err := doc.RegisterPatient(ctx, NewPatient{Name: "Hidden Person", BirthDate: "1980-01-01"})
	must(hidden, err)
	must(doc.AddAllergy(ctx, NewAllergy{PatientID: hidden.ID, Substance: "Secret allergen"}))
	empty, err := doc.RegisterPatient(ctx, NewPatient{Name: "Zoë Empty", BirthDate: "2001-12-31"})
	must(empty, err)
	gone, err := doc.RegisterPatient(ctx, NewPatient{Name: "Cancelled Patient", BirthDate: "1999-09-09"})
	must(gone, err)

	sec := signIn(t, c, "root", adminPW) // root is also the security officer
	if err := sec.RestrictPatient(ctx, hidden.ID, []string{"doc2"}); err != nil {
		t.Fatal(err)
	}
	day := startOfDay(time.Now()).AddDate(0, 0, 1)
	book := func(p string, hour int, clinician string) string {
		a, err := doc.BookAppointment(ctx, NewAppointment{PatientID: p, Clinician: clinician, At: day.Add(time.Duration(hour) * time.Hour)})
		must(a, err)
		return a.ID
	}
	book(full.ID, 9, "doc")
	book(hidden.ID, 10, "doc")
	book(empty.ID, 11, "doc2")
	book(full.ID, 15, "doc") // a second visit: still one page
	must(doc.CancelAppointment(ctx, book(gone.ID, 12, "doc")))

	before := len(auditEntries(t, c))
	b, err := doc.DowntimeSummary(ctx, day, "")
	if err != nil {
		t.Fatal(err)
	}
	info, text := pdftest.Read(t, b)
	if info.Pages != 4 {
		t.Fatalf("3 patients on %d pages, want the list and one page each:\n%s", info.Pages, text)
	}
	pages := strings.Split(text, "\f")
	for i, want := range [][]string{
		{"Test Clinic", "all clinicians", "Dr Núñez"},
		{"Jürgen Müller", "Born 1950-02-03", "09:00 with Dr Núñez", "15:00 with Dr Núñez", "Penicillin — hives (severe)",
			"Metformin 500 mg twice daily", "Type 2 diabetes (E11.9)", "BP 150/90.", "Recheck in two weeks."},
		{"Hidden Person", "Restricted chart — not included"},
		{"Zoë Empty", "No active allergy recorded", "No signed note"},
	} {
		for _, w := range want {
			if !strings.Contains(pages[i], w) {
				t.Errorf("page %d lacks %q:\n%s", i+1, w, pages[i])
			}
		}
	}
	for _, never := range []string{"Secret allergen", "Old note", "Unsigned draft", "Cancelled Patient"} {
		if strings.Contains(text, never) {
			t.Errorf("the summary shows %q", never)
		}
	}

	// One audit entry for the whole document: how many, which ids, no names.
	es := auditEntries(t, c)[before:]
	if len(es) != 1 || es[0].Action != string(ActDowntimeSummary) || es[0].User != doc.User().ID {
		t.Fatalf("audit entries for the summary: %+v", es)
	}
	d := es[0].Detail
	if !strings.Contains(d, "3 patients (1 restricted, not included)") || !strings.Contains(d, full.ID) ||
		!strings.Contains(d, hidden.ID) || strings.Contains(d, "Müller") || strings.Contains(d, "Hidden") {
		t.Errorf("audit detail: %q", d)
	}

	// doc2 is named for the restricted patient: they see that chart; one
	// clinician's day holds only theirs.
	doc2 := signIn(t, c, "doc2", "other doctor password")
	b, err = doc2.DowntimeSummary(ctx, day, "doc2")
	if err != nil {
		t.Fatal(err)
	}
	if info, text := pdftest.Read(t, b); info.Pages != 2 || !strings.Contains(text, "Zoë Empty") || strings.Contains(text, "Müller") {
		t.Errorf("doc2's own day: %d pages\n%s", info.Pages, text)
	}
	b, err = doc2.DowntimeSummary(ctx, day, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, text := pdftest.Read(t, b); !strings.Contains(text, "Secret allergen") {
		t.Errorf("the named clinician does not see the restricted chart:\n%s", text)
	}

	// Only clinicians print it; a wrong clinician is a clear error.
	desk := signIn(t, c, "desk", "front desk password")
	var de *DeniedError
	if _, err := desk.DowntimeSummary(ctx, day, ""); !errors.As(err, &de) {
		t.Errorf("front desk printed a downtime summary: %v", err)
	}
	var ve *ValidationError
	if _, err := doc.DowntimeSummary(ctx, day, "nobody"); !errors.As(err, &ve) {
		t.Errorf("unknown clinician: %v", err)
	}
}
