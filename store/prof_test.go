package store

import (
	"context"
	"sort"
	"testing"
	"time"
)

func BenchmarkProfQueries(b *testing.B) {
	db := benchClinic(b, 100000, true)
	for _, q := range benchQueries {
		var lat []time.Duration
		n := 0
		for i := 0; i < 50; i++ {
			t0 := time.Now()
			db.Update(context.Background(), func(tx *Tx) error { ps, err := tx.SearchPatients(q, 20); n = len(ps); return err })
			lat = append(lat, time.Since(t0))
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		m, _ := ftsQuery(q)
		b.Logf("%-14q p50 %v max %v (%d) %s", q, lat[25], lat[49], n, m)
	}
}
