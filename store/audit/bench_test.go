package audit_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	sqlite3 "github.com/mutecomm/go-sqlcipher/v4"

	"ward/store/audit"
)

// The benchmarks open the database three ways, to show what the audit code
// costs and what the database setup around it costs:
//
//	dsn        the DSN of the brief, driver defaults (2 MB page cache: every
//	           verify decrypts every page again, like the first one after start)
//	cache64M   + PRAGMA cache_size = -65536 in a ConnectHook (DESIGN §3)
//	memsecOff  + PRAGMA cipher_memory_security = OFF (SQLCipher 4.4 mlocks and
//	           wipes every SQLite allocation by default; process-wide switch)
func init() {
	hook := func(memsecOff bool) func(*sqlite3.SQLiteConn) error {
		return func(c *sqlite3.SQLiteConn) error {
			if memsecOff {
				if _, err := c.Exec("PRAGMA cipher_memory_security = OFF", nil); err != nil {
					return err
				}
			}
			_, err := c.Exec("PRAGMA cache_size = -65536", nil)
			return err
		}
	}
	sql.Register("sqlite3_audit_cache64M", &sqlite3.SQLiteDriver{ConnectHook: hook(false)})
	sql.Register("sqlite3_audit_memsecOff", &sqlite3.SQLiteDriver{ConnectHook: hook(true)})
}

const benchEntries = 100_000

var benchDB struct {
	once sync.Once
	dir  string
	dsn  string
	node string
	keys audit.Keys
	err  error
}

// benchDatabase builds, once per test binary, an encrypted database holding
// one chain of benchEntries entries (checkpoint every 1000), and returns the
// DSN to open it.
func benchDatabase(b *testing.B) (dsn string, keys audit.Keys) {
	benchDB.once.Do(func() {
		benchDB.dir, benchDB.err = os.MkdirTemp("", "ward-audit-bench")
		if benchDB.err != nil {
			return
		}
		key := make([]byte, 32)
		for i := range key {
			key[i] = byte(i)
		}
		benchDB.dsn = filepath.Join(benchDB.dir, "ward.db") + "?_pragma_key=" + url.QueryEscape("x'"+hex.EncodeToString(key)+"'") +
			"&_pragma_cipher_page_size=4096&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate"
		db, err := sql.Open("sqlite3_audit_cache64M", benchDB.dsn)
		if err != nil {
			benchDB.err = err
			return
		}
		defer db.Close()
		mig, err := os.ReadFile("../migrations/001_init.sql")
		if err != nil {
			benchDB.err = err
			return
		}
		if _, err := db.Exec(string(mig)); err != nil {
			benchDB.err = err
			return
		}
		clk := &fakeClock{t: t0}
		w := &audit.Writer{Node: "0193a1c3-aaaa-7bbb-8ccc-000000000001", Key: newKey(1), Now: clk.Now}
		fill(b, db, w, clk, benchEntries)
		if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			benchDB.err = err
		}
		benchDB.node, benchDB.keys = w.Node, audit.Keys{w.Node: pub(w.Key)}
	})
	if benchDB.err != nil {
		b.Fatal(benchDB.err)
	}
	return benchDB.dsn, benchDB.keys
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDB.dir != "" {
		os.RemoveAll(benchDB.dir)
	}
	os.Exit(code)
}

var benchSetups = []struct{ name, driver string }{
	{"dsn", "sqlite3"},
	{"cache64M", "sqlite3_audit_cache64M"},
	{"memsecOff", "sqlite3_audit_memsecOff"}, // keep last: the switch is process-wide
}

// restoreMemsec turns SQLCipher's memory security back on (its default) for
// whatever runs after a memsecOff benchmark.
func restoreMemsec(b *testing.B, db *sql.DB) {
	if _, err := db.Exec("PRAGMA cipher_memory_security = ON"); err != nil {
		b.Fatal(err)
	}
}

func reportPerEntry(b *testing.B, entries int) {
	perEntry := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(entries)
	b.ReportMetric(perEntry, "ns/entry")
	b.ReportMetric(1e9/perEntry, "entries/s")
}

// BenchmarkVerify verifies the 100k-entry chain. Compare ns/entry with
// BenchmarkRawScan (reading the rows) and BenchmarkRawSHA256 (hashing them).
func BenchmarkVerify(b *testing.B) {
	dsn, keys := benchDatabase(b)
	for _, s := range benchSetups {
		b.Run(s.name, func(b *testing.B) {
			db, err := sql.Open(s.driver, dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if s.name == "memsecOff" {
				defer restoreMemsec(b, db)
			}
			ctx := context.Background()
			// One untimed pass opens the connections (and, with a big cache,
			// loads the pages); the timed passes show the steady state.
			if _, err := audit.Verify(ctx, db, keys, nil); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				r, err := audit.Verify(ctx, db, keys, nil)
				if err != nil || !r.OK() || r.Chains[0].Entries != benchEntries {
					b.Fatalf("verify: %v %v", err, r.Problem)
				}
			}
			reportPerEntry(b, benchEntries)
			if fi, err := os.Stat(filepath.Join(benchDB.dir, "ward.db")); err == nil {
				b.ReportMetric(float64(fi.Size())/benchEntries, "dbbytes/entry")
			}
		})
	}
}

