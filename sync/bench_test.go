package sync

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ward/store"
)

// Benchmarks of the segment layer (make bench; docs/BENCHMARKS.md):
//
//	BenchmarkApply      applying segments of 1000 changes (patient
//	                    registrations, with the search index kept by its
//	                    triggers): changes/s and ms per segment
//	BenchmarkJoin100k   a new workstation brought to a 100k-patient clinic
//	                    by snapshot: write, then install (target < 60 s)

func syntheticPatients(n int, seed uint64) []store.Patient {
	r := rand.New(rand.NewPCG(seed, 1))
	given := []string{"Ada", "Bruno", "Chidi", "Dana", "Elif", "Farid", "Greta", "Hana", "Ivo", "Jun", "Kofi", "Lena"}
	family := []string{"Okafor", "Lindqvist", "Moreau", "Nakamura", "Petrov", "Quispe", "Rossi", "Sato", "Tanaka", "Usman"}
	ps := make([]store.Patient, n)
	for i := range ps {
		ps[i] = store.Patient{
			MRN:       fmt.Sprintf("%08d", 20_000_000+int(seed%1000)*100_000+i),
			Name:      given[r.IntN(len(given))] + " " + family[r.IntN(len(family))],
			BirthDate: fmt.Sprintf("%04d-%02d-%02d", 1930+r.IntN(94), 1+r.IntN(12), 1+r.IntN(28)),
			Sex:       []string{"female", "male", "other"}[r.IntN(3)],
			Phone:     fmt.Sprintf("555-%03d-%04d", r.IntN(1000), r.IntN(10000)),
			Address:   fmt.Sprintf("%d Long Street", 1+r.IntN(200)),
		}
	}
	return ps
}

func BenchmarkApply(b *testing.B) {
	const perSegment, segments = 1000, 10
	var applied time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		a := newClinic(b, "A")
		j := a.join(b, "J")
		a.export(b)
		deliver(b, a, j)
		j.importAll(b) // what came before: not measured
		for s := 0; s < segments; s++ {
			ps := syntheticPatients(perSegment, uint64(s))
			a.do(b, func(tx *store.Tx) error {
				for _, p := range ps {
					if _, err := tx.AddPatient(p); err != nil {
						return err
					}
				}
				return nil
			})
			if res := a.export(b); len(res.Files) != 1 || res.Changes != perSegment {
				b.Fatalf("export: %+v, want one segment of %d changes", res, perSegment)
			}
		}
		deliver(b, a, j)
		b.StartTimer()
		t0 := time.Now()
		got, err := j.r.ImportFrom(bg, a.id())
		applied += time.Since(t0)
		if err != nil || len(got.Quarantined) > 0 || got.Changes < perSegment*segments {
			b.Fatalf("apply: %+v %v", got, err)
		}
	}
	per := applied / time.Duration(b.N*segments)
	b.ReportMetric(float64(per)/1e6, "ms/segment")
	b.ReportMetric(float64(perSegment)/per.Seconds(), "changes/s")
}

func mustList(b testing.TB, dir string) []segmentFile {
	fs, err := listSegments(dir)
	if err != nil {
		b.Fatal(err)
	}
	return fs
}

// BenchmarkJoin100k: a clinic of 100,000 patients (a bulk import, then a
// day of ordinary writes) and a new workstation that starts from its
// snapshot. Reported: s (write + install, the join), write-s (the
// snapshot alone), snapshot MB.
func BenchmarkJoin100k(b *testing.B) {
	n := 100_000
	if testing.Short() {
		n = 5_000
	}
	a := newClinic(b, "A")
	a.do(b, func(tx *store.Tx) error { return tx.BulkAddPatients(syntheticPatients(n, 7), nil) })
	for i := 0; i < 200; i++ {
		a.addPatient(b, store.Patient{Name: "Walk In", BirthDate: "1990-01-01"})
	}
	b.ResetTimer()
	var total, wrote time.Duration
	var size int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		j := newEmptyNode(b, "J")
		self := j.db.Self()
		a.do(b, func(tx *store.Tx) error { _, err := tx.AdmitNode(self.ID, "J", self.PublicKey); return err })
		ck, _ := a.db.ClinicKey(bg)
		if err := j.db.SetClinicKey(bg, ck); err != nil {
			b.Fatal(err)
		}
		path := filepath.Join(b.TempDir(), "join.wsnap")
		b.StartTimer()
		t0 := time.Now()
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		info, err := a.r.WriteSnapshot(bg, f)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
		wrote += time.Since(t0)
		in, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		got, err := j.r.InstallSnapshot(bg, in, a.db.Self().PublicKey)
		in.Close()
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
		size = info.Bytes
		b.StopTimer()
		if got.Rows < n {
			b.Fatalf("installed %d rows, want at least %d", got.Rows, n)
		}
		j.do(b, func(tx *store.Tx) error {
			if c, _ := tx.PatientCount(); c != n+200 {
				b.Fatalf("the new workstation has %d patients, want %d", c, n+200)
			}
			if ps, _ := tx.SearchPatients("walk in", 5); len(ps) == 0 {
				b.Fatal("search finds nothing on the new workstation")
			}
			return nil
		})
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s")
	b.ReportMetric(wrote.Seconds()/float64(b.N), "write-s")
	b.ReportMetric(float64(size)/1e6, "snapshot-MB")
}
