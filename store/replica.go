package store

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"ward/store/audit"
)

// The replica's side of the database (docs/replica.md). Package sync seals
// change-log ranges into segments and applies peers' segments; everything
// it reads or writes here goes through a ReplicaReader (one consistent read
// view) or a ReplicaWriter (one write transaction). This is system work, not
// a person's: it has no session, and every segment applied is recorded in
// this node's audit chain instead ("replica.apply").

// Change is one change-log entry as it travels between workstations.
type Change struct {
	Origin    string // the node that made the write
	OriginSeq uint64 // its seq in the origin's change log
	HLC       uint64
	Table     string
	RowID     string
	Op        string // "upsert" or "delete" (a tombstone)
	Data      string // the record as its Go type encodes it (history)
	Row       string // row JSON (rowjson.go); "" = history only
}

// Position is how far one origin's stream has been applied here.
type Position struct {
	Node      string
	Segment   uint64    // number of the last segment applied
	ChangeSeq uint64    // last change-log seq of the origin applied
	AuditSeq  uint64    // last seq of the origin's audit chain held
	Created   time.Time // created time of the last segment applied (zero: none)
	AppliedAt time.Time // when that was applied here
}

// ExportState is what this node has written to its outbox.
type ExportState struct {
	Segment   uint64 // number of the last segment written (0: none yet)
	ChangeSeq uint64 // its last change-log seq
	AuditSeq  uint64 // its last audit seq
	Created   time.Time
}

// NodeInfo is a workstation of the clinic as this database knows it.
type NodeInfo struct {
	ID        string
	Name      string
	PublicKey ed25519.PublicKey
	AddedAt   time.Time
	RevokedAt time.Time // zero: not revoked
	Self      bool
}

// Revoked tells whether the node has been removed from the clinic.
func (n NodeInfo) Revoked() bool { return !n.RevokedAt.IsZero() }

// Quarantined is a peer's segment refused here.
type Quarantined struct {
	ID      int64
	Origin  string
	Segment uint64
	File    string // name inside the quarantine folder
	Kind    string
	Reason  string
	At      time.Time
}

// RefusedError is a peer's change this database will not take: a signed
// note changed, a table that does not replicate, a malformed row. The whole
// segment is refused with it. Reason names no patient data.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "refused: " + e.Reason }

func refused(format string, a ...any) error { return &RefusedError{Reason: fmt.Sprintf(format, a...)} }

// replicaQ holds what both views can read.
type replicaQ struct {
	ctx context.Context
	q   audit.DBTX
	db  *DB
}

// ReplicaReader is one consistent, read-only view of the database.
type ReplicaReader struct{ replicaQ }

// ReplicaWriter is one write transaction of the replica.
type ReplicaWriter struct {
	replicaQ
	tx     *sql.Tx
	maxHLC uint64
	local  bool // this node's chain or change log grew
	stmts  map[string]*sql.Stmt
	bulk   *bulkState
	// signedTwice: notes found signed on two workstations (applyNote).
	signedTwice []string
}

// ReplicaRead runs fn on a consistent read view (a deferred transaction: it
// holds no write lock, so the workstation stays usable during an export).
func (db *DB) ReplicaRead(ctx context.Context, fn func(*ReplicaReader) error) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	return fn(&ReplicaReader{replicaQ{ctx, conn, db}})
}

// ReplicaUpdate runs fn in one write transaction and commits when it
// returns nil; on an error nothing of it stays.
func (db *DB) ReplicaUpdate(ctx context.Context, fn func(*ReplicaWriter) error) error {
	return db.replicaTx(ctx, fn)
}

func (db *DB) replicaTx(ctx context.Context, fn func(*ReplicaWriter) error) error {
	sqlTx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return friendlyWriteError(err)
	}
	w := &ReplicaWriter{replicaQ: replicaQ{ctx, sqlTx, db}, tx: sqlTx, stmts: map[string]*sql.Stmt{}}
	err = fn(w)
	w.closeStmts()
	if err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return friendlyWriteError(err)
	}
	// A node that has seen a write stamps its next one later.
	db.clock.Observe(w.maxHLC)
	if w.local {
		db.notifyChanged()
	}
	return nil
}

