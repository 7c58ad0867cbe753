package store

import (
	"bufio"
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

	"ward/store/audit"
)

// backupFixture: a database with patients and audit entries, its kit and
// recovery code, and a backup of it.
type backupFixture struct {
	db     *DB
	code   string
	kit    *Kit
	path   string
	header BackupHeader
}

func newBackupFixture(t testing.TB) backupFixture {
	t.Helper()
	db, key, _ := newTestDB(t)
	code, _ := NewRecoveryCode()
	kit, err := SealKit(key, code, "Riverside", db.Self().ID)
	if err != nil {
		t.Fatal(err)
	}
	addPatient(t, db, Patient{Name: "Wilhelmina Quarrington", BirthDate: "1961-07-04", MRN: "MRN-77123", Phone: "555-0142"})
	update(t, db, func(tx *Tx) error { return tx.BulkAddPatients(benchPatients(500), nil) })
	auditN(t, db, 30)
	f := backupFixture{db: db, code: code, kit: kit, path: filepath.Join(t.TempDir(), "b"+BackupExt)}
	if f.header, err = db.ExportBackup(context.Background(), f.path, BackupOptions{Clinic: "Riverside", Kit: kit}); err != nil {
		t.Fatal(err)
	}
	return f
}

func auditN(t testing.TB, db *DB, n int) {
	t.Helper()
	update(t, db, func(tx *Tx) error {
		for i := range n {
			if _, err := tx.Audit(audit.Event{User: "u1", Action: "patient.read", Outcome: audit.OutcomeSuccess, Detail: fmt.Sprint(i)}); err != nil {
				return err
			}
		}
		return nil
	})
}

