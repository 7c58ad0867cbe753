package app

import (
	"context"
	"strconv"
	"testing"
	"time"

	"ward/store"
)

// BenchmarkDemo100k is `ward demo --patients 100000` minus the printing:
// create the demo clinic (keyring, kit, accounts) and bulk-load 100k
// synthetic patients through the door. Reported in seconds (metric "s").
func BenchmarkDemo100k(b *testing.B) {
	n := 100_000
	if testing.Short() {
		n = 5_000
	}
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		start := time.Now()
		c, _, err := InitDemo(context.Background(), dir, osKeyring)
		if err != nil {
			b.Fatal(err)
		}
		s, err := c.SignIn(context.Background(), "admin", DemoPassword)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.ImportPatients(context.Background(), SyntheticPatients(n, 1, 10_000_000), nil); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s")
		c.Close()
		forgetKeys(dir)
	}
}

// BenchmarkChartRead measures the door's overhead on a clinician opening a
// chart: "door" is Session.Chart (active check, permission, restricted-chart
// check, the reads, an audit entry, commit); "bare" is the same reads in a
// transaction of their own, no check and no audit entry. "bare-write" is
// the bare reads plus one durable write, the cost of any commit that must
// reach the disk (WAL, synchronous=FULL): the audit entry is such a write.
func BenchmarkChartRead(b *testing.B) {
	ctx := context.Background()
	r := newRecordsClinic(b)
	pid := r.patient.ID
	for _, sub := range []string{"penicillin", "latex", "peanuts"} {
		if _, err := r.doc.AddAllergy(ctx, NewAllergy{PatientID: pid, Substance: sub, Reaction: "hives"}); err != nil {
			b.Fatal(err)
		}
	}
	for _, m := range []string{"metformin", "lisinopril"} {
		if _, err := r.doc.AddMedication(ctx, NewMedication{PatientID: pid, Name: m, Dose: "10 mg"}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := r.doc.AddProblem(ctx, NewProblem{PatientID: pid, Description: "type 2 diabetes", Code: "E11"}); err != nil {
		b.Fatal(err)
	}
	bareReads := func(tx *store.Tx) error {
		if _, err := tx.LivePatient(pid); err != nil {
			return err
		}
		if _, err := tx.Allergies(pid, true); err != nil {
			return err
		}
		if _, err := tx.Medications(pid, true); err != nil {
			return err
		}
		if _, err := tx.Problems(pid, true); err != nil {
			return err
		}
		if _, err := tx.Encounters(pid); err != nil {
			return err
		}
		if _, err := tx.Notes(pid); err != nil {
			return err
		}
		_, err := tx.Users()
		return err
	}
	b.Run("door", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := r.doc.Chart(ctx, pid); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := r.c.db.Update(ctx, bareReads); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare-write", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			err := r.c.db.Update(ctx, func(tx *store.Tx) error {
				if err := bareReads(tx); err != nil {
					return err
				}
				return tx.SetSetting("bench.touch", strconv.Itoa(i))
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSignIn is one password sign-in (argon2id at Ward's cost, the
// lockout bookkeeping and the audit entry). It is a security floor: 0.2–1 s
// on 2 cores, not less. Reported in seconds (metric "s").
func BenchmarkSignIn(b *testing.B) {
	c, _, _ := newClinic(b)
	ctx := context.Background()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		s, err := c.SignIn(ctx, "root", adminPW)
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		s.SignOut(ctx)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s")
}