func (w *ReplicaWriter) closeStmts() {
	for _, s := range w.stmts {
		s.Close()
	}
	w.stmts = map[string]*sql.Stmt{}
}

// stmt prepares q once per transaction.
func (w *ReplicaWriter) stmt(q string) (*sql.Stmt, error) {
	if s, ok := w.stmts[q]; ok {
		return s, nil
	}
	s, err := w.tx.PrepareContext(w.ctx, q)
	if err != nil {
		return nil, err
	}
	w.stmts[q] = s
	return s, nil
}

func (w *ReplicaWriter) exec(q string, args ...any) (sql.Result, error) {
	s, err := w.stmt(q)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(w.ctx, args...)
}

// Changes signals (without blocking the writer) that a commit added to this
// node's change log or audit chain: the replica's exporter should run.
func (db *DB) Changes() <-chan struct{} { return db.changes }

func (db *DB) notifyChanged() {
	select {
	case db.changes <- struct{}{}:
	default:
	}
}

// CommitMark is where the change log and this workstation's audit chain
// end. It moves with every commit that adds to either, whichever process
// made it: a `ward` command beside `ward serve` commits on the same data
// folder, and Changes does not reach the serving process.
type CommitMark struct{ ChangeSeq, AuditSeq uint64 }

// CommitWork is what commits after a mark left for the replica job.
type CommitWork struct {
	Export bool // this workstation wrote something its outbox does not hold yet
	Nodes  bool // the clinic's workstations changed (admitted, removed, moved)
}

// WatchCommits returns the current mark and, when it moved from since,
// what the commits in between left to do. Unmoved, it costs two index
// lookups, so the replica job can ask a few times a second.
func (db *DB) WatchCommits(ctx context.Context, since CommitMark) (CommitMark, CommitWork, error) {
	var m CommitMark
	var work CommitWork
	err := db.ReplicaRead(ctx, func(rd *ReplicaReader) error {
		var err error
		if m.ChangeSeq, err = rd.MaxChangeSeq(); err != nil {
			return err
		}
		if m.AuditSeq, err = rd.AuditHead(db.self.ID); err != nil || m == since {
			return err
		}
		st, err := rd.ExportState()
		if err != nil {
			return err
		}
		work.Export = m.AuditSeq > st.AuditSeq
		if !work.Export {
			// Only entries new since the last look: a workstation that has
			// applied much and written little need not scan it all again.
			err = rd.q.QueryRowContext(ctx, "SELECT EXISTS(SELECT 1 FROM change_log WHERE seq > ? AND origin_seq IS NULL)",
				int64(max(st.ChangeSeq, since.ChangeSeq))).Scan(&work.Export)
			if err != nil {
				return err
			}
		}
		return rd.q.QueryRowContext(ctx, "SELECT EXISTS(SELECT 1 FROM change_log WHERE seq > ? AND table_name = 'nodes')",
			int64(since.ChangeSeq)).Scan(&work.Nodes)
	})
	return m, work, err
}

// prepareReplica runs at every open: the exporter's signal, a clinic key
// for a database that has none, and — once, on the first open after
// migration 005 — the row JSON of every row's newest change-log entry, so a
// clinic created before the replica can send its records to a new peer.
func (db *DB) prepareReplica(ctx context.Context) error {
	db.changes = make(chan struct{}, 1)
	if err := db.ensureClinicKey(ctx); err != nil {
		return err
	}
	var n int
	if err := db.sql.QueryRowContext(ctx, "SELECT count(*) FROM replica_export").Scan(&n); err != nil || n > 0 {
		return err
	}
	return db.replicaTx(ctx, func(w *ReplicaWriter) error {
		for _, t := range ReplicatedTables {
			ti, err := db.table(ctx, w.tx, t)
			if err != nil {
				return err
			}
			if _, err := w.tx.ExecContext(ctx, `UPDATE change_log SET row_json = (SELECT `+ti.expr+` FROM "`+t+`" AS t WHERE t."`+ti.pk+`" = change_log.row_id)
				WHERE table_name = ? AND row_json = '' AND origin_seq IS NULL
				AND seq = (SELECT max(c.seq) FROM change_log c WHERE c.table_name = change_log.table_name AND c.row_id = change_log.row_id)
				AND EXISTS (SELECT 1 FROM "`+t+`" AS t WHERE t."`+ti.pk+`" = change_log.row_id)`, t); err != nil {
				return err
			}
		}
		_, err := w.tx.ExecContext(ctx, "INSERT INTO replica_export(one, segment, change_seq, audit_seq, created) VALUES (1, 0, 0, 0, 0)")
		return err
	})
}

