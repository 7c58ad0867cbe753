package gui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"ward/app"
	"ward/store"
	"ward/store/audit"
)

// The security officer reads the audit log: filters by action (exact and
// prefix), person and outcome, pages back and forth a hundred entries at a
// time, is told beside the field when a time is not one, and opens an
// entry whole. Each page read is itself in the log.
func TestAuditViewerFiltersAndPages(t *testing.T) {
	c := testClinic(t)
	ctx := context.Background()
	desk, err := c.SignIn(ctx, "frontdesk", app.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := desk.ReviewAudit(ctx, audit.Review{}); err == nil { // a denied entry
		t.Fatal("the front desk read the audit log")
	}
	sec, err := c.SignIn(ctx, "security", app.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	for range 150 { // 150 user.list entries: two pages of them
		if _, err := sec.Users(ctx); err != nil {
			t.Fatal(err)
		}
	}

	u := newTestUI(t, c)
	sh := signInAs(t, u, "security")
	v := openTab[*auditView](t, u, sh)
	if len(v.page) != auditPageSize || !v.hasOlder || v.page[0].User != sh.s.User().ID {
		t.Fatalf("the first page: %d entries (older ones: %v), the newest by %s", len(v.page), v.hasOlder, v.nameOf(v.page[0].User))
	}

	// Exact action: page 1 of 2, then Older, then Newer.
	test.Type(v.action.input.(*keyEntry), "user.list")
	tap(u, v.apply)
	if len(v.page) != auditPageSize || !v.hasOlder || !v.older.Visible() || v.older.Disabled() || !v.newer.Disabled() {
		t.Fatalf("page 1 of user.list: %d entries, older %v", len(v.page), v.hasOlder)
	}
	for _, e := range v.page {
		if e.Action != "user.list" {
			t.Fatalf("filtered on user.list, shows %s", e.Action)
		}
	}
	first, last := v.page[0], v.page[len(v.page)-1]
	if !strings.Contains(v.pageLabel.Text, "Page 1: entries 1–100") {
		t.Errorf("page label %q", v.pageLabel.Text)
	}
	tap(u, v.older)
	if len(v.page) < 50 || v.hasOlder || !v.older.Disabled() || v.newer.Disabled() {
		t.Fatalf("page 2: %d entries, older %v", len(v.page), v.hasOlder)
	}
	if v.page[0].Time.After(last.Time) || v.page[0].Seq == last.Seq {
		t.Fatalf("page 2 starts at %+v, after page 1's last %+v", v.page[0], last)
	}
	if !strings.Contains(v.pageLabel.Text, "Page 2: entries 101–") {
		t.Errorf("page label %q", v.pageLabel.Text)
	}
	tap(u, v.newer)
	if v.page[0].Seq != first.Seq {
		t.Fatalf("Newer came back to %+v, not %+v", v.page[0], first)
	}

	// A prefix and a person; then an outcome.
	v.action.input.(*keyEntry).SetText("user.")
	v.person.input.(*widget.Select).SetSelected("Frank Desk (frontdesk)")
	tap(u, v.apply)
	if len(v.page) == 0 {
		t.Fatal("no user.* entries of Frank Desk")
	}
	for _, e := range v.page {
		if !strings.HasPrefix(e.Action, "user.") || v.nameOf(e.User) != "Frank Desk" {
			t.Fatalf("user. by Frank Desk shows %s by %s", e.Action, v.nameOf(e.User))
		}
	}
	if cell := v.cell(v.page[0], 1); cell != "Frank Desk" {
		t.Errorf("the person column shows %q", cell)
	}
	v.action.input.(*keyEntry).SetText("")
	v.outcome.input.(*widget.Select).SetSelected(audit.OutcomeDenied)
	tap(u, v.apply)
	if len(v.page) != 1 || v.page[0].Action != string(app.ActAuditRead) || v.page[0].Outcome != audit.OutcomeDenied {
		t.Fatalf("Frank Desk's denied entries: %+v", v.page)
	}

	// Times: a bad one is refused beside its field, and nothing is read.
	before := v.page
	v.from.input.(*keyEntry).SetText("yesterday")
	v.to.input.(*keyEntry).SetText("2020-01-01")
	tap(u, v.apply)
	if !v.from.msg.Visible() || !strings.Contains(v.from.msg.Text, "YYYY-MM-DD") {
		t.Fatalf("a time that is not one: %q", v.from.msg.Text)
	}
	v.from.input.(*keyEntry).SetText("2020-01-02 10:00")
	tap(u, v.apply)
	if v.from.msg.Visible() || !strings.Contains(v.to.msg.Text, "before the start") {
		t.Fatalf("an end before the start: from %q, to %q", v.from.msg.Text, v.to.msg.Text)
	}
	if len(v.page) != len(before) {
		t.Fatal("a refused filter read a page")
	}
	v.to.input.(*keyEntry).SetText(time.Now().Format("2006-01-02"))
	v.from.input.(*keyEntry).TypedKey(&fyneKeyReturn) // Enter applies
	u.settle()
	if v.to.msg.Visible() || len(v.page) != 1 {
		t.Fatalf("today's denied entries of Frank Desk: %d (%q)", len(v.page), v.to.msg.Text)
	}

	// Stop: a read stopped (a filter nothing matches reads the whole log)
	// leaves the page as it was.
	// (Another session holds the database meanwhile, so the read waits.)
	shown := v.page
	held, release := make(chan struct{}), make(chan struct{})
	go sec.Do(ctx, app.ActUserList, "", func(*store.Tx, *app.Work) error { close(held); <-release; return nil })
	<-held
	v.outcome.input.(*widget.Select).SetSelected(audit.OutcomeFailure)
	v.applyFilters()
	if !v.stop.Visible() || !v.apply.Disabled() || !v.older.Disabled() {
		t.Fatal("no Stop while a page is read")
	}
	test.Tap(v.stop)
	close(release)
	u.settle()
	if v.stop.Visible() || !strings.Contains(v.message.Text, "Stopped") || len(v.page) != len(shown) || v.review.Outcome != audit.OutcomeDenied {
		t.Fatalf("after Stop: %q, %d entries, outcome filter %q", v.message.Text, len(v.page), v.review.Outcome)
	}

	// An entry whole.
	v.table.OnSelected(widget.TableCellID{Row: 0, Col: 5})
	if text := textOf(topOverlay(t, u)); !strings.Contains(text, "Frank Desk ("+desk.User().ID+")") || !strings.Contains(text, "this workstation") {
		t.Fatalf("the entry dialog shows:\n%s", text)
	}
	closeTop(u)
	if u.win.Canvas().Overlays().Top() != nil {
		t.Fatal("Esc did not close the entry")
	}
	if got := auditActions(t, c); !strings.Contains(got, " audit.read success ") {
		t.Fatalf("reading pages is not audited: %s", got)
	}
}

// Verify chain runs with progress and says the log is intact, with the
// count and the last checkpoint; the verification is in the log. An
// administrator may verify but not read: the tab has no table.
func TestAuditVerifyChain(t *testing.T) {
	c := testClinic(t)
	addAccount(t, c, "ops", app.RoleAdmin) // the demo's admin is its security officer too
	u := newTestUI(t, c)
	sh := signInAs(t, u, "ops")
	v := openTab[*auditView](t, u, sh)
	if v.table != nil || v.export != nil {
		t.Fatalf("an administrator sees the log (%v) or the export (%v)", v.table != nil, v.export != nil)
	}
	tap(u, v.verify)
	if !strings.HasPrefix(v.result.Text, "The audit log is intact: ") || !strings.Contains(v.result.Text, "entries in 1 chain") ||
		!strings.Contains(v.result.Text, "This workstation") {
		t.Fatalf("the result says %q", v.result.Text)
	}
	if v.result.Importance == widget.DangerImportance {
		t.Fatal("an intact log is shown as a problem")
	}
	if u.win.Canvas().Overlays().Top() != nil {
		t.Fatal("the progress dialog outlived the verification")
	}
	if got := auditActions(t, c); !strings.Contains(got, " audit.verify success ") {
		t.Fatalf("the verification is not audited: %s", got)
	}

	// The words for a broken chain.
	broken := v.reportText(audit.Report{Problem: &audit.Problem{Node: c.Node().ID, Seq: 523, Kind: audit.HashMismatch}})
	if !strings.Contains(broken, "NOT intact") || !strings.Contains(broken, "at entry 523: the entry was changed") {
		t.Fatalf("a broken chain is reported as %q", broken)
	}
}

// Export: a relative path is refused beside the field; a good one writes
// the file and its manifest through the progress dialog, the tab shows the
// manifest's summary, and the export verifies on its own.
func TestAuditExport(t *testing.T) {
	c := testClinic(t)
	u := newTestUI(t, c)
	sh := signInAs(t, u, "security")
	v := openTab[*auditView](t, u, sh)
	v.person.input.(*widget.Select).SetSelected("Sam Security (security)")
	tap(u, v.apply)

	tap(u, v.export)
	dlg := topOverlay(t, u)
	if text := textOf(dlg); !strings.Contains(text, "The entries by Sam Security (security).") {
		t.Fatalf("the export dialog does not say what is exported:\n%s", text)
	}
	radiosIn(dlg)[0].SetSelected("CSV (spreadsheets)")
	file := entriesIn(dlg)[0]
	if !strings.HasSuffix(file.Text, ".csv") {
		t.Errorf("the file name did not follow the format: %q", file.Text)
	}
	file.SetText("audit.csv")
	tap(u, buttonIn(t, dlg, "Export"))
	if msg := fieldMessage(t, dlg, "File (the signed manifest is written beside it)"); !strings.Contains(msg, "full path") {
		t.Fatalf("a relative path: %q", msg)
	}
	path := filepath.Join(t.TempDir(), "audit.csv")
	file.SetText(path)
	file.TypedKey(&fyneKeyReturn)
	u.settle()
	if u.win.Canvas().Overlays().Top() != nil {
		t.Fatal("a dialog still shows after the export")
	}
	for _, want := range []string{"Exported ", "as CSV (spreadsheets) to " + path, "SHA-256 of the export: ", "Signed by this workstation, " + c.Node().Name,
		audit.Fingerprint(c.Node().PublicKey)} {
		if !strings.Contains(v.result.Text, want) {
			t.Fatalf("the result %q lacks %q", v.result.Text, want)
		}
	}
	ef, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	mf, err := os.Open(app.ManifestPath(path))
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	rep, err := audit.VerifyExport(ef, mf)
	if err != nil || !rep.OK() || rep.Entries == 0 || rep.Filter.User == "" {
		t.Fatalf("the export does not verify: %v %+v", err, rep)
	}
	assertAudited(t, c, "audit.export")
}

// addAccount adds a person holding roles, with the demo password.
func addAccount(t *testing.T, c *app.Clinic, username string, roles ...string) {
	t.Helper()
	ctx := context.Background()
	admin, err := c.SignIn(ctx, "admin", app.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.SignOut(ctx)
	if _, err := admin.AddUser(ctx, app.NewUser{Username: username, Name: "Olive Ops", Roles: roles, Password: app.DemoPassword}); err != nil {
		t.Fatal(err)
	}
}

// openTab selects the shell's tab whose content is a T and waits for what
// it reads as it comes on screen.
func openTab[T any](t *testing.T, u *UI, sh *shell) T {
	t.Helper()
	for _, it := range sh.tabs.Items {
		if v, ok := it.Content.(T); ok {
			sh.tabs.Select(it)
			u.settle()
			return v
		}
	}
	var zero T
	t.Fatalf("no %T tab", zero)
	return zero
}
