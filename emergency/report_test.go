package emergency

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"ward/store"
	"ward/store/audit"
)

var reportNow = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// healthy are the facts of a clinic that passes every check.
func healthy() Facts {
	run := func(kind string, ago time.Duration) *store.BackupRun {
		return &store.BackupRun{Kind: kind, At: reportNow.Add(-ago), OK: true}
	}
	return Facts{
		Clinic: "Riverside", Workstation: "desk-1", NodeID: "n1", Now: reportNow,
		By: Person{Username: "olga", Roles: []string{"security"}},
		People: []Person{
			{Username: "olga", Roles: []string{"security"}, SecondFactor: true, NeedsSecondFactor: true},
			{Username: "adam", Roles: []string{"admin"}, SecondFactor: true, NeedsSecondFactor: true},
			{Username: "cleo", Roles: []string{"clinician"}},
		},
		Idle: []RoleTimeout{{"frontdesk", 15 * time.Minute}, {"clinician", 10 * time.Minute},
			{"security", 15 * time.Minute}, {"admin", 5 * time.Minute}},
		PINWindow: 8 * time.Hour,
		TOTPRoles: []string{"security", "admin"},
		Database:  DatabaseFacts{File: "/data/ward.db"},
		Keyring:   KeyringFacts{Name: "the Secret Service", OS: true, HoldsKey: true},
		Kit:       KitFacts{Path: "/data/ward.kit", Clinic: "Riverside", Node: "n1", Time: 3, MemoryKiB: 256 * 1024, Threads: 2},
		Audit: AuditFacts{
			Verify: audit.Report{Chains: []audit.ChainReport{{Node: "n1", Entries: 40, HeadSeq: 40,
				LastCheckpoint: &audit.Checkpoint{Node: "n1", Seq: 38, Time: reportNow.Add(-time.Hour)}}}},
			NodeNames:  map[string]string{"n1": "desk-1"},
			LastReview: &AuditEvent{At: reportNow.Add(-48 * time.Hour), By: Person{Username: "olga", Roles: []string{"security"}}},
		},
		Grants: GrantFacts{Total: 3, Reviewed: 2, Pending: 1, ReviewWithin: 72 * time.Hour},
		Replica: ReplicaFacts{Listen: "tcp://0.0.0.0:22100", ClinicKey: true, CertPresent: true, CertKeyMode: 0o600,
			Peers: []Peer{{NodeID: "n2", Name: "desk-2", Paired: true, Addresses: []string{"tcp://192.168.1.20:22100"}, Connected: true}}},
		Backups: BackupFacts{Folder: "/media/backup", LastGood: run(store.RunBackup, time.Hour), LastTry: run(store.RunBackup, time.Hour),
			LastDrill: run(store.RunDrill, 24*time.Hour)},
	}
}

func findCheck(t *testing.T, r Report, name string) Check {
	t.Helper()
	for _, s := range r.Standards {
		for _, c := range s.Checks {
			if c.Name == name {
				return c
			}
		}
	}
	t.Fatalf("no check %q", name)
	return Check{}
}

func TestHealthyClinicPassesEveryCheck(t *testing.T) {
	r := BuildReport(healthy())
	for _, s := range r.Standards {
		if s.WardDoes == "" || len(s.Checks) == 0 {
			t.Errorf("%s says nothing", s.Ref)
		}
		for _, c := range s.Checks {
			if c.Status != Pass || c.Action != "" || len(c.Evidence) == 0 {
				t.Errorf("%s %s: %+v", s.Ref, c.Name, c)
			}
		}
	}
	if r.Counts != (Counts{Pass: 19}) || r.Summary() != "19 pass, 0 warn, 0 fail" {
		t.Errorf("counts %+v", r.Counts)
	}
	if r.By != "olga (security officer)" || r.Workstation != "desk-1 (node n1)" {
		t.Errorf("by %q, workstation %q", r.By, r.Workstation)
	}
}

