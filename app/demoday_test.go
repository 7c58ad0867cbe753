package app

import (
	"context"
	"errors"
	"testing"

	"ward/store"
)

// The demo's working day: a dozen appointments today with the demo
// clinician (seen, waiting, a no-show, booked), filled charts with a signed
// note, its signed amendment and a draft; done once a day, never in a real
// clinic.
func TestAddDemoDay(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c, _, err := InitDemo(ctx, dir, osKeyring)
	if err != nil {
		t.Fatal(err)
	}
	defer forgetKeys(dir)
	defer c.Close()
	admin := signIn(t, c, "admin", DemoPassword)
	ps := SyntheticPatients(20, 3, 30_000_000)
	if err := admin.ImportPatients(ctx, ps, nil); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 12)
	for i := range ids {
		ids[i] = ps[i].ID
	}
	if err := c.AddDemoDay(ctx, ids); err != nil {
		t.Fatal(err)
	}
	if err := c.AddDemoDay(ctx, ids); err != nil { // a second time: nothing more
		t.Fatal(err)
	}
	fd := signIn(t, c, "frontdesk", DemoPassword)
	visits, err := fd.DaySchedule(ctx, c.now(), "clinician")
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, v := range visits {
		count[v.Status]++
	}
	if len(visits) != 12 || count[store.AppointmentDone] != 2 || count[store.AppointmentCheckedIn] != 3 ||
		count[store.AppointmentNoShow] != 1 || count[store.AppointmentBooked] != 6 {
		t.Fatalf("today's schedule: %d visits, by status %v", len(visits), count)
	}
	doc := signIn(t, c, "clinician", DemoPassword)
	ch, err := doc.Chart(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Allergies) != 2 || len(ch.Medications) != 2 || len(ch.Problems) != 2 {
		t.Fatalf("first demo chart: %d allergies, %d medications, %d problems", len(ch.Allergies), len(ch.Medications), len(ch.Problems))
	}
	var signed, amended, drafts int
	for _, e := range ch.Encounters {
		for _, th := range e.Notes {
			last := th.Versions[len(th.Versions)-1]
			switch {
			case len(th.Versions) == 2 && last.Status == store.NoteSigned:
				amended++
			case last.Status == store.NoteSigned:
				signed++
			default:
				drafts++
			}
		}
	}
	if amended != 1 || drafts != 1 {
		t.Fatalf("first demo chart: %d amended, %d signed, %d draft notes", amended, signed, drafts)
	}
	// One visit's chart is restricted: the demo clinician is offered emergency access.
	var de *DeniedError
	if _, err := doc.Chart(ctx, ids[DemoRestrictedVisit]); !errors.As(err, &de) || !de.BreakGlass {
		t.Fatalf("the demo's restricted chart: %v", err)
	}

	real, _, _ := newClinic(t)
	if err := real.AddDemoDay(ctx, ids); !errors.Is(err, ErrNotDemo) {
		t.Fatalf("a real clinic: %v", err)
	}
}
