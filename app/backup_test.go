package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ward/store"
	"ward/store/audit"
)

// backupClinic: a clinic with an administrator, a front-desk person and a
// patient whose name and MRN no backup file may show in plain text.
type backupClinic struct {
	c      *Clinic
	code   string
	admin  *Session
	fd     *Session
	marked store.Patient
}

const (
	markerName = "Philippa Quennell-Ashdown"
	markerMRN  = "MRN-448812"
)

func newBackupClinic(t *testing.T) backupClinic {
	t.Helper()
	ctx := context.Background()
	c, _, code := newClinic(t)
	admin := signIn(t, c, "root", adminPW)
	if _, err := admin.AddUser(ctx, NewUser{Username: "fd", Name: "Front Desk", Roles: []string{RoleFrontDesk}, Password: "front desk pass"}); err != nil {
		t.Fatal(err)
	}
	fd := signIn(t, c, "fd", "front desk pass")
	p, err := fd.RegisterPatient(ctx, NewPatient{Name: markerName, BirthDate: "1971-02-03", MRN: markerMRN, Phone: "555-0177"})
	if err != nil {
		t.Fatal(err)
	}
	return backupClinic{c: c, code: code, admin: admin, fd: fd, marked: p}
}

func chainHeads(t testing.TB, c *Clinic) []audit.Head {
	t.Helper()
	h, err := audit.Heads(context.Background(), c.db.AuditReader())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// restoreInto restores path into dir with code; the keys go when the test ends.
func restoreInto(t *testing.T, path, dir, code string, force bool) (RestoreResult, error) {
	t.Helper()
	t.Cleanup(func() { forgetKeys(dir) })
	res, err := Restore(context.Background(), RestoreOptions{From: path, Dir: dir, Force: force, Keyring: osKeyring,
		Code: func() (string, error) { return code, nil }})
	if res.Clinic != nil {
		t.Cleanup(func() { res.Clinic.Close() })
	}
	return res, err
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	f := newBackupClinic(t)
	before := chainHeads(t, f.c)
	path := filepath.Join(t.TempDir(), "clinic"+store.BackupExt)
	res, err := f.admin.Backup(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Header.Chains) != fmt.Sprint(before) || res.Bytes != fileSize(path) {
		t.Fatalf("header heads %v, chain heads at the backup %v", res.Header.Chains, before)
	}
	if e := lastEntry(t, f.c); e.Action != string(ActBackup) || e.Outcome != audit.OutcomeSuccess || e.User != f.admin.User().ID {
		t.Fatalf("backup audited as %+v", e)
	}

	dir := filepath.Join(t.TempDir(), "restored")
	r, err := restoreInto(t, path, dir, f.code, false)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Drill.OK() || r.Code == "" || r.Code == f.code || r.Replaced != "" {
		t.Fatalf("restore: drill %s, new code %q", r.Drill.Summary(), r.Code)
	}
	rc := r.Clinic
	if rc.Node().ID != f.c.Node().ID || rc.Name() != f.c.Name() {
		t.Fatalf("restored node %s clinic %q", rc.Node().ID, rc.Name())
	}
	// Same rows: the patient reads the same; the same people sign in.
	fd := signIn(t, rc, "fd", "front desk pass")
	p, err := fd.Patient(ctx, f.marked.ID)
	if err != nil || p.Name != f.marked.Name || p.MRN != f.marked.MRN || p.BirthDate != f.marked.BirthDate {
		t.Fatalf("restored patient %+v, %v", p, err)
	}
	// Same chain: it extends the heads of the backup, then records the restore.
	after := chainHeads(t, rc)
	for i, h := range before {
		var hash []byte
		rc.db.AuditReader().QueryRowContext(ctx, "SELECT hash FROM audit_entries WHERE node = ? AND seq = ?", h.Node, h.Seq).Scan(&hash)
		if !bytes.Equal(hash, h.Hash[:]) || after[i].Seq <= h.Seq {
			t.Fatalf("restored chain %s does not extend the backup's head at %d", h.Node, h.Seq)
		}
	}
	es := auditEntries(t, rc)
	if !hasAuthEntry(es, EmergencyKitUser, ActRestore, audit.OutcomeSuccess, "restored from a backup made") {
		t.Fatal("the restore is not in the chain")
	}
	if rep, err := rc.Check(ctx); err != nil || !rep.OK() {
		t.Fatalf("restored clinic check: %+v %v", rep, err)
	}
	// A fresh key: the keyring opens it, the new code opens the new kit, the old one does not.
	rc.Close()
	if c2, err := Open(ctx, dir, osKeyring); err != nil {
		t.Fatalf("reopen with the keyring: %v", err)
	} else {
		c2.Close()
	}
	kitPath := filepath.Join(dir, store.KitFileName)
	if _, err := OpenWithKit(ctx, dir, kitPath, f.code, osKeyring); !errors.Is(err, store.ErrWrongRecoveryCode) {
		t.Fatalf("the old code opened the new kit: %v", err)
	}
	if c3, err := OpenWithKit(ctx, dir, kitPath, r.Code, osKeyring); err != nil {
		t.Fatalf("the new code: %v", err)
	} else {
		c3.Close()
	}
	if _, err := os.Stat(kitPath + ".pending"); err == nil {
		t.Fatal("the pending kit was left behind")
	}
	if _, err := osKeyring.Get(store.PendingAccount(rc.account)); !errors.Is(err, store.ErrKeyMissing) {
		t.Fatalf("the pending key was left in the keyring: %v", err)
	}
}

func TestRestoreRefusesAndWritesNothing(t *testing.T) {
	ctx := context.Background()
	f := newBackupClinic(t)
	path := filepath.Join(t.TempDir(), "clinic"+store.BackupExt)
	if _, err := f.admin.Backup(ctx, path, nil); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	files := t.TempDir()
	variant := func(name string, data []byte) string {
		p := filepath.Join(files, name)
		os.WriteFile(p, data, 0o600)
		return p
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)-3000] ^= 0x01
	other, _ := store.NewRecoveryCode()
	var damaged *store.BackupDamagedError
	cases := []struct {
		name, path, code string
		want             func(error) bool
		asksCode         bool
	}{
		{"truncated", variant("cut", good[:len(good)-4096]), f.code, func(err error) bool { return errors.As(err, &damaged) }, false},
		{"bit-flipped", variant("flip", flipped), f.code, func(err error) bool { return errors.As(err, &damaged) }, false},
		{"wrong code", path, other, func(err error) bool { return errors.Is(err, store.ErrBackupWrongCode) }, true},
	}
	for _, tc := range cases {
		dir := filepath.Join(t.TempDir(), "target")
		asked := false
		_, err := Restore(ctx, RestoreOptions{From: tc.path, Dir: dir, Keyring: osKeyring,
			Code: func() (string, error) { asked = true; return tc.code, nil }})
		if err == nil || !tc.want(err) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if asked != tc.asksCode {
			t.Errorf("%s: asked for the code: %v", tc.name, asked)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the target folder was written", tc.name)
		}
		t.Logf("%s: %v", tc.name, err)
	}

	// A live folder is refused unless forced; forced, the old one is kept aside.
	live := f.c.Dir()
	if _, err := restoreInto(t, path, live, f.code, false); !errors.Is(err, ErrRestoreOverLive) {
		t.Fatalf("restore over a live folder: %v", err)
	}
	f.c.Close()
	r, err := restoreInto(t, path, live, f.code, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Replaced == "" {
		t.Fatal("the replaced database was not kept")
	}
	old, err := OpenWithKit(ctx, r.Replaced, filepath.Join(r.Replaced, store.KitFileName), f.code, osKeyring)
	if err != nil {
		t.Fatalf("the replaced database does not open with its kit and code: %v", err)
	}
	old.Close()
}

// A scheduled run makes the backup and the drill that are due, keeps the
// newest N, and a failure is recorded, audited and shown.
func TestScheduledBackupsRotateAndDrill(t *testing.T) {
	ctx := context.Background()
	f := newBackupClinic(t)
	clock := &fakeClock{t: time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)}
	f.c.SetClock(clock)
	f.admin = signIn(t, f.c, "root", adminPW)
	folder := t.TempDir()
	t.Setenv("TMPDIR", t.TempDir()) // the drills' temp folders must go away
	for k, v := range map[string]string{SettingBackupFolder: folder, SettingBackupKeep: "3"} {
		if err := f.admin.SetSetting(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	var events []Event
	record := func(e Event) { events = append(events, e) }
	for day := 1; day <= 5; day++ {
		if !f.c.RunDueBackups(ctx, record) {
			t.Fatalf("day %d: %v", day, events)
		}
		if !f.c.RunDueBackups(ctx, record) { // nothing more is due the same hour
			t.Fatal(events)
		}
		if n := len(f.c.scheduledBackups(folder)); n != min(day, 3) {
			t.Fatalf("day %d: %d backups in the folder, want %d", day, n, min(day, 3))
		}
		clock.Advance(24 * time.Hour)
	}
	var backups, drills int
	for _, e := range events {
		backups += strings.Count(e.Text, "backup written")
		drills += strings.Count(e.Text, "restore drill of")
	}
	if backups != 5 || drills != 1 { // weekly drills: one in five days
		t.Fatalf("%d backups, %d drills: %v", backups, drills, events)
	}
	if tmp, _ := os.ReadDir(os.Getenv("TMPDIR")); len(tmp) != 0 {
		t.Fatalf("the drill left %d files in the temp folder", len(tmp))
	}
	st, err := f.c.BackupStatus(ctx)
	if err != nil || st.LastGood == nil || st.LastDrill == nil || !st.LastDrill.OK || len(st.Problems()) != 0 {
		t.Fatalf("status %+v problems %v, %v", st, st.Problems(), err)
	}
	if run, ok, _ := f.c.LastRestoreDrill(ctx); !ok || !run.OK || !strings.Contains(run.Detail, "ok") {
		t.Fatalf("evidence: last drill %+v", run)
	}
	clock.Advance(3 * 24 * time.Hour) // a week after the first drill
	events = nil
	f.c.RunDueBackups(ctx, record)
	if len(events) != 2 || !strings.Contains(events[1].Text, "restore drill") {
		t.Fatalf("a week on: %v", events)
	}

	// The folder disappears (an unplugged disk): the failure is recorded,
	// audited and shown, and retried after a pause, not every minute.
	os.RemoveAll(folder)
	clock.Advance(25 * time.Hour)
	events = nil
	if f.c.RunDueBackups(ctx, record) || len(events) != 1 || !events[0].Failed {
		t.Fatalf("an unplugged backup disk: %v", events)
	}
	e := lastEntry(t, f.c)
	if e.Action != string(ActBackup) || e.Outcome != audit.OutcomeFailure || e.User != SystemUser || !strings.Contains(e.Detail, "does not exist") {
		t.Fatalf("failure audited as %+v", e)
	}
	st, _ = f.c.BackupStatus(ctx)
	if p := strings.Join(st.Problems(), "\n"); !strings.Contains(p, "the last backup attempt") || !strings.Contains(p, "FAILED") {
		t.Fatalf("problems: %s", p)
	}
	clock.Advance(time.Minute)
	events = nil
	f.c.RunDueBackups(ctx, record)
	if len(events) != 0 {
		t.Fatalf("retried at once: %v", events)
	}
}

// No file under the backup folder holds a patient's name or MRN in plain
// text — backups, and anything a backup in progress leaves there.
func TestNoPHIInBackupFolder(t *testing.T) {
	ctx := context.Background()
	f := newBackupClinic(t)
	folder := t.TempDir()
	if err := f.admin.SetSetting(ctx, SettingBackupFolder, folder); err != nil {
		t.Fatal(err)
	}
	// Snapshots of the folder while a backup runs catch its temp files.
	var mu sync.Mutex
	seen := map[string][]byte{}
	progress := func(done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		entries, _ := os.ReadDir(folder)
		for _, e := range entries {
			data, _ := os.ReadFile(filepath.Join(folder, e.Name()))
			seen[e.Name()+fmt.Sprint(len(seen))] = data
		}
	}
	if _, err := f.admin.Backup(ctx, filepath.Join(folder, "manual"+store.BackupExt), progress); err != nil {
		t.Fatal(err)
	}
	if !f.c.RunDueBackups(ctx, nil) {
		t.Fatal("scheduled backup failed")
	}
	filepath.Walk(folder, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			data, _ := os.ReadFile(path)
			seen[path] = data
		}
		return err
	})
	if len(seen) < 3 {
		t.Fatalf("only %d files seen", len(seen))
	}
	for name, data := range seen {
		for _, m := range []string{markerName, markerMRN, "555-0177", "SQLite format 3"} {
			if bytes.Contains(data, []byte(m)) {
				t.Errorf("%s holds %q in plain text", name, m)
			}
		}
	}
}

