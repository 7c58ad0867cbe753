package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"ward/store/audit"
)

func countRows(t testing.TB, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func checkpointSeqs(t testing.TB, db *sql.DB, node string) []uint64 {
	t.Helper()
	rows, err := db.Query(`SELECT seq FROM audit_checkpoints WHERE node = ? ORDER BY seq`, node)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var seqs []uint64
	for rows.Next() {
		var s uint64
		rows.Scan(&s)
		seqs = append(seqs, s)
	}
	return seqs
}

// The entry commits or rolls back with the caller's change.
func TestAppendRolledBackLeavesNothing(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	clk := &fakeClock{t: t0}
	w := &audit.Writer{Node: "n1", Key: newKey(1), Now: clk.Now, CheckpointEvery: 1}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO settings (key, value, origin, hlc) VALUES ('k', 'v', 'n1', 1)`); err != nil {
		t.Fatal(err)
	}
	e, err := w.Append(ctx, tx, sampleEvent(0))
	if err != nil || e.Seq != 1 {
		t.Fatalf("append: %v, seq %d", err, e.Seq)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, `SELECT count(*) FROM audit_entries`); n != 0 {
		t.Fatalf("%d entries after rollback", n)
	}
	if n := countRows(t, db, `SELECT count(*) FROM audit_checkpoints`); n != 0 {
		t.Fatalf("%d checkpoints after rollback", n)
	}
	// The next entry takes seq 1 again: the chain has no hole.
	got := fill(t, db, w, clk, 1)
	if got[0].Seq != 1 {
		t.Fatalf("seq %d after rollback, want 1", got[0].Seq)
	}
}

func TestAppendStoresWhatItReturns(t *testing.T) {
	db := openDB(t)
	clk := &fakeClock{t: t0}
	w := &audit.Writer{Node: "n1", Key: newKey(1), Now: clk.Now}
	ctx := context.Background()
	ev := audit.Event{Time: time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600)), User: "u1",
		Action: "patient.read", Patient: "p1", Outcome: audit.OutcomeSuccess, Detail: "line 1\r\nline 2\rline 3", Grant: "g1"}
	tx, _ := db.BeginTx(ctx, nil)
	e, err := w.Append(ctx, tx, ev)
	if err != nil {
		t.Fatal(err)
	}
	tx.Commit()
	if e.Detail != "line 1\nline 2\nline 3" {
		t.Errorf("detail %q: line breaks not normalized", e.Detail)
	}
	if e.Time.Location() != time.UTC || !e.Time.Equal(ev.Time) {
		t.Errorf("time %v, want %v in UTC", e.Time, ev.Time)
	}
	if e.Hash != audit.ChainHash([32]byte{}, e) {
		t.Error("returned hash is not ChainHash(zero, entry)")
	}
	var at int64
	var hash []byte
	var detail string
	if err := db.QueryRow(`SELECT at, hash, detail FROM audit_entries WHERE node = 'n1' AND seq = 1`).Scan(&at, &hash, &detail); err != nil {
		t.Fatal(err)
	}
	if at != ev.Time.UnixNano() || [32]byte(hash) != e.Hash || detail != e.Detail {
		t.Error("stored row differs from the returned entry")
	}
}

func TestCheckpointEveryK(t *testing.T) {
	db := openDB(t)
	clk := &fakeClock{t: t0}
	w := &audit.Writer{Node: "n1", Key: newKey(1), Now: clk.Now, CheckpointEvery: 5, CheckpointInterval: time.Hour}
	fill(t, db, w, clk, 12)
	if got := checkpointSeqs(t, db, "n1"); !slices.Equal(got, []uint64{5, 10}) {
		t.Fatalf("checkpoints at %v, want [5 10]", got)
	}
}

func TestCheckpointEveryT(t *testing.T) {
	db := openDB(t)
	clk := &fakeClock{t: t0}
	// fill spaces entries one second apart: with T = 10 s the first
	// checkpoint comes 10 s after the first entry, then every 10 s.
	w := &audit.Writer{Node: "n1", Key: newKey(1), Now: clk.Now, CheckpointEvery: 1000, CheckpointInterval: 10 * time.Second}
	fill(t, db, w, clk, 25)
	if got := checkpointSeqs(t, db, "n1"); !slices.Equal(got, []uint64{11, 21}) {
		t.Fatalf("checkpoints at %v, want [11 21]", got)
	}
	// A quiet node: the next entry, long after, is checkpointed at once.
	clk.Advance(time.Hour)
	fill(t, db, w, clk, 1)
	if got := checkpointSeqs(t, db, "n1"); !slices.Equal(got, []uint64{11, 21, 26}) {
		t.Fatalf("checkpoints at %v, want [11 21 26]", got)
	}
}

func TestForcedCheckpoint(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	clk := &fakeClock{t: t0}
	w := &audit.Writer{Node: "n1", Key: newKey(1), Now: clk.Now}
	if _, err := w.Checkpoint(ctx, db); !errors.Is(err, audit.ErrEmptyChain) {
		t.Fatalf("checkpoint of an empty chain: %v, want ErrEmptyChain", err)
	}
	entries := fill(t, db, w, clk, 3)
	cp, err := w.Checkpoint(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Seq != 3 || cp.Head != entries[2].Hash || !cp.Valid(pub(w.Key)) {
		t.Fatalf("checkpoint %+v does not sign the head", cp)
	}
	clk.Advance(time.Minute)
	again, err := w.Checkpoint(ctx, db)
	if err != nil || !again.Time.Equal(cp.Time) || string(again.Signature) != string(cp.Signature) {
		t.Fatalf("second checkpoint of the same head: %v %+v, want the first one back", err, again)
	}
	if got := checkpointSeqs(t, db, "n1"); !slices.Equal(got, []uint64{3}) {
		t.Fatalf("checkpoints at %v", got)
	}
	if cp.Valid(pub(newKey(2))) {
		t.Fatal("checkpoint verifies under another key")
	}
}

// Bad events are refused, and the error names the field, never its value
// (which may be PHI).
func TestAppendRefusesBadEvents(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	w := &audit.Writer{Node: "n1", Key: newKey(1)}
	secret := "Jane\x01Doe"
	for _, tc := range []struct {
		name string
		ev   audit.Event
	}{
		{"no action", audit.Event{User: "u", Outcome: audit.OutcomeSuccess}},
		{"bad outcome", audit.Event{User: "u", Action: "a", Outcome: "ok"}},
		{"control char", audit.Event{User: "u", Action: "a", Patient: secret, Outcome: audit.OutcomeSuccess}},
		{"bad utf-8", audit.Event{User: "u\xff" + secret, Action: "a", Outcome: audit.OutcomeSuccess}},
		{"long id", audit.Event{User: strings.Repeat("x", 300), Action: "a", Outcome: audit.OutcomeSuccess}},
		{"long detail", audit.Event{User: "u", Action: "a", Outcome: audit.OutcomeSuccess, Detail: strings.Repeat("x", 70000)}},
		{"time out of range", audit.Event{Time: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), User: "u", Action: "a", Outcome: audit.OutcomeSuccess}},
	} {
		_, err := w.Append(ctx, db, tc.ev)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if strings.Contains(err.Error(), "Jane") {
			t.Errorf("%s: error %q leaks the value", tc.name, err)
		}
	}
	for _, bad := range []*audit.Writer{
		{Node: "", Key: newKey(1)}, {Node: "n 1", Key: newKey(1)}, {Node: "n1"},
	} {
		if _, err := bad.Append(ctx, db, sampleEvent(0)); err == nil {
			t.Errorf("writer %q (key %d bytes) accepted", bad.Node, len(bad.Key))
		}
	}
	if n := countRows(t, db, `SELECT count(*) FROM audit_entries`); n != 0 {
		t.Fatalf("%d entries written", n)
	}
}