// BenchmarkRawScan reads the columns Verify reads, on one connection, and
// does nothing with them: the floor the driver sets (cgo calls per column,
// SQLCipher's allocator), to compare with BenchmarkVerify.
func BenchmarkRawScan(b *testing.B) {
	dsn, _ := benchDatabase(b)
	for _, s := range benchSetups {
		b.Run(s.name, func(b *testing.B) {
			db, err := sql.Open(s.driver, dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if s.name == "memsecOff" {
				defer restoreMemsec(b, db)
			}
			db.SetMaxOpenConns(1)
			scan := func() {
				rows, err := db.Query(`SELECT seq, at, hash, user_id, action, patient_id, outcome, detail, grant_id
					FROM audit_entries WHERE node = ? ORDER BY seq`, benchDB.node)
				if err != nil {
					b.Fatal(err)
				}
				defer rows.Close()
				var seq, at int64
				var f [7]sql.RawBytes
				n := 0
				for rows.Next() {
					if err := rows.Scan(&seq, &at, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6]); err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != benchEntries {
					b.Fatalf("%d rows", n)
				}
			}
			scan()
			b.ReportAllocs()
			for b.Loop() {
				scan()
			}
			reportPerEntry(b, benchEntries)
		})
	}
}

// BenchmarkRawSHA256 chains SHA-256 over the same canonical bytes Verify
// hashes (prev || canonical entry), with nothing else: the floor for Verify.
func BenchmarkRawSHA256(b *testing.B) {
	dsn, _ := benchDatabase(b)
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var canon [][]byte
	rows, err := db.Query(`SELECT node, seq, at, user_id, action, patient_id, outcome, detail, grant_id FROM audit_entries ORDER BY node, seq`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var e audit.Entry
		var at int64
		if err := rows.Scan(&e.Node, &e.Seq, &at, &e.User, &e.Action, &e.Patient, &e.Outcome, &e.Detail, &e.Grant); err != nil {
			b.Fatal(err)
		}
		e.Time = time.Unix(0, at)
		canon = append(canon, audit.Canonical(e))
	}
	rows.Close()
	if len(canon) != benchEntries {
		b.Fatalf("%d entries", len(canon))
	}
	var size int
	for _, c := range canon {
		size += 32 + len(c)
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		var prev [32]byte
		for _, c := range canon {
			buf = append(append(buf[:0], prev[:]...), c...)
			prev = sha256.Sum256(buf)
		}
	}
	b.ReportMetric(float64(size)/benchEntries, "bytes/entry")
	reportPerEntry(b, benchEntries)
}

// BenchmarkAppend appends one entry per transaction, as session.Do does
// (commit-each: mostly the WAL fsync), and many entries per transaction,
// committing every 1000 (in-one-tx: the cost of Append itself).
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	for _, s := range benchSetups {
		for _, perTx := range []int{1, 1000} {
			name := s.name + "/commit-each"
			if perTx > 1 {
				name = s.name + "/in-one-tx"
			}
			b.Run(name, func(b *testing.B) {
				dsn := filepath.Join(b.TempDir(), "w.db") + "?_pragma_key=" + url.QueryEscape("x'"+hex.EncodeToString(make([]byte, 32))+"'") +
					"&_pragma_cipher_page_size=4096&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate"
				db, err := sql.Open(s.driver, dsn)
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				if s.name == "memsecOff" {
					defer restoreMemsec(b, db)
				}
				mig, _ := os.ReadFile("../migrations/001_init.sql")
				if _, err := db.Exec(string(mig)); err != nil {
					b.Fatal(err)
				}
				clk := &fakeClock{t: t0}
				w := &audit.Writer{Node: "bench-node", Key: newKey(2), Now: clk.Now}
				var tx *sql.Tx
				i := 0
				b.ReportAllocs()
				for b.Loop() {
					if tx == nil {
						if tx, err = db.BeginTx(ctx, nil); err != nil {
							b.Fatal(err)
						}
					}
					if _, err := w.Append(ctx, tx, sampleEvent(i)); err != nil {
						b.Fatal(err)
					}
					i++
					clk.Advance(time.Millisecond)
					if i%perTx == 0 {
						if err := tx.Commit(); err != nil {
							b.Fatal(err)
						}
						tx = nil
					}
				}
				if tx != nil {
					tx.Commit()
				}
				reportPerEntry(b, 1)
			})
		}
	}
}