// changeLogHead is the newest seq of the change log (0: empty).
func (tx *Tx) changeLogHead() (int64, error) {
	var m sql.NullInt64
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT max(seq) FROM change_log").Scan(&m)
	return m.Int64, err
}

// fillRowJSON gives the change-log entries of table after seq their row
// JSON in one statement: bulk loads log many rows at once.
func (tx *Tx) fillRowJSON(table string, after int64) error {
	ti, err := tx.db.table(tx.ctx, tx.tx, table)
	if err != nil {
		return err
	}
	_, err = tx.tx.ExecContext(tx.ctx, `UPDATE change_log SET row_json = (SELECT `+ti.expr+` FROM "`+table+`" AS t WHERE t."`+ti.pk+`" = change_log.row_id)
		WHERE seq > ? AND table_name = ? AND row_json = ''`, after, table)
	tx.changed = true
	return err
}

// --- reading (both views) ---

// Self is this workstation.
func (r *replicaQ) Self() Node { return r.db.self }

// Node returns one node of the clinic; ok is false for an unknown id.
func (r *replicaQ) Node(id string) (n NodeInfo, ok bool, err error) {
	ns, err := r.nodes("WHERE id = ?", id)
	if err != nil || len(ns) == 0 {
		return NodeInfo{}, false, err
	}
	return ns[0], true, nil
}

// Nodes lists every node this database knows, by id.
func (r *replicaQ) Nodes() ([]NodeInfo, error) { return r.nodes("ORDER BY id") }

