package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ward/store"
	"ward/store/audit"
)

// BenchmarkBackup100k: the demo clinic with 100k synthetic patients and an
// audit trail of 200k entries (a clinic that size has read and written
// records), built once; then, reported in seconds (metric "s"):
//
//	backup   Session.Backup to a file (`ward backup --out`): target < 10 s
//	restore  Restore with the recovery code (`ward restore`): file checks,
//	         argon2id, integrity and cipher checks, every chain verified,
//	         re-encryption under a new key: target < 30 s
//	verify   Session.VerifyBackup, the restore drill (`ward backup verify`)
func BenchmarkBackup100k(b *testing.B) {
	ctx := context.Background()
	n := 100_000
	if testing.Short() {
		n = 5_000
	}
	dir := b.TempDir()
	start := time.Now()
	c, code, err := InitDemo(ctx, dir, osKeyring)
	if err != nil {
		b.Fatal(err)
	}
	defer forgetKeys(dir)
	defer c.Close()
	s, err := c.SignIn(ctx, DemoUsers[0].Username, DemoPassword)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.ImportPatients(ctx, SyntheticPatients(n, 1, 10_000_000), nil); err != nil {
		b.Fatal(err)
	}
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		for i := range 2 * n {
			if _, err := tx.Audit(audit.Event{User: s.User().ID, Action: string(ActPatientRead), Outcome: audit.OutcomeSuccess,
				Detail: fmt.Sprint(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("built a clinic of %d patients and %d audit entries in %v", n, 2*n, time.Since(start))

	path := filepath.Join(b.TempDir(), "bench"+store.BackupExt)
	b.Run("backup", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			os.Remove(path)
			start := time.Now()
			res, err := s.Backup(ctx, path, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(start).Seconds(), "s")
			b.ReportMetric(float64(res.Bytes)/1e6, "MB")
		}
	})
	b.Run("verify", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			start := time.Now()
			rep, err := s.VerifyBackup(ctx, path, nil)
			if err != nil || !rep.OK() {
				b.Fatalf("%s %v", rep.Summary(), err)
			}
			b.ReportMetric(time.Since(start).Seconds(), "s")
		}
	})
	b.Run("restore", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			target := filepath.Join(b.TempDir(), "restored")
			start := time.Now()
			res, err := Restore(ctx, RestoreOptions{From: path, Dir: target, Keyring: osKeyring,
				Code: func() (string, error) { return code, nil }, Progress: func(st string) { b.Logf("%v %s", time.Since(start), st) }})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(start).Seconds(), "s")
			res.Clinic.Close()
			forgetKeys(target)
		}
	})
}
