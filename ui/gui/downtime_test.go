package gui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ward/app"
	"ward/emergency/pdf/pdftest"
	"ward/store"
)

// A clinician prints the day's downtime summary from the Schedule tab: a
// private PDF with the day's patient; the front desk has no such button.
func TestScheduleDowntimeSummary(t *testing.T) {
	c := testClinic(t)
	doc := sessionOf(t, c, "clinician")
	p := registerPatient(t, doc, "Inès Moreau", "1988-07-14")
	if _, err := doc.AddAllergy(context.Background(), app.NewAllergy{PatientID: p.ID, Substance: "Latex"}); err != nil {
		t.Fatal(err)
	}
	tomorrow := startOfDay(time.Now()).AddDate(0, 0, 1)
	if _, err := doc.BookAppointment(context.Background(), app.NewAppointment{PatientID: p.ID, Clinician: "clinician",
		At: tomorrow.Add(9 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	u := newTestUI(t, c)
	sh := signInAs(t, u, "clinician")
	v := scheduleTab(t, u, sh)
	if v.print == nil || !strings.Contains(visibleText(u), "Print downtime summary") {
		t.Fatalf("no Print downtime summary button for a clinician:\n%s", visibleText(u))
	}
	tap(u, v.next)
	path := filepath.Join(t.TempDir(), "day.pdf")
	v.saveDowntime(path)
	u.settle()
	if !strings.Contains(v.message.Text, "Downtime summary saved to "+path) || !strings.Contains(v.message.Text, "patient information") {
		t.Errorf("message after saving: %q", v.message.Text)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the saved summary: %v %v", st, err)
	}
	b, _ := os.ReadFile(path)
	if info, text := pdftest.Read(t, b); info.Pages != 2 || !strings.Contains(text, "Inès Moreau") || !strings.Contains(text, "Latex") {
		t.Errorf("the summary of tomorrow: %d pages\n%s", info.Pages, text)
	}

	u2 := newTestUI(t, c)
	sh = signInAs(t, u2, "frontdesk")
	if v := scheduleTab(t, u2, sh); v.print != nil || strings.Contains(visibleText(u2), "Print downtime summary") {
		t.Error("the front desk is offered the downtime summary")
	}
}

// The outage banner shows while the clinic has another workstation this
// one has not heard from, and goes when there is none.
func TestOutageBanner(t *testing.T) {
	c := testClinic(t)
	ctx := context.Background()
	u := newTestUI(t, c)
	sh := signInAs(t, u, "admin")
	if sh.outage.Visible() {
		t.Fatalf("a workstation alone shows the outage banner: %q", sh.outage.Text)
	}

	// A second workstation admitted, never heard from.
	dir := t.TempDir()
	other, err := app.NewWorkstation(ctx, app.JoinOptions{Dir: dir, NodeName: "back-office", Keyring: store.OSKeyring{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		other.Close()
		acct, _ := store.KeyringAccount(dir)
		store.OSKeyring{}.Delete(acct)
	})
	admin := sessionOf(t, c, "admin")
	n := other.Node()
	if _, err := admin.ApproveNode(ctx, n.ID, n.Name, n.PublicKey); err != nil {
		t.Fatal(err)
	}
	u.checkOutage(sh)
	u.settle()
	if !sh.outage.Visible() || !strings.Contains(visibleText(u), "not heard from the clinic's other workstations") ||
		!strings.Contains(sh.outage.Text, "records changed on them are not shown here") {
		t.Fatalf("no outage banner with a silent peer: %q", sh.outage.Text)
	}

	if _, err := admin.RemoveNode(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	u.checkOutage(sh)
	u.settle()
	if sh.outage.Visible() {
		t.Errorf("the banner stays with no peer left: %q", sh.outage.Text)
	}
}

func TestOutageText(t *testing.T) {
	now := time.Date(2026, 5, 6, 14, 0, 0, 0, time.Local)
	f := app.Freshness{Now: now, Peers: 2, LastHeard: now.Add(-95 * time.Minute), StaleAfter: 30 * time.Minute}
	if got := outageText(f); got != "No contact with the other workstations since 12:25 (95 minutes ago): "+
		"records changed on other workstations since 12:25 are not shown here." {
		t.Errorf("outage text: %q", got)
	}
	f.LastHeard = now.Add(-50 * time.Hour)
	if got := outageText(f); !strings.Contains(got, "since Mon 4 May 12:00 (2 days ago)") {
		t.Errorf("outage text days ago: %q", got)
	}
}
