package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mutecomm/go-sqlcipher/v4" // registers "sqlite3" for the plaintext-file test
)

func newTestDB(t testing.TB) (*DB, []byte, string) {
	t.Helper()
	dir := t.TempDir()
	key, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	db, err := Create(context.Background(), dir, key, "desk-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, key, dir
}

func addPatient(t testing.TB, db *DB, p Patient) Patient {
	t.Helper()
	err := db.Update(context.Background(), func(tx *Tx) error {
		var err error
		p, err = tx.AddPatient(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCreateOpenRoundTrip(t *testing.T) {
	db, key, dir := newTestDB(t)
	p := addPatient(t, db, Patient{Name: "Wilhelmina Quarrington", BirthDate: "1961-07-04", Phone: "555-0142"})
	self := db.Self()
	db.Close()

	db2, err := Open(context.Background(), dir, key)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if db2.Self().ID != self.ID || !bytes.Equal(db2.Self().PublicKey, self.PublicKey) {
		t.Fatalf("node identity changed across open: %v vs %v", db2.Self().ID, self.ID)
	}
	if len(self.ID) != 16 || self.ID != NodeID(self.PublicKey) {
		t.Fatalf("node id %q is not derived from its key", self.ID)
	}
	err = db2.Update(context.Background(), func(tx *Tx) error {
		got, err := tx.Patient(p.ID)
		if err != nil {
			return err
		}
		if got.Name != p.Name || got.MRN != p.MRN || len(got.MRN) != 8 {
			t.Errorf("read back %+v, want %+v", got, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrorsAreDistinct(t *testing.T) {
	ctx := context.Background()
	db, key, dir := newTestDB(t)
	db.Close()

	t.Run("missing database", func(t *testing.T) {
		_, err := Open(ctx, t.TempDir(), key)
		if !errors.Is(err, ErrNoDatabase) {
			t.Fatalf("got %v, want ErrNoDatabase", err)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		other, _ := NewKey()
		_, err := Open(ctx, dir, other)
		if !errors.Is(err, ErrWrongKey) {
			t.Fatalf("got %v, want ErrWrongKey", err)
		}
	})
	t.Run("plaintext sqlite file", func(t *testing.T) {
		plainDir := t.TempDir()
		plain, err := sql.Open("sqlite3", DBPath(plainDir))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := plain.Exec("CREATE TABLE patients(name TEXT); INSERT INTO patients VALUES ('x')"); err != nil {
			t.Fatal(err)
		}
		plain.Close()
		_, err = Open(ctx, plainDir, key)
		if !errors.Is(err, ErrPlaintext) {
			t.Fatalf("got %v, want ErrPlaintext", err)
		}
	})
	t.Run("foreign file", func(t *testing.T) {
		fdir := t.TempDir()
		os.WriteFile(DBPath(fdir), []byte("%PDF-1.7 this is a scanned referral letter\n"), 0o600)
		_, err := Open(ctx, fdir, key)
		if !errors.Is(err, ErrForeignFile) {
			t.Fatalf("got %v, want ErrForeignFile", err)
		}
	})
	t.Run("encrypted but not ward", func(t *testing.T) {
		fdir := t.TempDir()
		other, err := openSQL(fdir, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.sql.Exec("CREATE TABLE t(x)"); err != nil {
			t.Fatal(err)
		}
		other.sql.Close()
		_, err = Open(ctx, fdir, key)
		if !errors.Is(err, ErrForeignFile) {
			t.Fatalf("got %v, want ErrForeignFile", err)
		}
	})
	t.Run("create over existing", func(t *testing.T) {
		_, err := Create(ctx, dir, key, "x")
		if !errors.Is(err, ErrDatabaseExists) {
			t.Fatalf("got %v, want ErrDatabaseExists", err)
		}
	})
	// No error sentence may carry the key.
	for _, e := range []error{ErrNoDatabase, ErrWrongKey, ErrPlaintext, ErrForeignFile, ErrKeyMissing, &KeyringUnavailableError{Cause: errors.New("x")}} {
		if strings.Contains(strings.ToLower(e.Error()), strings.ToLower(string(key))) {
			t.Fatalf("error contains key material: %v", e)
		}
	}
}

// The database, its WAL and every other file of the data folder must hold no
// patient data in the clear after writes.
func TestNoPHIOnDisk(t *testing.T) {
	db, _, dir := newTestDB(t)
	markers := []string{"Wilhelmina Quarrington", "Zebediah-Unique-Surname", "555-0199-7731"}
	addPatient(t, db, Patient{Name: markers[0], BirthDate: "1961-07-04", Phone: markers[2]})
	addPatient(t, db, Patient{Name: markers[1], BirthDate: "1990-01-02"})
	// Leave the WAL in place (no checkpoint) so it is checked too.
	check := func(minFiles int) {
		t.Helper()
		files := 0
		filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			files++
			data, _ := os.ReadFile(path)
			for _, m := range markers {
				if bytes.Contains(data, []byte(m)) {
					t.Errorf("%s contains %q in plain text", filepath.Base(path), m)
				}
			}
			return nil
		})
		if files < minFiles {
			t.Fatalf("expected at least %d files (database, WAL), found %d", minFiles, files)
		}
	}
	if _, err := os.Stat(DBPath(dir) + "-wal"); err != nil {
		t.Fatalf("no WAL file to inspect: %v", err)
	}
	check(2)
	db.Close() // checkpoints the WAL into the database file
	check(1)
}

func TestSearchPatients(t *testing.T) {
	db, _, _ := newTestDB(t)
	ada := addPatient(t, db, Patient{Name: "Ada Lovelace", BirthDate: "1815-12-10", Phone: "555-0142", MRN: "A100"})
	addPatient(t, db, Patient{Name: "Adam Smith", BirthDate: "1723-06-16", Phone: "555-7777"})
	addPatient(t, db, Patient{Name: "Siobhán O'Brien", BirthDate: "1980-03-14"})
	cases := []struct {
		q    string
		want []string
	}{
		{"ada", []string{"Ada Lovelace", "Adam Smith"}},
		{"ada love", []string{"Ada Lovelace"}},
		{"LOVELACE", []string{"Ada Lovelace"}},
		{"5550142", []string{"Ada Lovelace"}},
		{"555-0142", []string{"Ada Lovelace"}},
		{"A100", []string{"Ada Lovelace"}},
		{"1815-12-10", []string{"Ada Lovelace"}},
		{"siobhan", []string{"Siobhán O'Brien"}}, // diacritics folded
		{"ada l", []string{"Ada Lovelace"}},      // an initial beside a word
		{"s o'b", []string{"Siobhán O'Brien"}},
		{"a", []string{"Ada Lovelace", "Adam Smith"}},
		{"ada x", nil},
		{"o'brien", []string{"Siobhán O'Brien"}},
		{`" OR 1=1 --`, nil},
		{"nobody", nil},
		{"", nil},
	}
	for _, c := range cases {
		var got []string
		err := db.Update(context.Background(), func(tx *Tx) error {
			ps, err := tx.SearchPatients(c.q, 10)
			for _, p := range ps {
				got = append(got, p.Name)
			}
			return err
		})
		if err != nil {
			t.Fatalf("search %q: %v", c.q, err)
		}
		if strings.Join(sortedCopy(got), "|") != strings.Join(sortedCopy(c.want), "|") {
			t.Errorf("search %q = %v, want %v", c.q, got, c.want)
		}
	}
	_ = ada
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

func TestBulkAddKeepsSearchAndTriggers(t *testing.T) {
	db, _, _ := newTestDB(t)
	ps := []Patient{{Name: "Bulk One", BirthDate: "2000-01-01", MRN: "B1"}, {Name: "Bulk Two", BirthDate: "2000-01-02", MRN: "B2"}}
	err := db.Update(context.Background(), func(tx *Tx) error { return tx.BulkAddPatients(ps, nil) })
	if err != nil {
		t.Fatal(err)
	}
	// A patient added after the bulk load is indexed by the restored triggers.
	addPatient(t, db, Patient{Name: "After Bulk", BirthDate: "2000-01-03"})
	db.Update(context.Background(), func(tx *Tx) error {
		for q, want := range map[string]int{"bulk": 3, "two": 1, "after": 1} {
			ps, err := tx.SearchPatients(q, 10)
			if err != nil || len(ps) != want {
				t.Errorf("search %q: %d results (%v), want %d", q, len(ps), err, want)
			}
		}
		trig, _ := tx.patientTriggers()
		if len(trig) != 4 { // 3 search triggers + patients_field_clocks (005)
			t.Errorf("%d patient triggers after the bulk load, want 4", len(trig))
		}
		return nil
	})
	// A duplicate MRN rolls the whole import back.
	err = db.Update(context.Background(), func(tx *Tx) error {
		return tx.BulkAddPatients([]Patient{{Name: "Dup", BirthDate: "2000-01-01", MRN: "B1"}}, nil)
	})
	if !errors.Is(err, ErrMRNTaken) {
		t.Fatalf("duplicate MRN in bulk: %v", err)
	}
}

func TestRekey(t *testing.T) {
	ctx := context.Background()
	db, oldKey, dir := newTestDB(t)
	p := addPatient(t, db, Patient{Name: "Rekey Person", BirthDate: "1970-01-01"})
	newKey, _ := NewKey()
	if err := db.Rekey(ctx, newKey); err != nil {
		t.Fatal(err)
	}
	// Still usable in this process under the new key.
	addPatient(t, db, Patient{Name: "After Rekey", BirthDate: "1970-01-02"})
	db.Close()
	if _, err := Open(ctx, dir, oldKey); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("old key after rekey: %v, want ErrWrongKey", err)
	}
	db2, err := Open(ctx, dir, newKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	db2.Update(ctx, func(tx *Tx) error {
		if _, err := tx.Patient(p.ID); err != nil {
			t.Errorf("patient lost in rekey: %v", err)
		}
		return nil
	})
	if probs, err := db2.IntegrityProblems(ctx); err != nil || len(probs) > 0 {
		t.Fatalf("integrity after rekey: %v %v", probs, err)
	}
}

func TestIDsAndClock(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for i := 0; i < 1000; i++ {
		id := NewID()
		if len(id) != 36 || id[14] != '7' || !strings.ContainsRune("89ab", rune(id[19])) {
			t.Fatalf("%q is not a UUIDv7", id)
		}
		if seen[id] || id[:13] < prev[:min(13, len(prev))] {
			t.Fatalf("duplicate or out-of-order id %q", id)
		}
		seen[id] = true
		prev = id
	}
	var c HLC
	a := c.Next()
	c.Observe(a + 1000)
	if b := c.Next(); b <= a+1000 {
		t.Fatalf("HLC did not move past an observed time: %d <= %d", b, a+1000)
	}
}