// TestRulesFlagWhatIsWrong: each fact that is wrong turns its check to warn
// or fail, with a sentence that says what to do.
func TestRulesFlagWhatIsWrong(t *testing.T) {
	cases := []struct {
		check  string
		status Status
		action string // part of the advice
		change func(f *Facts)
	}{
		{"Who holds which role", Fail, "security officer role", func(f *Facts) { f.People[0].Disabled = true }},
		{"One account per person", Fail, "Disable all but one", func(f *Facts) {
			f.People = append(f.People, Person{Username: "Cleo", Roles: []string{"clinician"}})
		}},
		{"Break-glass grants reviewed", Fail, "2 grants have waited more than 72 hours", func(f *Facts) { f.Grants.Overdue = 2 }},
		{"Backups and restore drills", Fail, "restore drill", func(f *Facts) {
			f.Backups.LastDrill.OK = false
			f.Backups.Problems = []string{"the last restore drill FAILED"}
		}},
		{"Backups and restore drills", Warn, "Scheduled backups are OFF", func(f *Facts) {
			f.Backups.Folder = ""
			f.Backups.Problems = []string{"scheduled backups are OFF"}
		}},
		{"Idle timeout per role", Warn, "session.idle-minutes.frontdesk 15", func(f *Facts) { f.Idle[0].Timeout = time.Hour }},
		{"Database file encrypted", Fail, "restore from an encrypted backup", func(f *Facts) {
			f.Database.FileProblem = store.ErrPlaintext.Error()
		}},
		{"Database key in the OS keyring", Fail, "operating system's keyring", func(f *Facts) { f.Keyring.OS = false }},
		{"Database key in the OS keyring", Fail, "ward --kit ward.kit recover", func(f *Facts) { f.Keyring.HoldsKey = false }},
		{"Emergency kit sealed", Fail, "below 256 MiB", func(f *Facts) { f.Kit.MemoryKiB = 64 * 1024 }},
		{"Emergency kit sealed", Warn, "another workstation", func(f *Facts) { f.Kit.Node = "n9" }},
		{"Emergency kit sealed", Fail, "ward rekey", func(f *Facts) { f.Kit.Problem = "there is no emergency kit file" }},
		{"Audit chains verified", Fail, "export the audit log", func(f *Facts) {
			p := audit.Problem{Node: "n1", Seq: 7, Kind: audit.HashMismatch}
			f.Audit.Verify.Problem, f.Audit.Verify.Problems = &p, []audit.Problem{p}
		}},
		{"This workstation's chain is signed", Warn, "replica writes segments", func(f *Facts) {
			f.Audit.Verify.Chains[0].LastCheckpoint = nil
		}},
		{"Audit log reviewed", Warn, "at least monthly", func(f *Facts) { f.Audit.LastReview.At = reportNow.AddDate(0, -2, 0) }},
		{"Audit log reviewed", Warn, "at least monthly", func(f *Facts) { f.Audit.LastReview = nil }},
		{"Database integrity check", Fail, "restore the last good backup", func(f *Facts) { f.Database.Integrity = []string{"row 3 missing from index"} }},
		{"Every page authenticated", Fail, "changed outside Ward", func(f *Facts) { f.Database.Pages = []string{"HMAC check failed for pgno=2"} }},
		{"Second factor where required", Fail, "1 administrator has no second factor: enroll them (Account → Second factor", func(f *Facts) {
			f.People[1].SecondFactor = false
		}},
		{"Second factor where required", Warn, "auth.totp-required-roles admin,security", func(f *Facts) { f.TOTPRoles = nil }},
		{"Peers and where they are", Warn, "VPN", func(f *Facts) { f.Replica.Peers[0].Addresses = []string{"tcp://203.0.113.9:22100"} }},
		{"TLS device certificate", Fail, "chmod 600", func(f *Facts) { f.Replica.CertKeyMode = 0o644 }},
		{"TLS device certificate", Warn, "ward serve", func(f *Facts) { f.Replica.CertPresent = false }},
		{"Signed segments", Warn, "ward sync status", func(f *Facts) { f.Replica.Quarantined, f.Replica.QuarantinedBy = 1, []string{"desk-2"} }},
		{"Segments sealed with the clinic key", Fail, "pairing", func(f *Facts) { f.Replica.ClinicKey = false }},
	}
	for _, tc := range cases {
		f := healthy()
		tc.change(&f)
		r := BuildReport(f)
		c := findCheck(t, r, tc.check)
		if c.Status != tc.status || !strings.Contains(c.Action, tc.action) {
			t.Errorf("%s: %s %q, want %s with %q", tc.check, c.Status, c.Action, tc.status, tc.action)
		}
		if want := map[Status]Counts{Warn: {Pass: 18, Warn: 1}, Fail: {Pass: 18, Fail: 1}}[tc.status]; r.Counts != want {
			t.Errorf("%s (%s): counts %+v: another check changed too", tc.check, tc.action, r.Counts)
		}
	}
}

