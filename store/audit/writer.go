package audit

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// DBTX is what audit needs from the database; *sql.DB and *sql.Tx both have
// it. Audit takes no *sql.DB of its own so that an entry always commits or
// rolls back with the change it records.
type DBTX interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// Defaults for Writer. K bounds how many entries a truncation can remove
// unseen by the node's own checkpoints; T bounds it in time on a quiet node.
const (
	DefaultCheckpointEvery    = 1000
	DefaultCheckpointInterval = 10 * time.Minute
)

// ErrEmptyChain is returned by Checkpoint when the node has no entries yet.
var ErrEmptyChain = errors.New("audit: the chain has no entries to checkpoint")

// Writer appends to this node's chain. It keeps no state between calls: the
// head is read inside the caller's transaction, so a rolled-back transaction
// leaves nothing behind and two writers cannot fork the chain (the second
// insert of a seq fails on the primary key).
type Writer struct {
	Node               string
	Key                ed25519.PrivateKey
	CheckpointEvery    int           // K: checkpoint when seq%K == 0; 0 = DefaultCheckpointEvery
	CheckpointInterval time.Duration // T: checkpoint when T has passed since the last one; 0 = default
	Now                func() time.Time
}

func (w *Writer) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Writer) check() error {
	if err := checkNode(w.Node); err != nil {
		return err
	}
	if len(w.Key) != ed25519.PrivateKeySize {
		return errors.New("audit: writer has no valid Ed25519 signing key")
	}
	return nil
}

// headQuery reads, in one statement, the chain head and the time of the last
// checkpoint (or of the first entry while there is no checkpoint yet, so a
// quiet new node still gets its first checkpoint after T). No row: the chain
// is empty. A statement costs more to prepare than to run here, hence one.
const headQuery = `SELECT seq, hash,
	COALESCE((SELECT at FROM audit_checkpoints WHERE node = ?1 ORDER BY seq DESC LIMIT 1),
	         (SELECT at FROM audit_entries WHERE node = ?1 AND seq = 1))
	FROM audit_entries WHERE node = ?1 ORDER BY seq DESC LIMIT 1`

type head struct {
	seq        uint64
	hash       [32]byte
	lastSigned time.Time // last checkpoint, else first entry
	hasSigned  bool
}

func readHead(ctx context.Context, tx DBTX, node string) (head, error) {
	var (
		seq  int64
		hash []byte
		at   sql.NullInt64
		h    head
	)
	err := tx.QueryRowContext(ctx, headQuery, node).Scan(&seq, &hash, &at)
	if err == sql.ErrNoRows {
		return h, nil
	}
	if err != nil {
		return h, fmt.Errorf("audit: read head of chain %q: %w", node, err)
	}
	if seq < 1 || len(hash) != 32 {
		return h, fmt.Errorf("audit: head of chain %q is malformed; run audit verify", node)
	}
	h.seq, h.hash = uint64(seq), [32]byte(hash)
	if at.Valid {
		h.lastSigned, h.hasSigned = time.Unix(0, at.Int64), true
	}
	return h, nil
}

