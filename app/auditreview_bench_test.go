package app

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"ward/store"
	"ward/store/audit"
)

// BenchmarkReviewAudit1M reads pages of the audit viewer (100 entries,
// newest first) from a chain of WARD_AUDIT_ENTRIES entries (default one
// million): the first page, a page 90% of the way back (keyset paging: it
// should cost what the first does), and the first page of one person's
// entries and of one action prefix. Each page is one ReviewAudit, audited
// like the viewer's; "nomatch" is a filter no entry matches, which reads
// the whole chain. The chain is built once (≈ 2 minutes for a million).
func BenchmarkReviewAudit1M(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("WARD_AUDIT_ENTRIES")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	c, _, _ := newClinic(b)
	sec := signIn(b, c, "root", adminPW)
	users := []string{"u-ada", "u-bob", "u-cy", "u-dee"}
	acts := []Action{ActChartRead, ActPatientSearch, ActPatientRead, ActNoteWrite, ActSignIn}
	start := time.Now()
	const perTx = 20_000
	for done := 0; done < n; done += perTx {
		err := c.db.Update(ctx, func(tx *store.Tx) error {
			for i := done; i < min(n, done+perTx); i++ {
				if _, err := tx.Audit(audit.Event{User: users[i%len(users)], Action: string(acts[i%len(acts)]),
					Patient: fmt.Sprintf("p-%d", i%5000), Outcome: audit.OutcomeSuccess, Detail: "bench"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("built a chain of %d entries in %s", n, time.Since(start).Round(time.Second))

	// The cursor of the entry 90% of the way back.
	var deep *audit.Cursor
	r := audit.Review{Limit: 1000}
	for read := 0; read < n*9/10; read += 1000 {
		page, err := sec.ReviewAudit(ctx, r)
		if err != nil || len(page) == 0 {
			b.Fatal(err, len(page))
		}
		r.Before = audit.CursorOf(page[len(page)-1])
		deep = r.Before
	}

	for _, bc := range []struct {
		name string
		r    audit.Review
	}{
		{"first", audit.Review{Limit: 101}},
		{"deep", audit.Review{Limit: 101, Before: deep}},
		{"person", audit.Review{Limit: 101, Filter: audit.Filter{User: "u-cy"}}},
		{"prefix", audit.Review{Limit: 101, Action: "note."}},
		{"patient", audit.Review{Limit: 101, Filter: audit.Filter{Patient: "p-4321"}}},
		// No entry matches: the worst case, the whole chain is read.
		{"nomatch", audit.Review{Limit: 101, Outcome: audit.OutcomeDenied, Action: "clinic.rekey"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				page, err := sec.ReviewAudit(ctx, bc.r)
				if err != nil || (len(page) == 0) != (bc.name == "nomatch") {
					b.Fatal(err, len(page))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
		})
	}
}