// A backup taken while the front desk keeps registering patients restores
// to one consistent moment: the drill finds the chains intact and the heads
// its header names.
func TestBackupDuringWork(t *testing.T) {
	ctx := context.Background()
	f := newBackupClinic(t)
	if err := f.admin.ImportPatients(ctx, SyntheticPatients(5000, 7, 30_000_000), nil); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var n atomic.Int64
	done := make(chan error)
	go func() {
		for i := 0; !stop.Load(); i++ {
			if _, err := f.fd.RegisterPatient(ctx, NewPatient{Name: fmt.Sprintf("Busy Person%d", i), BirthDate: "1980-05-05"}); err != nil {
				done <- err
				return
			}
			n.Add(1)
		}
		done <- nil
	}()
	for n.Load() < 5 {
		time.Sleep(time.Millisecond)
	}
	path := filepath.Join(t.TempDir(), "busy"+store.BackupExt)
	_, err := f.admin.Backup(ctx, path, nil)
	stop.Store(true)
	if werr := <-done; werr != nil {
		t.Fatal(werr)
	}
	if err != nil {
		t.Fatal(err)
	}
	rep, err := f.admin.VerifyBackup(ctx, path, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("drill of a backup made during work: %s %v", rep.Summary(), err)
	}
	t.Logf("%d registrations during the test; %s", n.Load(), rep.Summary())
}