const insertEntry = `INSERT INTO audit_entries
	(node, seq, at, user_id, action, patient_id, outcome, detail, grant_id, hash)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

const insertCheckpoint = `INSERT INTO audit_checkpoints (node, seq, head, at, signature) VALUES (?, ?, ?, ?, ?)`

// Append records ev as the next entry of w.Node's chain inside tx, the
// caller's transaction, and signs a checkpoint in the same transaction when
// seq%K == 0 or T has passed since the last one. It returns the entry as
// stored (time in UTC, detail normalized; see newEntry).
func (w *Writer) Append(ctx context.Context, tx DBTX, ev Event) (Entry, error) {
	if err := w.check(); err != nil {
		return Entry{}, err
	}
	now := w.now()
	at := ev.Time
	if at.IsZero() {
		at = now
	}
	h, err := readHead(ctx, tx, w.Node)
	if err != nil {
		return Entry{}, err
	}
	e, err := newEntry(w.Node, h.seq+1, at, ev)
	if err != nil {
		return Entry{}, err
	}
	e.Hash = ChainHash(h.hash, e)
	if _, err := tx.ExecContext(ctx, insertEntry, e.Node, int64(e.Seq), e.Time.UnixNano(),
		e.User, e.Action, e.Patient, e.Outcome, e.Detail, e.Grant, e.Hash[:]); err != nil {
		return Entry{}, fmt.Errorf("audit: append to chain %q at seq %d: %w", w.Node, e.Seq, err)
	}
	k := w.CheckpointEvery
	if k <= 0 {
		k = DefaultCheckpointEvery
	}
	t := w.CheckpointInterval
	if t <= 0 {
		t = DefaultCheckpointInterval
	}
	if e.Seq%uint64(k) == 0 || (h.hasSigned && now.Sub(h.lastSigned) >= t) {
		if _, err := w.insertCheckpoint(ctx, tx, e.Seq, e.Hash, now); err != nil {
			return Entry{}, err
		}
	}
	return e, nil
}

// Checkpoint signs the current head inside tx (at shutdown, before an export).
// If the head already has a checkpoint, that one is returned unchanged.
func (w *Writer) Checkpoint(ctx context.Context, tx DBTX) (Checkpoint, error) {
	if err := w.check(); err != nil {
		return Checkpoint{}, err
	}
	h, err := readHead(ctx, tx, w.Node)
	if err != nil {
		return Checkpoint{}, err
	}
	if h.seq == 0 {
		return Checkpoint{}, ErrEmptyChain
	}
	cps, err := loadCheckpoints(ctx, tx, w.Node, h.seq, h.seq)
	if err != nil {
		return Checkpoint{}, err
	}
	if len(cps) == 1 {
		return cps[0], nil
	}
	return w.insertCheckpoint(ctx, tx, h.seq, h.hash, w.now())
}

func (w *Writer) insertCheckpoint(ctx context.Context, tx DBTX, seq uint64, hash [32]byte, at time.Time) (Checkpoint, error) {
	c := signCheckpoint(w.Key, w.Node, seq, hash, at)
	if _, err := tx.ExecContext(ctx, insertCheckpoint, c.Node, int64(c.Seq), c.Head[:], c.Time.UnixNano(), c.Signature); err != nil {
		return Checkpoint{}, fmt.Errorf("audit: write checkpoint of chain %q at seq %d: %w", w.Node, seq, err)
	}
	return c, nil
}

// loadCheckpoints returns the checkpoints of node with from <= seq <= to, in
// seq order (from = 0: also malformed seqs below 1). A row whose head is not
// 32 bytes comes back without signature, so that Verify reports it as badly
// signed.
func loadCheckpoints(ctx context.Context, db DBTX, node string, from, to uint64) ([]Checkpoint, error) {
	lo := clampSeq(from)
	if from == 0 {
		lo = math.MinInt64 // Verify wants malformed seqs too
	}
	rows, err := db.QueryContext(ctx, `SELECT CAST(seq AS INTEGER), head, CAST(at AS INTEGER), signature
		FROM audit_checkpoints WHERE node = ? AND seq >= ? AND seq <= ? ORDER BY seq`,
		node, lo, clampSeq(to))
	if err != nil {
		return nil, fmt.Errorf("audit: read checkpoints of chain %q: %w", node, err)
	}
	defer rows.Close()
	var cps []Checkpoint
	for rows.Next() {
		var (
			seq, at   int64
			head, sig []byte
		)
		if err := rows.Scan(&seq, &head, &at, &sig); err != nil {
			return nil, fmt.Errorf("audit: read checkpoints of chain %q: %w", node, err)
		}
		c := Checkpoint{Node: node, Seq: uint64(max(seq, 0)), Time: time.Unix(0, at).UTC(), Signature: sig}
		if copy(c.Head[:], head) != 32 || len(head) != 32 {
			c.Signature = nil // cannot be genuine; Valid reports false
		}
		cps = append(cps, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: read checkpoints of chain %q: %w", node, err)
	}
	return cps, nil
}

// clampSeq maps a uint64 seq onto SQLite's int64 column range.
func clampSeq(s uint64) int64 {
	if s > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(s)
}
