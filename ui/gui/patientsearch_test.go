package gui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"ward/app"
	"ward/store"
)

// Typing a name shows matching patients as the person types; Enter picks
// the first; the search is audited without the words typed.
func TestPatientSearchAsYouType(t *testing.T) {
	c := testClinic(t)
	u := newTestUI(t, c)
	sh := signInAs(t, u, "frontdesk")
	ctx := context.Background()
	want, err := sh.s.RegisterPatient(ctx, app.NewPatient{Name: "Wilhelmina Quartermaine", BirthDate: "1961-04-02", Phone: "555-0142"})
	if err != nil {
		t.Fatal(err)
	}
	var chosen store.Patient
	ps := u.newPatientSearch(sh.s, func(p store.Patient) { chosen = p })
	u.win.SetContent(ps.content)
	for _, r := range "wilhel" {
		test.Type(ps.entry, string(r))
		u.settle()
	}
	if len(ps.results) != 1 || ps.results[0].ID != want.ID {
		t.Fatalf("results for %q: %+v", ps.entry.Text, ps.results)
	}
	if !strings.Contains(visibleText(u), "Wilhelmina Quartermaine") {
		t.Fatal("the match is not on screen")
	}
	test.Type(ps.entry, "zzz")
	u.settle()
	if len(ps.results) != 0 || !strings.Contains(ps.status.Text, "No patient matches") {
		t.Fatalf("after a miss: %d results, status %q", len(ps.results), ps.status.Text)
	}
	ps.entry.SetText("555-0142")
	u.settle()
	ps.entry.TypedKey(&fyneKeyReturn)
	if chosen.ID != want.ID {
		t.Fatalf("Enter chose %+v", chosen)
	}
	if got := auditActions(t, c); strings.Contains(got, "Wilhel") || !strings.Contains(got, " patient.search success ") {
		t.Fatalf("audit of the searches: %s", got)
	}
}
