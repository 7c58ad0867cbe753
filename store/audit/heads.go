package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Head is where one chain stands: the seq and hash of its last entry.
type Head struct {
	Node string
	Seq  uint64
	Hash [32]byte
}

// Heads returns the head of every chain that has entries, sorted by node.
// Read in the same transaction as a copy of the database, they say which
// entries the copy must hold (a backup's header records them; a restore
// checks them).
func Heads(ctx context.Context, db DBTX) ([]Head, error) {
	nodes, err := chainNodes(ctx, db)
	if err != nil {
		return nil, err
	}
	var heads []Head
	for _, n := range nodes {
		var seq int64
		var hash []byte
		err := db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_entries WHERE node = ? ORDER BY seq DESC LIMIT 1`, n).Scan(&seq, &hash)
		if errors.Is(err, sql.ErrNoRows) {
			continue // a node known only by its checkpoints has no head
		}
		if err != nil {
			return nil, fmt.Errorf("audit: read head of chain %q: %w", n, err)
		}
		if seq < 1 || len(hash) != 32 {
			return nil, fmt.Errorf("audit: head of chain %q is malformed; run audit verify", n)
		}
		heads = append(heads, Head{Node: n, Seq: uint64(seq), Hash: [32]byte(hash)})
	}
	return heads, nil
}