func (r *replicaQ) nodes(where string, args ...any) ([]NodeInfo, error) {
	rows, err := r.q.QueryContext(r.ctx, "SELECT id, name, public_key, added_at, revoked_at FROM nodes "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []NodeInfo
	for rows.Next() {
		var n NodeInfo
		var pub []byte
		var added int64
		var revoked sql.NullInt64
		if err := rows.Scan(&n.ID, &n.Name, &pub, &added, &revoked); err != nil {
			return nil, err
		}
		n.PublicKey, n.AddedAt, n.Self = pub, time.Unix(added, 0), n.ID == r.db.self.ID
		if revoked.Valid {
			n.RevokedAt = time.Unix(revoked.Int64, 0)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Position returns how far origin's stream has been applied (zero: not yet).
func (r *replicaQ) Position(origin string) (Position, error) {
	ps, err := r.positions("WHERE node = ?", origin)
	if err != nil || len(ps) == 0 {
		return Position{Node: origin}, err
	}
	return ps[0], nil
}

// Positions lists every origin applied here, by node.
func (r *replicaQ) Positions() ([]Position, error) { return r.positions("ORDER BY node") }

func (r *replicaQ) positions(where string, args ...any) ([]Position, error) {
	rows, err := r.q.QueryContext(r.ctx, "SELECT node, segment, change_seq, audit_seq, created, applied_at FROM replica_peers "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Position
	for rows.Next() {
		var p Position
		var seg, cs, as, created, applied int64
		if err := rows.Scan(&p.Node, &seg, &cs, &as, &created, &applied); err != nil {
			return nil, err
		}
		p.Segment, p.ChangeSeq, p.AuditSeq = uint64(seg), uint64(cs), uint64(as)
		p.Created, p.AppliedAt = unixNanoOrZero(created), unixNanoOrZero(applied)
		out = append(out, p)
	}
	return out, rows.Err()
}

func unixNanoOrZero(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

func nanoOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// ExportState is what this node has written to its outbox so far.
func (r *replicaQ) ExportState() (ExportState, error) {
	var s ExportState
	var seg, cs, as, created int64
	err := r.q.QueryRowContext(r.ctx, "SELECT segment, change_seq, audit_seq, created FROM replica_export WHERE one = 1").Scan(&seg, &cs, &as, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	s.Segment, s.ChangeSeq, s.AuditSeq, s.Created = uint64(seg), uint64(cs), uint64(as), unixNanoOrZero(created)
	return s, err
}

// Quarantined lists the segments refused here and not yet sent back to be
// tried again, oldest first.
func (r *replicaQ) Quarantined() ([]Quarantined, error) {
	rows, err := r.q.QueryContext(r.ctx, `SELECT id, origin, segment, file, kind, reason, at FROM replica_quarantine
		WHERE resolved_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Quarantined
	for rows.Next() {
		var q Quarantined
		var seg, at int64
		if err := rows.Scan(&q.ID, &q.Origin, &seg, &q.File, &q.Kind, &q.Reason, &at); err != nil {
			return nil, err
		}
		q.Segment, q.At = uint64(seg), time.Unix(0, at)
		out = append(out, q)
	}
	return out, rows.Err()
}

// MaxChangeSeq is the newest seq of this node's change log (0: empty).
func (r *replicaQ) MaxChangeSeq() (uint64, error) {
	var m sql.NullInt64
	err := r.q.QueryRowContext(r.ctx, "SELECT max(seq) FROM change_log").Scan(&m)
	return uint64(max(m.Int64, 0)), err
}

// LocalChanges calls fn for this node's own writes with after < seq <= upto,
// in seq order (entries applied from peers are theirs to send).
func (r *replicaQ) LocalChanges(after, upto uint64, fn func(Change) error) error {
	rows, err := r.q.QueryContext(r.ctx, `SELECT seq, hlc, table_name, row_id, op, data, row_json FROM change_log
		WHERE seq > ? AND seq <= ? AND origin_seq IS NULL ORDER BY seq`, int64(after), int64(min(upto, 1<<63-1)))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		c := Change{Origin: r.db.self.ID}
		var seq, hlc int64
		if err := rows.Scan(&seq, &hlc, &c.Table, &c.RowID, &c.Op, &c.Data, &c.Row); err != nil {
			return err
		}
		c.OriginSeq, c.HLC = uint64(seq), uint64(hlc)
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AllChanges calls fn for every change-log entry, this node's and those
// applied from peers, each with its origin's seq (a snapshot's history).
func (r *replicaQ) AllChanges(fn func(Change) error) error {
	rows, err := r.q.QueryContext(r.ctx, `SELECT seq, origin, origin_seq, hlc, table_name, row_id, op, data, row_json
		FROM change_log ORDER BY seq`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c Change
		var seq, hlc int64
		var oseq sql.NullInt64
		if err := rows.Scan(&seq, &c.Origin, &oseq, &hlc, &c.Table, &c.RowID, &c.Op, &c.Data, &c.Row); err != nil {
			return err
		}
		c.OriginSeq, c.HLC = uint64(seq), uint64(hlc)
		if oseq.Valid {
			c.OriginSeq = uint64(oseq.Int64)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AuditHead is the seq of the newest entry of node's chain held here.
func (r *replicaQ) AuditHead(node string) (uint64, error) { return audit.HeadSeq(r.ctx, r.q, node) }

// AuditChains lists the nodes whose chains this database holds.
func (r *replicaQ) AuditChains() ([]string, error) {
	heads, err := audit.Heads(r.ctx, r.q)
	var nodes []string
	for _, h := range heads {
		nodes = append(nodes, h.Node)
	}
	return nodes, err
}

// AuditEntries calls fn for node's entries with from <= seq <= to.
func (r *replicaQ) AuditEntries(node string, from, to uint64, fn func(audit.Entry) error) error {
	return audit.Entries(r.ctx, r.q, node, from, to, fn)
}

// Checkpoints returns node's signed checkpoints with from <= seq <= to.
func (r *replicaQ) Checkpoints(node string, from, to uint64) ([]audit.Checkpoint, error) {
	return audit.Checkpoints(r.ctx, r.q, node, from, to)
}

// Rows calls fn with the row JSON of every row of a replicated table, in
// primary-key order (a snapshot, and the convergence hash).
func (r *replicaQ) Rows(table string, fn func(row string) error) error {
	if _, ok := replicated[table]; !ok {
		return fmt.Errorf("table %q does not replicate", table)
	}
	ti, err := r.db.table(r.ctx, r.q, table)
	if err != nil {
		return err
	}
	rows, err := r.q.QueryContext(r.ctx, "SELECT "+ti.expr+` FROM "`+table+`" AS t ORDER BY t."`+ti.pk+`"`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if err := fn(s); err != nil {
			return err
		}
	}
	return rows.Err()
}

// --- writing ---

// SetPosition records how far origin's stream has been applied.
func (w *ReplicaWriter) SetPosition(p Position) error {
	_, err := w.exec(`INSERT INTO replica_peers(node, segment, change_seq, audit_seq, created, applied_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(node) DO UPDATE SET segment = excluded.segment, change_seq = excluded.change_seq,
			audit_seq = excluded.audit_seq, created = excluded.created, applied_at = excluded.applied_at`,
		p.Node, int64(p.Segment), int64(p.ChangeSeq), int64(p.AuditSeq), nanoOrZero(p.Created), nanoOrZero(p.AppliedAt))
	return err
}

// SetExportState records the segment just written to the outbox.
func (w *ReplicaWriter) SetExportState(s ExportState) error {
	_, err := w.exec(`INSERT INTO replica_export(one, segment, change_seq, audit_seq, created) VALUES (1, ?, ?, ?, ?)
		ON CONFLICT(one) DO UPDATE SET segment = excluded.segment, change_seq = excluded.change_seq,
			audit_seq = excluded.audit_seq, created = excluded.created`,
		int64(s.Segment), int64(s.ChangeSeq), int64(s.AuditSeq), nanoOrZero(s.Created))
	return err
}

// AddQuarantine records a refused segment.
func (w *ReplicaWriter) AddQuarantine(q Quarantined) (int64, error) {
	res, err := w.exec(`INSERT INTO replica_quarantine(origin, segment, file, kind, reason, at) VALUES (?, ?, ?, ?, ?, ?)`,
		q.Origin, int64(q.Segment), q.File, q.Kind, q.Reason, q.At.UnixNano())
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// ResolveQuarantine marks a refused segment as sent back to be tried again.
func (w *ReplicaWriter) ResolveQuarantine(id int64, at time.Time) error {
	_, err := w.exec("UPDATE replica_quarantine SET resolved_at = ? WHERE id = ?", at.UnixNano(), id)
	return err
}

// Audit appends an entry to this node's chain in this transaction.
func (w *ReplicaWriter) Audit(ev audit.Event) error {
	if _, err := w.db.audit.Append(w.ctx, w.tx, ev); err != nil {
		return err
	}
	w.local = true
	return nil
}

// CheckpointHead signs the head of this node's chain (unless it is signed
// already), so that the segment about to be written carries a checkpoint
// every peer keeps as a witness.
func (w *ReplicaWriter) CheckpointHead() error {
	_, err := w.db.audit.Checkpoint(w.ctx, w.tx)
	if errors.Is(err, audit.ErrEmptyChain) {
		return nil
	}
	return err
}

// AppendChain adds a peer's audit entries and checkpoints, verified against
// the chain held here and the peer's key (audit.AppendPeer). A chain that
// does not extend what is held is a *RefusedError.
func (w *ReplicaWriter) AppendChain(node string, entries []audit.Entry, cps []audit.Checkpoint) (int, error) {
	if node == w.db.self.ID {
		return 0, refused("a peer sent entries of this workstation's own audit chain")
	}
	n, ok, err := w.Node(node)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, refused("audit entries of node %s, which this workstation does not know", node)
	}
	added, err := audit.AppendPeer(w.ctx, w.tx, node, n.PublicKey, entries, cps)
	var ee *audit.ExtendError
	if errors.As(err, &ee) {
		return 0, &RefusedError{Reason: ee.Error()}
	}
	return added, err
}

// mustBeEmpty refuses work that only a workstation without clinic records
// may do (taking a clinic key, installing a snapshot).
func (w *ReplicaWriter) mustBeEmpty() error {
	var n int
	err := w.tx.QueryRowContext(w.ctx, `SELECT (SELECT count(*) FROM change_log) + (SELECT count(*) FROM users)
		+ (SELECT count(*) FROM patients)`).Scan(&n)
	if err == nil && n > 0 {
		err = errors.New("this workstation already holds clinic records: only a new, empty workstation can join a clinic")
	}
	return err
}