// restoreTo opens the backup with key into a new folder and returns the database.
func restoreTo(t testing.TB, b *Backup, key []byte) *DB {
	t.Helper()
	dir := t.TempDir()
	if err := b.WriteDatabase(dir); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), dir, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func heads(t testing.TB, db *DB) []audit.Head {
	t.Helper()
	h, err := audit.Heads(context.Background(), db.AuditReader())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestBackupRoundTrip(t *testing.T) {
	ctx := context.Background()
	f := newBackupFixture(t)
	b, err := OpenBackup(f.path)
	if err != nil {
		t.Fatal(err)
	}
	h := b.Header
	if h.Clinic != "Riverside" || h.Node != f.db.Self().ID || h.Schema != SchemaVersion() || len(h.Chains) != 1 || h.Chains[0].Seq != 30 {
		t.Fatalf("header: %+v", h)
	}
	if err := b.CheckBody(); err != nil {
		t.Fatal(err)
	}
	key, err := b.KeyFromCode(f.code)
	if err != nil {
		t.Fatal(err)
	}
	// The workstation's own key opens it too, without the code.
	if k2, err := b.KeyFromDB(f.db); err != nil || !bytes.Equal(k2, key) {
		t.Fatalf("KeyFromDB: %v", err)
	}
	other, _, _ := newTestDB(t)
	if _, err := b.KeyFromDB(other); !errors.Is(err, ErrBackupOtherKey) {
		t.Fatalf("another workstation's key: %v", err)
	}
	db := restoreTo(t, b, key)
	if db.Self().ID != f.db.Self().ID {
		t.Fatal("the restored database is another node")
	}
	if got, want := heads(t, db), heads(t, f.db); fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(want) != fmt.Sprint(h.Chains) {
		t.Fatalf("chain heads: restored %v, original %v, header %v", got, want, h.Chains)
	}
	if p, _ := db.IntegrityProblems(ctx); len(p) > 0 {
		t.Fatalf("integrity: %v", p)
	}
	var n int
	var found []Patient
	update(t, db, func(tx *Tx) error {
		var err error
		if n, err = tx.PatientCount(); err != nil {
			return err
		}
		found, err = tx.SearchPatients("quarring", 5) // the search index came along
		return err
	})
	if n != 501 || len(found) != 1 || found[0].MRN != "MRN-77123" {
		t.Fatalf("restored %d patients; search found %v", n, found)
	}
	// The copy still takes writes: schema, triggers and sequences came along.
	addPatient(t, db, Patient{Name: "After Restore", BirthDate: "2000-01-01"})
	auditN(t, db, 1)
}

func TestBackupNeverPlainOnDisk(t *testing.T) {
	f := newBackupFixture(t)
	markers := []string{"Wilhelmina Quarrington", "MRN-77123", "555-0142", "SQLite format 3"}
	entries, _ := os.ReadDir(filepath.Dir(f.path))
	if len(entries) != 1 {
		t.Fatalf("the backup folder holds %d files, want only the backup (no temp files left)", len(entries))
	}
	data, _ := os.ReadFile(f.path)
	for _, m := range markers {
		if bytes.Contains(data, []byte(m)) {
			t.Errorf("the backup file contains %q in plain text", m)
		}
	}
}

func TestBackupRefusesDamage(t *testing.T) {
	f := newBackupFixture(t)
	good, _ := os.ReadFile(f.path)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var damaged *BackupDamagedError
	// Truncated: in the body, and inside the header.
	for _, n := range []int{len(good) - 1, len(good) / 2, 200} {
		_, err := OpenBackup(write("cut", good[:n]))
		if !errors.As(err, &damaged) || !strings.Contains(err.Error(), "cut off") && !strings.Contains(err.Error(), "ends") {
			t.Errorf("cut at %d: %v", n, err)
		}
	}
	if _, err := OpenBackup(write("long", append(bytes.Clone(good), 0))); !errors.As(err, &damaged) {
		t.Errorf("extra byte: %v", err)
	}
	// A flipped bit in the body: the checksum says so, before any key is tried.
	flipped := bytes.Clone(good)
	flipped[len(flipped)-5000] ^= 0x10
	b, err := OpenBackup(write("flip", flipped))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CheckBody(); !errors.As(err, &damaged) || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("flipped body bit: %v", err)
	}
	target := t.TempDir()
	if err := b.WriteDatabase(target); err == nil {
		t.Error("a damaged body was written as a database")
	}
	if entries, _ := os.ReadDir(target); len(entries) != 0 {
		t.Errorf("a damaged restore left %d files behind", len(entries))
	}
	// An edited header field: parses, but the code finds it altered.
	edited := bytes.Replace(good, []byte("clinic: Riverside"), []byte("clinic: Riverbank"), 1)
	if b, err = OpenBackup(write("edit", edited)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.KeyFromCode(f.code); !errors.As(err, &damaged) || !strings.Contains(err.Error(), "header was changed") {
		t.Errorf("edited header: %v", err)
	}
	// The wrong recovery code.
	other, _ := NewRecoveryCode()
	if b, err = OpenBackup(f.path); err != nil {
		t.Fatal(err)
	}
	if _, err := b.KeyFromCode(other); !errors.Is(err, ErrBackupWrongCode) {
		t.Errorf("wrong code: %v", err)
	}
	// Not a backup at all; a newer version; nothing there.
	for name, data := range map[string][]byte{
		"kit":    f.kit.Marshal(),
		"empty":  nil,
		"v2":     bytes.Replace(good, []byte("ward-backup/v1"), []byte("ward-backup/v2"), 1),
		"sqlite": append([]byte("SQLite format 3\x00"), make([]byte, 4096)...),
	} {
		_, err := OpenBackup(write(name, data))
		if err == nil || (name != "v2" && !strings.Contains(err.Error(), "not a valid Ward backup")) ||
			(name == "v2" && !strings.Contains(err.Error(), "use a newer Ward")) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := OpenBackup(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "there is no backup file") {
		t.Errorf("missing file: %v", err)
	}
	// And a backup never replaces a file.
	if _, err := f.db.ExportBackup(context.Background(), f.path, BackupOptions{Kit: f.kit}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("overwrite: %v", err)
	}
}

// A backup taken while people keep working is one consistent moment: the
// copy's chains verify, and its heads are the ones the header names.
func TestBackupDuringWrites(t *testing.T) {
	ctx := context.Background()
	db, key, _ := newTestDB(t)
	update(t, db, func(tx *Tx) error { return tx.BulkAddPatients(benchPatients(20_000), nil) })
	kit, err := SealKit(key, "00000-00000-00000-00000-00000", "Riverside", db.Self().ID)
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var writes atomic.Int64
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				err := db.Update(ctx, func(tx *Tx) error {
					if _, err := tx.AddPatient(Patient{Name: fmt.Sprintf("Writer%d Person%d", w, i), BirthDate: "1990-01-01"}); err != nil {
						return err
					}
					_, err := tx.Audit(audit.Event{User: "u", Action: "patient.create", Outcome: audit.OutcomeSuccess})
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				writes.Add(1)
			}
		}()
	}
	for writes.Load() < 20 { // let the writers get going
		time.Sleep(time.Millisecond)
	}
	before := writes.Load()
	path := filepath.Join(t.TempDir(), "busy"+BackupExt)
	var calls atomic.Int64
	h, err := db.ExportBackup(ctx, path, BackupOptions{Kit: kit, Progress: func(done, total int64) { calls.Add(1) }})
	during := writes.Load() - before
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d writes committed while the backup ran; %d progress reports", during, calls.Load())
	if during == 0 {
		t.Error("no write committed during the backup: it blocked the workstation")
	}
	b, err := OpenBackup(path)
	if err != nil {
		t.Fatal(err)
	}
	bkey, err := b.KeyFromDB(db)
	if err != nil {
		t.Fatal(err)
	}
	copyDB := restoreTo(t, b, bkey)
	keys := audit.Keys{db.Self().ID: db.Self().PublicKey}
	rep, err := audit.Verify(ctx, copyDB.AuditReader(), keys, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("the copy's chain: %v %v", rep.Problem, err)
	}
	if got := heads(t, copyDB); fmt.Sprint(got) != fmt.Sprint(h.Chains) {
		t.Fatalf("copy heads %v, header %v", got, h.Chains)
	}
	// Every audited write in the copy has its patient, and no more.
	var patients, entries int
	update(t, copyDB, func(tx *Tx) error {
		var err error
		patients, err = tx.PatientCount()
		return err
	})
	entries = int(h.Chains[0].Seq)
	if patients != 20_000+entries {
		t.Fatalf("the copy has %d patients and %d audit entries: not one moment", patients, entries)
	}
}

func FuzzParseBackupHeader(f *testing.F) {
	fx := newBackupFixture(f)
	good, _ := os.ReadFile(fx.path)
	b, _ := OpenBackup(fx.path)
	f.Add(good[:b.offset])
	f.Add([]byte("ward-backup/v1\nclinic: x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, _, err := parseBackupHeader(bufioReader(data))
		if err != nil {
			return
		}
		// What parses must marshal back to the same bytes it came from.
		if !bytes.HasPrefix(data, h.marshal()) {
			t.Fatalf("parsed header does not round-trip")
		}
	})
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// vectorCode opens testdata/backup/good_v1.wbak (see its README).
const vectorCode = "VECT0-RC0DE-0F0RW-ARDBA-CKP01"

// A backup made by the first Ward that wrote ward-backup/v1 restores in this
// one: format stability, and old schemas migrated on open.
func TestBackupVectorV1(t *testing.T) {
	b, err := OpenBackup("testdata/backup/good_v1.wbak")
	if err != nil {
		t.Fatal(err)
	}
	h := b.Header
	if h.Clinic != "Vector Clinic" || len(h.Chains) != 1 || h.Chains[0].Seq != 3 || h.Kit.Clinic != "Vector Clinic" {
		t.Fatalf("header: %+v", h)
	}
	if err := b.CheckBody(); err != nil {
		t.Fatal(err)
	}
	key, err := b.KeyFromCode(vectorCode)
	if err != nil {
		t.Fatal(err)
	}
	db := restoreTo(t, b, key)
	if got := heads(t, db); fmt.Sprint(got) != fmt.Sprint(h.Chains) {
		t.Fatalf("heads %v, header %v", got, h.Chains)
	}
	var found []Patient
	update(t, db, func(tx *Tx) error {
		var err error
		found, err = tx.SearchPatients("vector", 5)
		return err
	})
	if len(found) != 1 || found[0].MRN != "VEC-0001" {
		t.Fatalf("found %+v", found)
	}
	if p, err := db.IntegrityProblems(context.Background()); err != nil || len(p) > 0 {
		t.Fatalf("integrity: %v %v", p, err)
	}
}
