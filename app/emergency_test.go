package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"ward/emergency"
	"ward/store"
	"ward/store/audit"
)

// entriesWithGrant are the chain's entries made under grant id.
func entriesWithGrant(t *testing.T, c *Clinic, id string) []audit.Entry {
	var out []audit.Entry
	for _, e := range auditEntries(t, c) {
		if e.Grant == id {
			out = append(out, e)
		}
	}
	return out
}

// TestBreakGlassLifecycle: a clinician denied a restricted chart opens it by
// break-glass with a reason; the grant runs for the clinic's time on a fake
// clock, every access carries its id, it can be ended early, it expires by
// itself (and the workstation records the stop), it replicates to a second
// workstation, and a security officer there reviews it.
func TestBreakGlassLifecycle(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newClinic(t)
	clock := &fakeClock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	c.SetClock(clock)
	people := staff(t, c)
	doc, officer, admin := people[RoleClinician], people[RoleSecurity], people[RoleAdmin]
	p, err := people[RoleFrontDesk].RegisterPatient(ctx, NewPatient{Name: "Vip Patient", BirthDate: "1970-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	if err := officer.RestrictPatient(ctx, p.ID, []string{"root"}); err == nil {
		t.Fatal("root (not a clinician) was named")
	}
	admin.AddUser(ctx, NewUser{Username: "dr-named", Roles: []string{RoleClinician}, Password: "named clinician pw"})
	if err := officer.RestrictPatient(ctx, p.ID, []string{"dr-named"}); err != nil {
		t.Fatal(err)
	}

	// Denied, and told that emergency access is the way in.
	_, err = doc.Allergies(ctx, p.ID, false)
	var de *DeniedError
	if !errors.As(err, &de) || !de.BreakGlass {
		t.Fatalf("restricted chart: %v (break-glass offered: %v)", err, de != nil && de.BreakGlass)
	}
	// No reason, or "other" without words: refused, nothing granted.
	for _, bad := range [][2]string{{"", ""}, {emergency.ReasonOther, "  "}, {"because", ""}} {
		if _, err := doc.BreakGlass(ctx, p.ID, bad[0], bad[1]); wantValidation(err, "reason") != nil {
			t.Errorf("reason %q/%q: %v", bad[0], bad[1], err)
		}
	}
	if _, err := doc.Allergies(ctx, p.ID, false); !errors.As(err, &de) {
		t.Fatal("a refused break-glass opened the chart")
	}
	// Someone who can already open the chart needs no grant.
	named := signIn(t, c, "dr-named", "named clinician pw")
	if _, err := named.BreakGlass(ctx, p.ID, emergency.ReasonTreatment, ""); !errors.Is(err, ErrGrantNotNeeded) {
		t.Errorf("named clinician break-glass: %v", err)
	}

	g, err := doc.BreakGlass(ctx, p.ID, emergency.ReasonUnconscious, "brought in by ambulance")
	if err != nil {
		t.Fatal(err)
	}
	if !g.Expires.Equal(clock.Now().Add(60*time.Minute)) || g.ReasonText != "brought in by ambulance" {
		t.Fatalf("grant %+v", g)
	}
	start := lastEntry(t, c)
	if start.Action != string(ActEmergencyStart) || start.Grant != g.ID || start.Patient != p.ID ||
		strings.Contains(start.Detail, "ambulance") {
		t.Fatalf("start audited as %+v (free text must stay out of the chain)", start)
	}
	if _, err := doc.BreakGlass(ctx, p.ID, emergency.ReasonTreatment, ""); err == nil {
		t.Error("a second grant started while one runs")
	}
	clock.Advance(10 * time.Minute)
	if _, err := doc.Allergies(ctx, p.ID, false); err != nil {
		t.Fatalf("chart under the grant: %v", err)
	}
	if e := lastEntry(t, c); e.Action != string(ActChartRead) || e.Grant != g.ID {
		t.Fatalf("chart read under the grant audited as %+v", e)
	}
	if rg, ok := doc.RunningGrant(p.ID); !ok || rg.ID != g.ID {
		t.Fatalf("running grant for the banner: %+v %v", rg, ok)
	}
	// A write under the grant carries it too.
	if _, err := doc.AddAllergy(ctx, NewAllergy{PatientID: p.ID, Substance: "Latex", Severity: "severe"}); err != nil {
		t.Fatal(err)
	}
	if e := lastEntry(t, c); e.Grant != g.ID {
		t.Fatalf("write under the grant: %+v", e)
	}
	// Only the holder ends it early; the officer cannot review their own... nor end the holder's.
	if _, err := officer.EndGrant(ctx, g.ID); !errors.As(err, &de) {
		t.Errorf("someone else ended the grant: %v", err)
	}

	// Expiry on the fake clock: access stops at the minute, and the
	// workstation records the stop.
	clock.Advance(50 * time.Minute)
	doc.Touch() // the clinician kept working (the session would idle-lock otherwise)
	if _, err := doc.Allergies(ctx, p.ID, false); !errors.As(err, &de) {
		t.Fatalf("chart open after expiry: %v", err)
	}
	if _, ok := doc.RunningGrant(p.ID); ok {
		t.Error("the banner still shows an expired grant")
	}
	if n, err := c.closeLapsedGrants(ctx); err != nil || n != 1 {
		t.Fatalf("closing lapsed grants: %d %v", n, err)
	}
	if n, _ := c.closeLapsedGrants(ctx); n != 0 {
		t.Error("a lapsed grant was closed twice")
	}
	es := entriesWithGrant(t, c, g.ID)
	if last := es[len(es)-1]; last.Action != string(ActEmergencyEnd) || last.User != SystemUser || last.Detail != "emergency access expired" {
		t.Fatalf("expiry audited as %+v", last)
	}
	// In the FHIR export, start and stop are DICOM 110113 with 110127 / 110128.
	officer.Touch()
	fhirPath := filepath.Join(t.TempDir(), "audit.fhir.json")
	if _, err := officer.ExportAudit(ctx, fhirPath, audit.FHIR, audit.Filter{}); err != nil {
		t.Fatal(err)
	}
	fhirText, _ := os.ReadFile(fhirPath)
	for _, code := range []string{`"code":"110113"`, `"code":"110127"`, `"code":"110128"`, `"ETREAT"`} {
		if !strings.Contains(string(fhirText), code) {
			t.Errorf("the FHIR export has no %s", code)
		}
	}

	// Early end: a second grant, ended by its holder.
	g2, err := doc.BreakGlass(ctx, p.ID, emergency.ReasonCovering, "")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Minute)
	doc.Touch()
	if _, err := doc.EndGrant(ctx, g2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := doc.Allergies(ctx, p.ID, false); !errors.As(err, &de) {
		t.Fatal("chart open after the grant ended")
	}
	if _, err := doc.EndGrant(ctx, g2.ID); err == nil {
		t.Error("a grant ended twice")
	}

	// The review queue: two pending, none overdue yet; 72 h later both are.
	officer.Touch()
	q, err := officer.EmergencyReviewQueue(ctx)
	if err != nil || q.Pending != 2 || q.Overdue != 0 {
		t.Fatalf("queue %+v %v", q, err)
	}
	clock.Advance(73 * time.Hour)
	for _, s := range []*Session{officer, doc, admin} {
		s.Touch()
	}
	if q, _ = officer.EmergencyReviewQueue(ctx); q.Overdue != 2 {
		t.Fatalf("queue after 73 h: %+v", q)
	}
	var nd *DeniedError
	if _, err := doc.EmergencyGrants(ctx, GrantFilter{}); !errors.As(err, &nd) {
		t.Error("a clinician read the review queue")
	}

	// Replicate to a second workstation; review there.
	b, _ := joinClinic(t, c, admin)
	b.SetClock(clock)
	officerB := signIn(t, b, "u-security", "security password")
	views, err := officerB.EmergencyGrants(ctx, GrantFilter{Unreviewed: true})
	if err != nil || len(views) != 2 {
		t.Fatalf("grants on B: %d %v", len(views), err)
	}
	byID := map[string]GrantView{}
	for _, v := range views {
		byID[v.ID] = v
	}
	if v := byID[g.ID]; v.State != emergency.Expired || v.Holder == "" || !strings.Contains(v.Patient, "Vip Patient") || !v.Overdue {
		t.Fatalf("grant as B's officer sees it: %+v", v)
	}
	if v := byID[g2.ID]; v.State != emergency.Ended {
		t.Fatalf("ended grant on B: %+v", v)
	}
	if _, err := officerB.ReviewGrant(ctx, g.ID, emergency.Appropriate, ""); wantValidation(err, "note") != nil {
		t.Errorf("review without a note: %v", err)
	}
	r, err := officerB.ReviewGrant(ctx, g.ID, emergency.Appropriate, "Seen in the emergency room that morning")
	if err != nil || r.Review == nil || r.Review.Disposition != emergency.Appropriate {
		t.Fatalf("review: %+v %v", r, err)
	}
	if e := lastEntry(t, b); e.Action != string(ActEmergencyReview) || e.Grant != g.ID {
		t.Fatalf("review audited as %+v", e)
	}
	// The review comes back to A.
	if _, err := b.ReplicaExport(ctx); err != nil {
		t.Fatal(err)
	}
	deliverAll(t, b, c)
	if _, err := c.ReplicaImport(ctx); err != nil {
		t.Fatal(err)
	}
	if q, _ := officer.EmergencyReviewQueue(ctx); q.Pending != 1 {
		t.Fatalf("queue on A after B's review: %+v", q)
	}
}

// TestBreakGlassRoles: who may break the glass is the clinic's setting; a
// role without the chart gets it to read, never to write.
func TestBreakGlassRoles(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newClinic(t)
	people := staff(t, c)
	desk := people[RoleFrontDesk]
	p, err := desk.RegisterPatient(ctx, NewPatient{Name: "Walk In", BirthDate: "1990-05-05"})
	if err != nil {
		t.Fatal(err)
	}
	var de *DeniedError
	if _, err := desk.BreakGlass(ctx, p.ID, emergency.ReasonTreatment, ""); !errors.As(err, &de) {
		t.Fatalf("front desk broke the glass without the clinic allowing it: %v", err)
	}
	if _, err := desk.Allergies(ctx, p.ID, false); !errors.As(err, &de) || de.BreakGlass {
		t.Fatalf("front desk offered break-glass it may not use: %v", err)
	}
	if err := people[RoleAdmin].SetSetting(ctx, SettingEmergencyRoles, "clinician,frontdesk"); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.Allergies(ctx, p.ID, false); !errors.As(err, &de) || !de.BreakGlass {
		t.Fatalf("front desk not offered break-glass: %v", err)
	}
	if e := lastEntry(t, c); e.Outcome != audit.OutcomeDenied || e.Detail != "role not permitted" {
		t.Fatalf("denial audited as %+v", e)
	}
	g, err := desk.BreakGlass(ctx, p.ID, emergency.ReasonOther, "doctor on the phone asked for the allergy list")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := desk.Allergies(ctx, p.ID, false); err != nil {
		t.Fatalf("read under the grant: %v", err)
	}
	if e := lastEntry(t, c); e.Grant != g.ID || e.User != desk.User().ID {
		t.Fatalf("read under the grant audited as %+v", e)
	}
	if _, err := desk.AddAllergy(ctx, NewAllergy{PatientID: p.ID, Substance: "Penicillin"}); !errors.As(err, &de) {
		t.Fatalf("front desk wrote the chart under a grant: %v", err)
	}
	// Another patient stays closed: the grant's scope is one patient.
	q, _ := desk.RegisterPatient(ctx, NewPatient{Name: "Other Person", BirthDate: "1991-06-06"})
	if _, err := desk.Allergies(ctx, q.ID, false); !errors.As(err, &de) {
		t.Fatal("a grant opened another patient's chart")
	}
	// The officer cannot review a grant of their own.
	officer := people[RoleSecurity]
	if err := people[RoleAdmin].SetRoles(ctx, "u-security", []string{RoleSecurity, RoleClinician}); err != nil {
		t.Fatal(err)
	}
	officer = signIn(t, c, "u-security", "security password")
	if err := officer.RestrictPatient(ctx, q.ID, nil); err != nil {
		t.Fatal(err)
	}
	own, err := officer.BreakGlass(ctx, q.ID, emergency.ReasonTreatment, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := officer.ReviewGrant(ctx, own.ID, emergency.Appropriate, "fine"); !errors.As(err, &de) {
		t.Fatalf("an officer reviewed their own grant: %v", err)
	}
}

// dirDigest hashes every file of a data folder, to show nothing changed.
func dirDigest(t *testing.T, dir string) string {
	h := sha256.New()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))
}

