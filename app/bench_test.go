package app

import (
	"context"
	"testing"
	"time"
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
