package audit

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Peers' chains. The replica carries every node's entries and checkpoints
// to every other node, which keeps them beside its own (DESIGN.md §4): a
// peer witnesses another's chain, so a node cannot later truncate or
// rewrite what it has already shown. AppendPeer is the only way entries of
// another node enter this database.

// ExtendError is a peer's chain refused because it does not extend what
// this database holds. It names node and seq, never entry contents.
type ExtendError struct {
	Node   string
	Seq    uint64
	Reason string
}

func (e *ExtendError) Error() string {
	return fmt.Sprintf("the audit chain of node %s does not extend the one held here at seq %d: %s", e.Node, e.Seq, e.Reason)
}

// Entries calls fn for every entry of node's chain with from <= seq <= to,
// in seq order.
func Entries(ctx context.Context, db DBTX, node string, from, to uint64, fn func(Entry) error) error {
	rows, err := db.QueryContext(ctx, `SELECT seq, at, user_id, action, patient_id, outcome, detail, grant_id, hash
		FROM audit_entries WHERE node = ? AND seq >= ? AND seq <= ? ORDER BY seq`, node, clampSeq(from), clampSeq(to))
	if err != nil {
		return fmt.Errorf("audit: read chain %q: %w", node, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			seq, at int64
			hash    []byte
			e       = Entry{Node: node}
		)
		if err := rows.Scan(&seq, &at, &e.User, &e.Action, &e.Patient, &e.Outcome, &e.Detail, &e.Grant, &hash); err != nil {
			return fmt.Errorf("audit: read chain %q: %w", node, err)
		}
		if seq < 1 || len(hash) != 32 {
			return fmt.Errorf("audit: chain %q is malformed at seq %d; run audit verify", node, seq)
		}
		e.Seq, e.Time, e.Hash = uint64(seq), time.Unix(0, at).UTC(), [32]byte(hash)
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Checkpoints returns node's checkpoints with from <= seq <= to, in seq order.
func Checkpoints(ctx context.Context, db DBTX, node string, from, to uint64) ([]Checkpoint, error) {
	return loadCheckpoints(ctx, db, node, max(from, 1), to)
}

// HeadSeq is the seq of the last entry of node's chain held here (0: none).
func HeadSeq(ctx context.Context, db DBTX, node string) (uint64, error) {
	var m sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(seq) FROM audit_entries WHERE node = ?`, node).Scan(&m); err != nil {
		return 0, fmt.Errorf("audit: read head of chain %q: %w", node, err)
	}
	return uint64(max(m.Int64, 0)), nil
}

// AppendPeer adds to this database the entries and checkpoints of another
// node's chain, inside tx. Entries must be in seq order without gaps; those
// already held must be the very same (same hash), the others must extend
// the held chain link by link (hash over the previous one), and every entry
// at the seq of a checkpoint held here must have that checkpoint's head.
// Checkpoints must be signed by pub and match the chain. Anything else is an
// *ExtendError and nothing should be committed (the caller rolls back). It
// returns how many entries were new.
func AppendPeer(ctx context.Context, tx DBTX, node string, pub ed25519.PublicKey, entries []Entry, cps []Checkpoint) (int, error) {
	if err := checkNode(node); err != nil {
		return 0, err
	}
	if len(pub) != ed25519.PublicKeySize {
		return 0, errors.New("audit: no valid public key for the peer's chain")
	}
	h, err := readHead(ctx, tx, node)
	if err != nil {
		return 0, err
	}
	held := map[uint64][32]byte{} // checkpoint heads held here, by seq
	if len(entries) > 0 {
		old, err := loadCheckpoints(ctx, tx, node, entries[0].Seq, entries[len(entries)-1].Seq)
		if err != nil {
			return 0, err
		}
		for _, c := range old {
			held[c.Seq] = c.Head
		}
	}
	refuse := func(seq uint64, format string, a ...any) (int, error) {
		return 0, &ExtendError{Node: node, Seq: seq, Reason: fmt.Sprintf(format, a...)}
	}
	var prev [32]byte
	havePrev := false
	added := 0
	for i, e := range entries {
		if e.Node != node {
			return refuse(e.Seq, "an entry names another node")
		}
		if i > 0 && e.Seq != entries[i-1].Seq+1 {
			return refuse(e.Seq, "entries are not consecutive")
		}
		if err := checkPeerEntry(e); err != nil {
			return refuse(e.Seq, "%v", err)
		}
		if e.Seq <= h.seq {
			stored, err := storedHash(ctx, tx, node, e.Seq)
			if err != nil {
				return 0, err
			}
			if stored != e.Hash {
				return refuse(e.Seq, "it rewrites an entry already held")
			}
			prev, havePrev = stored, true
			continue
		}
		if e.Seq != h.seq+1 && !havePrev {
			return refuse(e.Seq, "entries %d to %d are missing", h.seq+1, e.Seq-1)
		}
		if !havePrev {
			prev, havePrev = h.hash, true // zero before seq 1
		}
		if ChainHash(prev, e) != e.Hash {
			return refuse(e.Seq, "the entry does not hash onto the one before it")
		}
		if head, ok := held[e.Seq]; ok && head != e.Hash {
			return refuse(e.Seq, "it does not reach the signed checkpoint held here")
		}
		if _, err := tx.ExecContext(ctx, insertEntry, node, int64(e.Seq), e.Time.UnixNano(),
			e.User, e.Action, e.Patient, e.Outcome, e.Detail, e.Grant, e.Hash[:]); err != nil {
			return 0, fmt.Errorf("audit: append to chain %q at seq %d: %w", node, e.Seq, err)
		}
		prev = e.Hash
		h.seq++
		added++
	}
	for _, c := range cps {
		if c.Node != node {
			return refuse(c.Seq, "a checkpoint names another node")
		}
		if !c.Valid(pub) {
			return refuse(c.Seq, "a checkpoint is not signed by the node's key")
		}
		stored, err := storedHash(ctx, tx, node, c.Seq)
		if errors.Is(err, sql.ErrNoRows) {
			return refuse(c.Seq, "a checkpoint names an entry that is not there")
		}
		if err != nil {
			return 0, err
		}
		if stored != c.Head {
			return refuse(c.Seq, "a signed checkpoint does not match the chain")
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM audit_checkpoints WHERE node = ? AND seq = ?`, node, int64(c.Seq)).Scan(&n); err != nil {
			return 0, err
		}
		if n > 0 {
			continue // the same head, already witnessed (it matched above)
		}
		if _, err := tx.ExecContext(ctx, insertCheckpoint, node, int64(c.Seq), c.Head[:], c.Time.UnixNano(), c.Signature); err != nil {
			return 0, fmt.Errorf("audit: write checkpoint of chain %q at seq %d: %w", node, c.Seq, err)
		}
	}
	return added, nil
}

