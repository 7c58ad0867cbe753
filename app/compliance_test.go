package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ward/emergency"
	"ward/store/audit"
)

// checkNamed finds a check of the report by name.
func checkNamed(t *testing.T, r emergency.Report, name string) emergency.Check {
	t.Helper()
	for _, s := range r.Standards {
		for _, c := range s.Checks {
			if c.Name == name {
				return c
			}
		}
	}
	t.Fatalf("the report has no check %q", name)
	return emergency.Check{}
}

// TestComplianceReportOfAKnownClinic makes the evidence report of a clinic
// whose facts the test set up: people with roles, one disabled, a second
// factor required of security officers and enrolled by one of three, a
// longer idle timeout for clinicians, an export and a review of the log.
func TestComplianceReportOfAKnownClinic(t *testing.T) {
	ctx := context.Background()
	c, clock, root, _ := authClinic(t) // root: administrator and security officer
	addPerson(t, root, "ann", "ann clinician pw", RoleClinician)
	addPerson(t, root, "sam", "sam security pw", RoleSecurity)
	addPerson(t, root, "tia", "tia security pw", RoleSecurity)
	addPerson(t, root, "fd", "front desk pass", RoleFrontDesk)
	if err := root.DisableUser(ctx, "fd"); err != nil {
		t.Fatal(err)
	}
	addPerson(t, root, "cy", "cy clinician pw", RoleClinician)
	tia := signIn(t, c, "tia", "tia security pw")
	enr, err := tia.BeginTOTP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	totpKey := keyOf(t, enr)
	if err := tia.ConfirmTOTP(ctx, totpAt(totpKey, clock.Now(), 6)); err != nil {
		t.Fatal(err)
	}

	// Two break-glass grants by ann to a chart restricted to cy: tia
	// reviews the first; the second is left past the 72-hour window.
	ann := signIn(t, c, "ann", "ann clinician pw")
	p, err := ann.RegisterPatient(ctx, NewPatient{Name: "Grace Hopper", BirthDate: "1906-12-09"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tia.RestrictPatient(ctx, p.ID, []string{"cy"}); err != nil {
		t.Fatal(err)
	}
	first, err := ann.BreakGlass(ctx, p.ID, emergency.ReasonTreatment, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ann.EndGrant(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ann.BreakGlass(ctx, p.ID, emergency.ReasonOther, "Hopper asked for it"); err != nil {
		t.Fatal(err)
	}
	if _, err := tia.ReviewGrant(ctx, first.ID, emergency.Appropriate, "seen in the emergency room"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(73 * time.Hour) // every session has locked by now
	root = signIn(t, c, "root", adminPW)
	if tia, err = c.SignInWithTOTP(ctx, "tia", "tia security pw", totpAt(totpKey, clock.Now(), 6)); err != nil {
		t.Fatal(err)
	}

	for k, v := range map[string]string{SettingTOTPRoles: RoleSecurity, SettingIdlePrefix + RoleClinician: "30"} {
		if err := root.SetSetting(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tia.ExportAudit(ctx, filepath.Join(t.TempDir(), "a.jsonl"), audit.JSONL, audit.Filter{}); err != nil {
		t.Fatal(err)
	}
	if _, err := tia.ReviewAudit(ctx, audit.Review{}); err != nil {
		t.Fatal(err)
	}

	if _, err := c.ReplicaExport(ctx); err != nil { // a segment, and with it a signed checkpoint
		t.Fatal(err)
	}

	before := len(auditEntries(t, c))
	rep, err := root.ComplianceReport(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The report's own audit entry, and only that one.
	es := auditEntries(t, c)
	if len(es) != before+1 {
		t.Fatalf("the report added %d audit entries, want 1", len(es)-before)
	}
	e := es[len(es)-1]
	if e.Action != string(ActComplianceReport) || e.User != root.User().ID || e.Outcome != audit.OutcomeSuccess ||
		e.Detail != "evidence report: "+rep.Summary() {
		t.Fatalf("audited as %+v (summary %q)", e, rep.Summary())
	}
	if rep.Counts.Fail == 0 || rep.Summary() != "15 pass, 1 warn, 3 fail" {
		t.Errorf("summary %q, want 15 pass, 1 warn, 3 fail", rep.Summary())
	}
	if len(rep.Standards) != 12 || rep.Standards[1].Ref != "164.312(a)(2)(i)" || rep.Standards[11].Ref != "164.312(e)(2)(ii)" {
		t.Errorf("standards: %d, first spec %q", len(rep.Standards), rep.Standards[1].Ref)
	}

	roles := checkNamed(t, rep, "Who holds which role")
	want := map[string]string{"root": "administrator, security officer|active|off", "ann": "clinician|active|off",
		"sam": "security officer|active|off", "cy": "clinician|active|off", "tia": "security officer|active|on", "fd": "front desk|disabled|off"}
	if len(roles.Table.Rows) != len(want) {
		t.Errorf("people: %v", roles.Table.Rows)
	}
	for _, row := range roles.Table.Rows {
		if got := strings.Join(row[1:], "|"); want[row[0]] != got {
			t.Errorf("%s: %q, want %q", row[0], got, want[row[0]])
		}
	}
	if roles.Status != emergency.Pass {
		t.Errorf("roles: %+v", roles)
	}
	if d := checkNamed(t, rep, "Disabled accounts"); !strings.Contains(strings.Join(d.Evidence, " "), "fd (front desk)") {
		t.Errorf("disabled: %v", d.Evidence)
	}

	totp := checkNamed(t, rep, "Second factor where required")
	if totp.Status != emergency.Fail || !strings.HasPrefix(totp.Action, "2 security officers have no second factor: enroll them (Account → Second factor") {
		t.Errorf("second factor: %+v", totp)
	}
	if ev := strings.Join(totp.Evidence, " "); !strings.Contains(ev, "Must use one: root, sam, tia. Have enrolled: tia.") {
		t.Errorf("second factor evidence: %s", ev)
	}

	idle := checkNamed(t, rep, "Idle timeout per role")
	if idle.Status != emergency.Warn || !strings.Contains(idle.Action, "session.idle-minutes.clinician") {
		t.Errorf("idle: %+v", idle)
	}
	if idle.Table.Rows[1][0] != "clinician" || idle.Table.Rows[1][1] != "30 min" || idle.Table.Rows[0][1] != "15 min" {
		t.Errorf("idle table: %v", idle.Table.Rows)
	}

	chain := checkNamed(t, rep, "Audit chains verified")
	if chain.Status != emergency.Pass || !strings.HasPrefix(chain.Evidence[0], "Intact: 1 chain,") {
		t.Errorf("chain: %+v", chain)
	}
	if cp := checkNamed(t, rep, "This workstation's chain is signed"); cp.Status != emergency.Pass {
		t.Errorf("checkpoint (the segment signed one): %+v", cp)
	}
	review := checkNamed(t, rep, "Audit log reviewed")
	if ev := strings.Join(review.Evidence, " "); review.Status != emergency.Pass ||
		!strings.Contains(ev, "by tia (security officer)") || !strings.Contains(ev, "exported") {
		t.Errorf("review: %+v", review)
	}

	for name, status := range map[string]emergency.Status{
		"Database file encrypted": emergency.Pass, "Database key in the OS keyring": emergency.Pass,
		"Emergency kit sealed": emergency.Pass, "Database integrity check": emergency.Pass,
		"Every page authenticated": emergency.Pass, "Segments sealed with the clinic key": emergency.Pass,
		"Backups and restore drills": emergency.Fail,
	} {
		if got := checkNamed(t, rep, name); got.Status != status {
			t.Errorf("%s: %s, want %s (%+v)", name, got.Status, status, got)
		}
	}
	grants := checkNamed(t, rep, "Break-glass grants reviewed")
	if ev := strings.Join(grants.Evidence, " "); grants.Status != emergency.Fail ||
		!strings.HasPrefix(grants.Action, "1 grant has waited more than 72 hours for review") ||
		!strings.Contains(ev, "2 grants in all, 0 running now. 1 reviewed (0 of them found not appropriate), 1 waiting for review, 1 waiting longer than 72 hours.") {
		t.Errorf("grants: %+v", grants)
	}
	if kit := checkNamed(t, rep, "Emergency kit sealed"); !strings.Contains(kit.Evidence[0], "argon2id t=3, m=256 MiB, p=2") {
		t.Errorf("kit: %v", kit.Evidence)
	}
	if b := checkNamed(t, rep, "Backups and restore drills"); !strings.Contains(b.Action, "no good backup yet") {
		t.Errorf("backups: %+v", b)
	}

	// Both renderings name staff, never the patient.
	var h, j bytes.Buffer
	if err := rep.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]string{"html": h.String(), "json": j.String()} {
		if strings.Contains(b, "Hopper") || strings.Contains(b, "1906") || strings.Contains(b, p.ID) {
			t.Errorf("the %s report names the patient", name)
		}
		if !strings.Contains(b, "sam") {
			t.Errorf("the %s report does not name sam", name)
		}
	}
	var back emergency.Report
	if err := json.Unmarshal(j.Bytes(), &back); err != nil || back.Summary() != rep.Summary() || back.Clinic != "Test Clinic" {
		t.Errorf("JSON back: %v %+v", err, back.Counts)
	}
}

// TestComplianceReportDenied: the report is the officers' and admins'.
func TestComplianceReportDenied(t *testing.T) {
	ctx := context.Background()
	c, _, root, _ := authClinic(t)
	addPerson(t, root, "ann", "ann clinician pw", RoleClinician)
	ann := signIn(t, c, "ann", "ann clinician pw")
	var de *DeniedError
	if _, err := ann.ComplianceReport(ctx); !errors.As(err, &de) {
		t.Fatalf("a clinician: %v", err)
	}
	if e := lastEntry(t, c); e.Action != string(ActComplianceReport) || e.Outcome != audit.OutcomeDenied {
		t.Fatalf("refusal audited as %+v", e)
	}
}

// TestComplianceReportWithoutAKit: the kit check reads the file in the
// data folder, so a kit that is gone fails it, with what to do.
func TestComplianceReportWithoutAKit(t *testing.T) {
	c, _, root, _ := authClinic(t)
	if err := os.Remove(c.KitPath()); err != nil {
		t.Fatal(err)
	}
	rep, err := root.ComplianceReport(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kit := checkNamed(t, rep, "Emergency kit sealed")
	if kit.Status != emergency.Fail || kit.Evidence[0] != "there is no emergency kit file at "+c.KitPath()+"." ||
		!strings.Contains(kit.Action, "ward rekey") {
		t.Errorf("kit: %+v", kit)
	}
}
