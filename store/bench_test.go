package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"ward/store/audit"
)

// Benchmarks for `make bench` (docs/BENCHMARKS.md). Every figure that has a
// target is measured beside its baseline in the same run:
//   search: SQLCipher vs the same driver with no key;
//   audit append: the same transaction with and without the audit entry.

var benchDBs sync.Map // "encrypted-100000" -> *DB, built once per process

// benchClinic returns a database with n synthetic patients, encrypted or
// not, built once per process with the bulk path.
func benchClinic(b *testing.B, n int, encrypted bool) *DB {
	name := fmt.Sprintf("%v-%d", encrypted, n)
	if db, ok := benchDBs.Load(name); ok {
		return db.(*DB)
	}
	dir, err := os.MkdirTemp("", "ward-bench-")
	if err != nil {
		b.Fatal(err)
	}
	benchDirs = append(benchDirs, dir)
	key, _ := NewKey()
	db, err := createForBench(dir, key, !encrypted)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	ps := benchPatients(n)
	if err := db.Update(context.Background(), func(tx *Tx) error { return tx.BulkAddPatients(ps, nil) }); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %s clinic of %d patients in %v", map[bool]string{true: "encrypted", false: "plain"}[encrypted], n, time.Since(start))
	benchDBs.Store(name, db)
	return db
}

var benchDirs []string

// createForBench is Create, or with plain=true the same schema in a file
// with no key at all (the baseline).
func createForBench(dir string, key []byte, plain bool) (*DB, error) {
	if !plain {
		return Create(context.Background(), dir, key, "bench")
	}
	c := &connector{path: DBPath(dir), key: key, keyless: true}
	db := &DB{sql: sql.OpenDB(c), conn: c, dir: dir}
	ctx := context.Background()
	if _, err := db.sql.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
		return nil, err
	}
	if err := migrate(ctx, db.sql); err != nil {
		return nil, err
	}
	if err := db.createNode(ctx, "bench"); err != nil {
		return nil, err
	}
	return db, db.load(ctx)
}

// benchPatients: deterministic synthetic demographics with realistic name
// tokens — whole given, middle and family names, some double-barrelled —
// so prefix queries meet the term dictionary a clinic's would have.
func benchPatients(n int) []Patient {
	given := strings.Fields(`Ada Amir Beatriz Chen Dmitri Elif Fatima Grace Hiro Ines Jonas Kwame Leila Mateo Nadia Oskar Priya Rosa
		Sven Tariq Uma Viktor Wen Ximena Yusuf Zoe Maren Colm Aisling Bruno Carmen Dara Emil Freya Gustav Hana Ivo Jana Kofi Lina
		Milo Noor Olga Pavel Rafael Sara Tomas Ulla Vera Wanda`)
	family := strings.Fields(`Abara Bergström Castillo Dubois Eriksen Fujita García Haddad Ivanova Jensen Kowalski Lindqvist Moreau
		Nakamura OBrien Petrov Quispe Rahman Schmidt Tanaka Varga Whitfield Yilmaz Zhang Okafor Novak Murphy Costa Umarov Xu
		Rossi Romero Roth Rojas Rowe Nakagawa Nakata Garner Gardner Garcia Ines Mendes Silva Santos Kim Park Lee Nguyen Tran Singh
		Patel Khan Ali Hussain Cohen Levi Weber Fischer Wagner Becker Hoffmann Schulz Koch Richter Klein Wolf Neumann Schwarz`)
	ps := make([]Patient, n)
	x := uint32(2463534242)
	rnd := func(m int) int { x ^= x << 13; x ^= x >> 17; x ^= x << 5; return int(x % uint32(m)) }
	for i := range ps {
		name := given[rnd(len(given))]
		if rnd(4) == 0 {
			name += " " + given[rnd(len(given))]
		}
		name += " " + family[rnd(len(family))]
		if rnd(10) == 0 {
			name += "-" + family[rnd(len(family))]
		}
		ps[i] = Patient{MRN: fmt.Sprintf("%08d", 10_000_000+i), Name: name,
			BirthDate: fmt.Sprintf("%04d-%02d-%02d", 1930+rnd(94), 1+rnd(12), 1+rnd(28)),
			Phone:     fmt.Sprintf("555-%03d-%04d", rnd(1000), rnd(10000))}
	}
	return ps
}

// Queries as typed at the front desk: a partial name, a name and initial,
// an MRN, a phone number, a birth date.
var benchQueries = []string{"grac", "nakamura ro", "10004711", "555-123", "1984-03", "ines garc", "tariq", "zhang a"}

func benchmarkSearch(b *testing.B, n int, encrypted bool) {
	db := benchClinic(b, n, encrypted)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := benchQueries[i%len(benchQueries)]
		t0 := time.Now()
		err := db.Update(ctx, func(tx *Tx) error {
			_, err := tx.SearchPatients(q, 20)
			return err
		})
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

func BenchmarkSearch(b *testing.B) {
	sizes := []int{100_000, 1_000_000}
	if testing.Short() {
		sizes = []int{10_000}
	}
	for _, n := range sizes {
		for _, enc := range []bool{false, true} {
			name := map[bool]string{true: "encrypted", false: "nokey"}[enc]
			b.Run(fmt.Sprintf("patients=%d/%s", n, name), func(b *testing.B) { benchmarkSearch(b, n, enc) })
		}
	}
}

// BenchmarkWrite: registering one patient per transaction (commit and fsync
// included), without and with its audit entry.
func BenchmarkWrite(b *testing.B) {
	for _, withAudit := range []bool{false, true} {
		b.Run(map[bool]string{false: "without-audit", true: "with-audit"}[withAudit], func(b *testing.B) {
			dir := b.TempDir()
			key, _ := NewKey()
			db, err := Create(context.Background(), dir, key, "bench")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				err := db.Update(ctx, func(tx *Tx) error {
					p, err := tx.AddPatient(Patient{Name: "Bench Person", BirthDate: "1980-01-01", Phone: "555-0100"})
					if err != nil || !withAudit {
						return err
					}
					_, err = tx.Audit(audit.Event{User: "bench", Action: "patient.create", Patient: p.ID, Outcome: audit.OutcomeSuccess})
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	benchDBs.Range(func(_, v any) bool { v.(*DB).Close(); return true })
	for _, d := range benchDirs {
		os.RemoveAll(filepath.Clean(d))
	}
	os.Exit(code)
}