func TestBackupNeedsTheRole(t *testing.T) {
	ctx := context.Background()
	f := newBackupClinic(t)
	path := filepath.Join(t.TempDir(), "x"+store.BackupExt)
	var de *DeniedError
	if _, err := f.fd.Backup(ctx, path, nil); !errors.As(err, &de) {
		t.Fatalf("front desk backup: %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("a refused backup wrote a file")
	}
	if e := lastEntry(t, f.c); e.Action != string(ActBackup) || e.Outcome != audit.OutcomeDenied {
		t.Fatalf("refusal audited as %+v", e)
	}
	if _, err := f.fd.VerifyBackup(ctx, path, nil); !errors.As(err, &de) {
		t.Fatalf("front desk drill: %v", err)
	}
}

func TestServeStopsWithContextOrFailure(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	jobs := []Job{{Name: "waits", Run: func(ctx context.Context, ev func(Event)) error {
		close(ran)
		<-ctx.Done()
		return nil
	}}}
	go func() { <-ran; cancel() }()
	if err := Serve(ctx, jobs, nil); err != nil {
		t.Fatal(err)
	}
	var got []Event
	jobs = append(jobs[:0], Job{Name: "waits", Run: func(ctx context.Context, ev func(Event)) error { <-ctx.Done(); return nil }},
		Job{Name: "breaks", Run: func(ctx context.Context, ev func(Event)) error { return errors.New("disk gone") }})
	err := Serve(context.Background(), jobs, func(e Event) { got = append(got, e) })
	if err == nil || !strings.Contains(err.Error(), `"breaks" stopped: disk gone`) || len(got) != 1 || !got[0].Failed {
		t.Fatalf("a failing job: %v %v", err, got)
	}
}
