package gui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/widget"

	"ward/app"
)

// The security officer's "164.312 evidence report…" opens a file-save
// dialog; the report is made, saved as HTML and JSON beside each other,
// and summed up on the tab with what to do about each check that failed.
func TestComplianceReportFromTheAuditTab(t *testing.T) {
	c := testClinic(t)
	addAccount(t, c, "ops", app.RoleAdmin)
	u := newTestUI(t, c)
	sh := signInAs(t, u, "security")
	v := openTab[*auditView](t, u, sh)
	if v.evidence == nil || !v.evidence.Visible() {
		t.Fatal("the security officer has no evidence report button")
	}
	tap(u, v.evidence)
	if u.win.Canvas().Overlays().Top() == nil {
		t.Fatal("no file-save dialog")
	}
	u.win.Canvas().Overlays().Top().Hide() // a person cancels it; nothing is made

	// What the dialog hands back: a file it created, empty, here without
	// an extension, so the report lands beside it and the empty file goes.
	dir := t.TempDir()
	chosen := filepath.Join(dir, "evidence")
	if err := os.WriteFile(chosen, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	v.runComplianceReport(chosen)
	u.settle()
	text := v.result.Text
	if !strings.HasPrefix(text, "Evidence report (164.312): ") || !strings.Contains(text, "Saved as "+chosen+".html") ||
		!strings.Contains(text, "FAIL — 164.312(a)(2)(ii) Backups and restore drills: ") {
		t.Fatalf("the tab says %q", text)
	}
	if v.result.Importance != widget.DangerImportance {
		t.Error("a report with a failing check is not shown as a problem")
	}
	names := []string{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "evidence.html evidence.json" {
		t.Errorf("the folder holds %v", names)
	}
	if got := auditActions(t, c); !strings.Contains(got, " compliance.report success ") {
		t.Errorf("the report is not audited: %s", got)
	}

	// An administrator has the button too.
	u2 := newTestUI(t, c)
	if v2 := openTab[*auditView](t, u2, signInAs(t, u2, "ops")); v2.evidence == nil {
		t.Error("an administrator has no evidence report button")
	}
}