// checkPeerEntry applies the writer's rules to an entry that came from a
// peer, so that every entry held here can be exported and verified.
func checkPeerEntry(e Entry) error {
	if e.Seq < 1 {
		return errors.New("an entry has seq 0")
	}
	if e.Action == "" {
		return errors.New("an entry has no action")
	}
	switch e.Outcome {
	case OutcomeSuccess, OutcomeDenied, OutcomeFailure:
	default:
		return errors.New("an entry has an unknown outcome")
	}
	for _, f := range []struct{ name, v string }{
		{"user", e.User}, {"action", e.Action}, {"patient", e.Patient}, {"grant", e.Grant},
	} {
		if err := checkID(f.name, f.v); err != nil {
			return err
		}
	}
	if len(e.Detail) > maxDetailLen {
		return errors.New("an entry's detail is too long")
	}
	return nil
}

func storedHash(ctx context.Context, tx DBTX, node string, seq uint64) ([32]byte, error) {
	var b []byte
	if err := tx.QueryRowContext(ctx, `SELECT hash FROM audit_entries WHERE node = ? AND seq = ?`, node, clampSeq(seq)).Scan(&b); err != nil {
		return [32]byte{}, err
	}
	if len(b) != 32 {
		return [32]byte{}, fmt.Errorf("audit: chain %q is malformed at seq %d; run audit verify", node, seq)
	}
	return [32]byte(b), nil
}
