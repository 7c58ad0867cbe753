package emergency

import (
	"strings"
	"testing"
	"time"

	"ward/emergency/pdf/pdftest"
)

func TestDowntimeSummaryOnePatientPerPage(t *testing.T) {
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	d := Downtime{Clinic: "Clínica Norte", Day: day, Whose: "all clinicians", PrintedAt: day.Add(7 * time.Hour),
		PrintedBy: "Dr Ana Núñez",
		Patients: []DowntimePatient{
			{Name: "Jürgen Müller", MRN: "100001", BirthDate: "1950-02-03",
				Visits:      []DowntimeVisit{{At: day.Add(9 * time.Hour), Clinician: "Dr Ana Núñez", Status: "booked", Reason: "follow-up"}},
				Allergies:   []string{"Penicillin — hives (severe)"},
				Medications: []string{"Metformin 500 mg oral twice daily"},
				Problems:    []string{"Type 2 diabetes (E11.9), since 2019"},
				LastNote: &NoteSummary{SignedAt: day.Add(-48 * time.Hour), Author: "Dr Ana Núñez",
					Lines: SummarizeNote("\nBP 150/90, recheck in two weeks.\n\nFeet: no ulcers.")}},
			{Name: "Secret Person", MRN: "100002", BirthDate: "1980-01-01", Restricted: true,
				Visits: []DowntimeVisit{{At: day.Add(10 * time.Hour), Clinician: "Dr Ana Núñez", Status: "checked in"}}},
			{Name: "Zoë Empty", MRN: "100003", BirthDate: "2001-12-31",
				Visits: []DowntimeVisit{{At: day.Add(11 * time.Hour), Clinician: "Dr Bo", Status: "booked"}}},
		}}
	info, text := pdftest.Read(t, DowntimeSummary(d))
	if info.Pages != 4 {
		t.Fatalf("3 patients on %d pages, want the day's list and one page each", info.Pages)
	}
	pages := strings.Split(text, "\f")
	for i, want := range [][]string{
		{"CONFIDENTIAL", "Downtime summary — Clínica Norte", "Tuesday 24 November 2026", "Dr Ana Núñez",
			"09:00 Jürgen Müller (MRN 100001)", "10:00 Secret Person", "11:00 Zoë Empty", "page 1 of 4"},
		{"Jürgen Müller", "Born 1950-02-03", "09:00 with Dr Ana Núñez (booked): follow-up", "Penicillin — hives (severe)",
			"Metformin 500 mg", "Type 2 diabetes", "BP 150/90, recheck in two weeks.", "Feet: no ulcers.", "page 2 of 4"},
		{"Secret Person", "Restricted chart — not included", "page 3 of 4"},
		{"Zoë Empty", "No active allergy recorded", "No active medication recorded", "No signed note", "page 4 of 4"},
	} {
		for _, w := range want {
			if !strings.Contains(pages[i], w) {
				t.Errorf("page %d lacks %q:\n%s", i+1, w, pages[i])
			}
		}
	}
	if strings.Contains(pages[2], "Allergies") || strings.Contains(pages[2], "Last signed note") {
		t.Errorf("the restricted patient's page shows chart sections:\n%s", pages[2])
	}
}

func TestSummarizeNote(t *testing.T) {
	body := "\n\n one \ntwo\n\nthree\nfour\nfive\nsix\nseven\n" + strings.Repeat("x", 400)
	got := SummarizeNote(body)
	if len(got) != NoteSummaryLines || got[0] != "one" || got[5] != "six" {
		t.Errorf("summary: %q", got)
	}
	if long := SummarizeNote(strings.Repeat("é", 400)); len([]rune(long[0])) != 301 || !strings.HasSuffix(long[0], "…") {
		t.Errorf("a long line is not cut: %d runes", len([]rune(long[0])))
	}
}

func TestKitSheet(t *testing.T) {
	code := "ABCDE-FGHJK-MNPQR-STVWX-YZ012-34567"
	b := KitSheetPDF(KitSheet{Clinic: "Praxis Schön", NodeID: "n-1234", NodeName: "front-desk", KitFile: "/data/ward/ward.kit",
		Code: code, Made: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)})
	info, text := pdftest.Read(t, b)
	if info.Pages != 1 {
		t.Errorf("the kit sheet has %d pages", info.Pages)
	}
	flat := strings.Join(strings.Fields(text), " ")
	for _, w := range []string{"Emergency kit — Praxis Schön", "front-desk", "n-1234", "Friday 2 January 2026",
		"ABCDE FGHJK MNPQR", "STVWX YZ012 34567", "clinic's safe", "ward emergency open --kit FILE --data DIR",
		"ward restore --from BACKUP-FILE --data NEW-FOLDER", "/data/ward/ward.kit"} {
		if !strings.Contains(flat, w) {
			t.Errorf("the kit sheet lacks %q:\n%s", w, text)
		}
	}
}
