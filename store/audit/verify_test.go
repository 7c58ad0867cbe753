package audit_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"ward/store/audit"
)

const (
	nodeA = "0193a1c3-aaaa-7bbb-8ccc-00000000000a"
	nodeB = "0193a1c3-aaaa-7bbb-8ccc-00000000000b"
)

// chainDB returns a database with two chains of n entries each, checkpointed
// every 10, and the keys to verify them.
func chainDB(t testing.TB, n int) (*sql.DB, audit.Keys) {
	t.Helper()
	db := openDB(t)
	clk := &fakeClock{t: t0}
	wa := &audit.Writer{Node: nodeA, Key: newKey(0xa), Now: clk.Now, CheckpointEvery: 10, CheckpointInterval: 24 * time.Hour}
	wb := &audit.Writer{Node: nodeB, Key: newKey(0xb), Now: clk.Now, CheckpointEvery: 10, CheckpointInterval: 24 * time.Hour}
	fill(t, db, wa, clk, n)
	fill(t, db, wb, clk, n)
	return db, audit.Keys{nodeA: pub(wa.Key), nodeB: pub(wb.Key)}
}

func verify(t testing.TB, db *sql.DB, keys audit.Keys) audit.Report {
	t.Helper()
	r, err := audit.Verify(context.Background(), db, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustExec(t testing.TB, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestVerifyIntact(t *testing.T) {
	db, keys := chainDB(t, 50)
	r := verify(t, db, keys)
	if !r.OK() || len(r.Problems) != 0 {
		t.Fatalf("intact chains reported: %v", r.Problem)
	}
	if len(r.Chains) != 2 {
		t.Fatalf("%d chains", len(r.Chains))
	}
	for _, c := range r.Chains {
		if c.Entries != 50 || c.HeadSeq != 50 || c.LastCheckpoint == nil || c.LastCheckpoint.Seq != 50 || c.LastCheckpoint.Head != c.Head {
			t.Errorf("chain %s: %+v", c.Node, c)
		}
	}
	// In a transaction (one connection) too.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if r, err := audit.Verify(context.Background(), tx, keys, nil); err != nil || !r.OK() {
		t.Fatalf("in a tx: %v %v", err, r.Problem)
	}
}

func TestVerifyEmpty(t *testing.T) {
	r := verify(t, openDB(t), nil)
	if !r.OK() || len(r.Chains) != 0 {
		t.Fatalf("empty database: %+v", r)
	}
}

// swapRows exchanges every column but seq between two rows of nodeA,
// optionally leaving the hash column in place.
func swapRows(t testing.TB, db *sql.DB, a, b int, withHash bool) {
	cols := "at, user_id, action, patient_id, outcome, detail, grant_id"
	if withHash {
		cols += ", hash"
	}
	mustExec(t, db, `CREATE TEMP TABLE swap AS SELECT seq, `+cols+` FROM audit_entries WHERE node = ? AND seq IN (?, ?)`, nodeA, a, b)
	set := []string{}
	for _, c := range strings.Split(cols, ", ") {
		set = append(set, c+" = (SELECT "+c+" FROM swap WHERE swap.seq = ? + ? - audit_entries.seq)")
	}
	// Each column needs the same two args: a and b.
	args := []any{}
	for range set {
		args = append(args, a, b)
	}
	args = append(args, nodeA, a, b)
	mustExec(t, db, `UPDATE audit_entries SET `+strings.Join(set, ", ")+` WHERE node = ? AND seq IN (?, ?)`, args...)
	mustExec(t, db, `DROP TABLE swap`)
}

// rehash recomputes the hashes of nodeA from seq on, as an attacker without
// the signing key would after editing an entry.
func rehash(t testing.TB, db *sql.DB, from uint64) {
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT seq, at, user_id, action, patient_id, outcome, detail, grant_id, hash FROM audit_entries WHERE node = ? ORDER BY seq`, nodeA)
	if err != nil {
		t.Fatal(err)
	}
	var es []audit.Entry
	for rows.Next() {
		e := audit.Entry{Node: nodeA}
		var at int64
		var h []byte
		if err := rows.Scan(&e.Seq, &at, &e.User, &e.Action, &e.Patient, &e.Outcome, &e.Detail, &e.Grant, &h); err != nil {
			t.Fatal(err)
		}
		e.Time = time.Unix(0, at)
		copy(e.Hash[:], h)
		es = append(es, e)
	}
	rows.Close()
	var prev [32]byte
	for _, e := range es {
		if e.Seq >= from {
			e.Hash = audit.ChainHash(prev, e)
			mustExec(t, db, `UPDATE audit_entries SET hash = ? WHERE node = ? AND seq = ?`, e.Hash[:], nodeA, e.Seq)
		}
		prev = e.Hash
	}
}

// TestVerifyTamper: every way of damaging a chain is found, named by kind,
// node and seq; the other chain stays intact.
func TestVerifyTamper(t *testing.T) {
	forged := make([]byte, 32)
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, db *sql.DB, keys audit.Keys)
		kind   audit.ProblemKind
		seq    uint64
		detail string
	}{
		{"edit user", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `UPDATE audit_entries SET user_id = 'mallory' WHERE node = ? AND seq = 17`, nodeA)
		}, audit.HashMismatch, 17, "fields were changed"},
		{"edit time", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `UPDATE audit_entries SET at = at + 1 WHERE node = ? AND seq = 1`, nodeA)
		}, audit.HashMismatch, 1, "fields were changed"},
		{"edit outcome", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `UPDATE audit_entries SET outcome = 'success' WHERE node = ? AND outcome = 'denied'`, nodeA)
		}, audit.HashMismatch, 6, ""},
		{"edit detail of the head", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `UPDATE audit_entries SET detail = 'x' WHERE node = ? AND seq = 50`, nodeA)
		}, audit.HashMismatch, 50, ""},
		{"edit stored hash", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `UPDATE audit_entries SET hash = ? WHERE node = ? AND seq = 33`, forged, nodeA)
		}, audit.HashMismatch, 33, ""},
		{"text in an integer column", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `UPDATE audit_entries SET at = 'yesterday' WHERE node = ? AND seq = 8`, nodeA)
		}, audit.HashMismatch, 8, ""},
		{"delete a row", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `DELETE FROM audit_entries WHERE node = ? AND seq = 23`, nodeA)
		}, audit.Gap, 23, "seq 23 is missing"},
		{"delete the first row", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `DELETE FROM audit_entries WHERE node = ? AND seq = 1`, nodeA)
		}, audit.Gap, 1, ""},
		{"insert a forged row at the tail", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `INSERT INTO audit_entries (node, seq, at, user_id, action, outcome, hash) VALUES (?, 51, 0, 'u', 'patient.read', 'success', ?)`, nodeA, forged)
		}, audit.HashMismatch, 51, ""},
		{"insert a row with seq 0", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `INSERT INTO audit_entries (node, seq, at, user_id, action, outcome, hash) VALUES (?, 0, 0, 'u', 'patient.read', 'success', ?)`, nodeA, forged)
		}, audit.HashMismatch, 0, ""},
		{"insert a row that fits, shifting the rest", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `UPDATE audit_entries SET seq = seq + 1000000 WHERE node = ? AND seq >= 33`, nodeA)
			mustExec(t, db, `UPDATE audit_entries SET seq = seq - 999999 WHERE node = ? AND seq >= 1000000`, nodeA)
			var prev []byte
			db.QueryRow(`SELECT hash FROM audit_entries WHERE node = ? AND seq = 32`, nodeA).Scan(&prev)
			e := audit.Entry{Node: nodeA, Seq: 33, Time: t0, User: "mallory", Action: "patient.read", Outcome: audit.OutcomeSuccess}
			h := audit.ChainHash([32]byte(prev), e)
			mustExec(t, db, `INSERT INTO audit_entries (node, seq, at, user_id, action, outcome, hash) VALUES (?, 33, ?, 'mallory', 'patient.read', 'success', ?)`, nodeA, t0.UnixNano(), h[:])
		}, audit.HashMismatch, 34, ""},
		{"insert at a checkpoint seq, rehashing after it", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `UPDATE audit_entries SET seq = seq + 1000000 WHERE node = ? AND seq >= 30`, nodeA)
			mustExec(t, db, `UPDATE audit_entries SET seq = seq - 999999 WHERE node = ? AND seq >= 1000000`, nodeA)
			mustExec(t, db, `INSERT INTO audit_entries (node, seq, at, user_id, action, outcome, hash) VALUES (?, 30, 0, 'mallory', 'patient.read', 'success', x'00')`, nodeA)
			rehash(t, db, 30)
		}, audit.CheckpointMismatch, 30, ""},
		{"swap two rows with their hashes", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			swapRows(t, db, 12, 15, true)
		}, audit.Reorder, 12, "genuine entry of seq 15"},
		{"swap two rows, hashes stay", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			swapRows(t, db, 12, 15, false)
		}, audit.Reorder, 12, "genuine entry of seq 15"},
		{"swap adjacent rows with their hashes", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			swapRows(t, db, 26, 27, true)
		}, audit.Reorder, 26, "genuine entry of seq 27"},
		{"swap adjacent rows, hashes stay", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			swapRows(t, db, 26, 27, false)
		}, audit.Reorder, 26, "genuine entry of seq 27"},
		{"truncate below a checkpoint", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `DELETE FROM audit_entries WHERE node = ? AND seq > 45`, nodeA)
		}, audit.Truncated, 46, "checkpoint signed at seq 50"},
		{"truncate everything", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `DELETE FROM audit_entries WHERE node = ?`, nodeA)
		}, audit.Truncated, 1, ""},
		{"forge a checkpoint signature", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `UPDATE audit_checkpoints SET signature = zeroblob(64) WHERE node = ? AND seq = 20`, nodeA)
		}, audit.BadSignature, 20, ""},
		{"sign a checkpoint with another node's key", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			w := &audit.Writer{Node: nodeA, Key: newKey(0xb)}
			mustExec(t, db, `DELETE FROM audit_checkpoints WHERE node = ? AND seq = 50`, nodeA)
			if _, err := w.Checkpoint(context.Background(), db); err != nil {
				t.Fatal(err)
			}
		}, audit.BadSignature, 50, ""},
		{"forge a checkpoint beyond the head", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `INSERT INTO audit_checkpoints (node, seq, head, at, signature) VALUES (?, 60, zeroblob(32), 0, zeroblob(64))`, nodeA)
		}, audit.BadSignature, 60, ""},
		{"edit a checkpoint head", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `UPDATE audit_checkpoints SET head = zeroblob(32) WHERE node = ? AND seq = 40`, nodeA)
		}, audit.BadSignature, 40, ""},
		{"rewrite the chain: checkpoint head mismatch", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			mustExec(t, db, `UPDATE audit_entries SET user_id = 'mallory' WHERE node = ? AND seq = 25`, nodeA)
			rehash(t, db, 25)
		}, audit.CheckpointMismatch, 30, "signed head differs"},
		{"a genuinely signed checkpoint of another head", func(t *testing.T, db *sql.DB, _ audit.Keys) {
			// The node key signed a different head at seq 35 (a fork).
			w := &audit.Writer{Node: nodeA, Key: newKey(0xa), CheckpointEvery: 1}
			tx, _ := db.Begin()
			defer tx.Rollback()
			mustExecTx(t, tx, `DELETE FROM audit_entries WHERE node = ? AND seq >= 35`, nodeA)
			mustExecTx(t, tx, `DELETE FROM audit_checkpoints WHERE node = ? AND seq >= 35`, nodeA)
			if _, err := w.Append(context.Background(), tx, audit.Event{Action: "fork", Outcome: audit.OutcomeSuccess}); err != nil {
				t.Fatal(err)
			}
			var sig, head []byte
			var at int64
			tx.QueryRow(`SELECT signature, head, at FROM audit_checkpoints WHERE node = ? AND seq = 35`, nodeA).Scan(&sig, &head, &at)
			tx.Rollback()
			mustExec(t, db, `DELETE FROM audit_checkpoints WHERE node = ? AND seq = 40`, nodeA)
			mustExec(t, db, `INSERT INTO audit_checkpoints (node, seq, head, at, signature) VALUES (?, 35, ?, ?, ?)`, nodeA, head, at, sig)
		}, audit.CheckpointMismatch, 35, ""},
		{"unknown node", func(t *testing.T, db *sql.DB, keys audit.Keys) {
			delete(keys, nodeA)
		}, audit.UnknownNode, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, keys := chainDB(t, 50)
			tc.tamper(t, db, keys)
			r := verify(t, db, keys)
			p := r.Problem
			if p == nil {
				t.Fatal("not detected")
			}
			if p.Kind != tc.kind || p.Node != nodeA || p.Seq != tc.seq || !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("got %v (kind %q seq %d), want kind %q seq %d detail ~%q", p, p.Kind, p.Seq, tc.kind, tc.seq, tc.detail)
			}
			if len(r.Problems) != 1 {
				t.Fatalf("%d chains reported broken: %v", len(r.Problems), r.Problems)
			}
			if msg := p.Error(); !strings.Contains(msg, nodeA) || strings.Contains(msg, "mallory") {
				t.Fatalf("error %q should name the chain and no data", msg)
			}
			t.Log(p)
		})
	}
}

func mustExecTx(t testing.TB, tx *sql.Tx, q string, args ...any) {
	t.Helper()
	if _, err := tx.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestVerifySegments: a long chain is checked in segments on several
// connections; damage at or next to a segment boundary is still found, with
// the first problem winning. Progress is reported about every 10,000
// entries, never backwards.
func TestVerifySegments(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 10,500-entry chain")
	}
	db := openDB(t)
	clk := &fakeClock{t: t0}
	w := &audit.Writer{Node: nodeA, Key: newKey(0xa), Now: clk.Now}
	fill(t, db, w, clk, 10_500)
	keys := audit.Keys{nodeA: pub(w.Key)}

	var mu sync.Mutex
	var calls [][2]uint64
	r, err := audit.Verify(context.Background(), db, keys, func(done, total uint64) {
		mu.Lock()
		calls = append(calls, [2]uint64{done, total})
		mu.Unlock()
	})
	if err != nil || !r.OK() || r.Chains[0].Entries != 10_500 || r.Chains[0].LastCheckpoint.Seq != 10_000 {
		t.Fatalf("intact: %v %v %+v", err, r.Problem, r.Chains)
	}
	if len(calls) < 2 || len(calls) > 3 || calls[len(calls)-1] != [2]uint64{10_500, 10_500} {
		t.Fatalf("progress calls %v", calls)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i][0] < calls[i-1][0] {
			t.Fatalf("progress went backwards: %v", calls)
		}
	}

	// Segments are at least 4096 entries: damage around the boundaries.
	for _, seq := range []int{4096, 4097, 8192} {
		tx, _ := db.Begin()
		mustExecTx(t, tx, `DELETE FROM audit_entries WHERE node = ? AND seq = ?`, nodeA, seq)
		r, err := audit.Verify(context.Background(), tx, keys, nil)
		if err != nil || r.Problem == nil || r.Problem.Kind != audit.Gap || r.Problem.Seq != uint64(seq) {
			t.Fatalf("row %d deleted (in a tx): %v %v", seq, err, r.Problem)
		}
		tx.Rollback()
	}
	mustExec(t, db, `DELETE FROM audit_entries WHERE node = ? AND seq IN (4096, 9000)`, nodeA)
	mustExec(t, db, `UPDATE audit_entries SET detail = 'x' WHERE node = ? AND seq = 5000`, nodeA)
	r = verify(t, db, keys)
	if r.Problem == nil || r.Problem.Kind != audit.Gap || r.Problem.Seq != 4096 || r.Chains[0].Entries != 4095 {
		t.Fatalf("first of three problems: %v, chain %+v", r.Problem, r.Chains[0])
	}
}

func TestVerifyCancel(t *testing.T) {
	db, keys := chainDB(t, 20)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := audit.Verify(ctx, db, keys, nil); err == nil {
		t.Fatal("verify with a cancelled context succeeded")
	}
}

func TestVerifyHugeSeq(t *testing.T) {
	db, keys := chainDB(t, 5)
	mustExec(t, db, `INSERT INTO audit_entries (node, seq, at, user_id, action, outcome, hash) VALUES (?, 4611686018427387904, 0, 'u', 'a', 'success', x'00')`, nodeA)
	r := verify(t, db, keys)
	if r.Problem == nil || r.Problem.Kind != audit.Gap || r.Problem.Seq != 6 {
		t.Fatalf("got %v", r.Problem)
	}
}
