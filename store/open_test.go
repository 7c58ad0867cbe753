package store

import (
	"context"
	"strings"
	"testing"
)

// Every open starts this node's clock past the newest HLC of the change
// log: one lookup in an index (migration 008), not a read of the whole log
// (0.7 s at 100k patients), and the clock does move past it.
func TestOpenReadsNewestHLCByIndex(t *testing.T) {
	db, key, dir := newTestDB(t)
	ctx := context.Background()
	var id, parent, unused int
	var plan string
	if err := db.sql.QueryRowContext(ctx, "EXPLAIN QUERY PLAN SELECT max(hlc) FROM change_log").Scan(&id, &parent, &unused, &plan); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "change_log_by_hlc") {
		t.Fatalf("max(hlc) is read with %q, not the index", plan)
	}
	const ahead = uint64(1) << 62 // far past any clock reading
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO change_log(hlc, origin, table_name, row_id, op, data) VALUES (?, 'x', 'patients', 'r', 'upsert', '{}')`, ahead); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err := Open(ctx, dir, key)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.clock.Next(); got <= ahead {
		t.Fatalf("after open the clock gives %d, not past the log's newest %d", got, ahead)
	}
}