// TestEmergencyKitReadOnly: with the keyring entry gone, the recovery code
// opens the replica read-only for a named person: search and charts read
// (audited under the kit, naming the person), every write refused and
// audited. A wrong code is a clear error and changes nothing.
func TestEmergencyKitReadOnly(t *testing.T) {
	ctx := context.Background()
	c, dir, code := newClinic(t)
	people := staff(t, c)
	p, err := people[RoleFrontDesk].RegisterPatient(ctx, NewPatient{Name: "Kit Reader", BirthDate: "1960-03-03"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := people[RoleClinician].AddAllergy(ctx, NewAllergy{PatientID: p.ID, Substance: "Sulfa", Severity: "moderate"}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	forgetKeys(dir) // the keyring is gone
	kit := filepath.Join(dir, store.KitFileName)

	before := dirDigest(t, dir)
	if _, _, err := OpenEmergencyKit(ctx, dir, kit, "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE", "Nurse Ratched", osKeyring); err == nil ||
		!strings.Contains(err.Error(), "recovery code") {
		t.Fatalf("wrong code: %v", err)
	}
	if _, _, err := OpenEmergencyKit(ctx, dir, kit, code, "   ", osKeyring); !errors.Is(err, ErrKitPersonMissing) {
		t.Fatalf("no name: %v", err)
	}
	if after := dirDigest(t, dir); after != before {
		t.Fatal("a refused kit open changed the data folder")
	}

	kc, ks, err := OpenEmergencyKit(ctx, dir, kit, code, "Nurse  Ratched", osKeyring)
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	if !ks.ReadOnly() || ks.User().ID != EmergencyKitUser {
		t.Fatalf("kit session %+v", ks.User())
	}
	if acct, _ := store.KeyringAccount(dir); func() bool { _, err := osKeyring.Get(acct); return err == nil }() {
		t.Error("opening with the kit put the key back in the keyring")
	}
	ps, err := ks.SearchPatients(ctx, "kit reader", 5)
	if err != nil || len(ps) != 1 {
		t.Fatalf("search: %v %v", ps, err)
	}
	ch, err := ks.Chart(ctx, p.ID)
	if err != nil || len(ch.Allergies) != 1 {
		t.Fatalf("chart: %+v %v", ch.Allergies, err)
	}
	if e := lastEntry(t, kc); e.User != EmergencyKitUser || e.Action != string(ActChartRead) ||
		!strings.Contains(e.Detail, "read by Nurse Ratched") {
		t.Fatalf("chart read audited as %+v", e)
	}

	// Every action outside reading is refused and audited, whatever the table says.
	var acts []Action
	for a := range permissions {
		if !kitActions[a] {
			acts = append(acts, a)
		}
	}
	acts = append(acts, ActEmergencyStart, ActEmergencyEnd)
	sort.Slice(acts, func(i, j int) bool { return acts[i] < acts[j] })
	for _, act := range acts {
		ran := false
		err := ks.Do(ctx, act, p.ID, func(tx *store.Tx, w *Work) error { ran = true; return nil })
		var de *DeniedError
		if !errors.As(err, &de) || ran {
			t.Errorf("%s in a kit session: err=%v ran=%v", act, err, ran)
			continue
		}
		if e := lastEntry(t, kc); e.Action != string(act) || e.Outcome != audit.OutcomeDenied ||
			e.User != EmergencyKitUser || !strings.Contains(e.Detail, "Nurse Ratched") {
			t.Errorf("%s refusal audited as %+v", act, e)
		}
	}
	// And through the services a screen would call.
	if _, err := ks.RegisterPatient(ctx, NewPatient{Name: "New Person", BirthDate: "2000-01-01"}); err == nil {
		t.Error("a kit session registered a patient")
	}
	if _, err := ks.AddAllergy(ctx, NewAllergy{PatientID: p.ID, Substance: "Latex"}); err == nil {
		t.Error("a kit session wrote the chart")
	}
	if _, err := ks.BreakGlass(ctx, p.ID, emergency.ReasonTreatment, ""); err == nil {
		t.Error("a kit session broke the glass")
	}
	if ch, _ := ks.Chart(ctx, p.ID); len(ch.Allergies) != 1 {
		t.Error("the chart changed under a read-only session")
	}
}