// TestReportHTMLEscapes: every value is text on the page, never markup.
func TestReportHTMLEscapes(t *testing.T) {
	f := healthy()
	f.Clinic = `Riverside & Sons <img src=x onerror=alert(1)>`
	f.People = append(f.People, Person{Username: `<script>alert("x")</script>`, Roles: []string{"clinician"}, Disabled: true})
	var b bytes.Buffer
	if err := BuildReport(f).WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"<script>", "<img", `alert("x")`} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds %q unescaped", bad)
		}
	}
	for _, good := range []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "Riverside &amp; Sons &lt;img"} {
		if !strings.Contains(page, good) {
			t.Errorf("the page lacks %q", good)
		}
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") || strings.Contains(page, "src=\"") {
		t.Error("the page refers to something outside itself")
	}
}

func TestSaveReportWritesBothFilesPrivately(t *testing.T) {
	dir := t.TempDir()
	r := BuildReport(healthy())
	h, j, err := SaveReport(r, filepath.Join(dir, "evidence.html"))
	if err != nil {
		t.Fatal(err)
	}
	if h != filepath.Join(dir, "evidence.html") || j != filepath.Join(dir, "evidence.json") {
		t.Fatalf("wrote %s and %s", h, j)
	}
	for _, p := range []string{h, j} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", p, fi.Mode(), err)
		}
	}
	raw, err := os.ReadFile(j)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Generated.Equal(r.Generated) {
		t.Errorf("generated %v, want %v", back.Generated, r.Generated)
	}
	back.Generated = r.Generated
	if !reflect.DeepEqual(back, r) {
		t.Errorf("the JSON does not read back as the report")
	}
	page, _ := os.ReadFile(h)
	if !strings.Contains(string(page), "164.312(e)(2)(ii)") || !strings.Contains(string(page), "19 pass") {
		t.Error("the HTML lacks the last standard or the summary")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestReportPaths(t *testing.T) {
	for in, want := range map[string][2]string{
		"r.html":     {"r.html", "r.json"},
		"r.json":     {"r.html", "r.json"},
		"/x/r":       {"/x/r.html", "/x/r.json"},
		"r.2026.txt": {"r.2026.txt.html", "r.2026.txt.json"},
	} {
		if h, j := ReportPaths(in); h != want[0] || j != want[1] {
			t.Errorf("%s: %s %s", in, h, j)
		}
	}
}

func TestSummarizeGrants(t *testing.T) {
	at := func(h int) time.Time { return reportNow.Add(time.Duration(h) * time.Hour) }
	grant := func(startedH int, review *store.GrantReview) store.Grant {
		return store.Grant{Started: at(startedH), Expires: at(startedH + 1), Review: review}
	}
	gs := []store.Grant{
		grant(0, nil),   // running now
		grant(-10, nil), // waiting, within 72 h
		grant(-80, nil), // waiting too long
		grant(-90, &store.GrantReview{Disposition: Appropriate, At: at(-5)}),
		grant(-100, &store.GrantReview{Disposition: NotAppropriate, At: at(-6)}),
	}
	got := SummarizeGrants(gs, reportNow, 72*time.Hour)
	want := GrantFacts{Total: 5, Running: 1, Reviewed: 2, Pending: 3, Overdue: 1, NotAppropriate: 1, ReviewWithin: 72 * time.Hour}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	c := findCheck(t, BuildReport(Facts{Grants: got, Now: reportNow}), "Break-glass grants reviewed")
	if c.Status != Fail || !strings.HasPrefix(c.Action, "1 grant has waited more than 72 hours for review") ||
		c.Evidence[1] != "2 reviewed (1 of them found not appropriate), 3 waiting for review, 1 waiting longer than 72 hours." {
		t.Errorf("%+v", c)
	}
}
