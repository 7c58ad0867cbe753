package sync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ward/store"
	"ward/store/audit"
)

// Audit actions of the replica, in this node's chain (docs/roles.md).
const (
	ActApply      = "replica.apply"      // a peer's segment applied here
	ActQuarantine = "replica.quarantine" // a peer's segment refused here
	ActRetry      = "replica.retry"      // a refused segment sent back to be tried again
	ActJoin       = "replica.join"       // this workstation started from a peer's snapshot
	systemUser    = "system"
)

// Kinds of refusal (replica_quarantine.kind); each comes with a sentence.
const (
	KindBadSignature = "bad-signature"
	KindUnknownNode  = "unknown-node"
	KindRevoked      = "revoked"
	KindGap          = "gap"
	KindCorrupt      = "corrupt"
	KindRefused      = "refused"
	KindMisfiled     = "misfiled"
	KindClockAhead   = "clock-ahead"
)

// MaxClockAhead is how far ahead of this workstation's clock a peer's
// change may be stamped and still be applied. Last-writer-wins trusts the
// stamps: a peer whose clock ran a year ahead would otherwise win every
// conflict for a year, and drag every clock that saw its writes along.
const MaxClockAhead = 10 * time.Minute

// refusal is a segment that will not be applied: it goes to quarantine.
type refusal struct{ kind, reason string }

func (q *refusal) Error() string { return q.reason }

// ImportResult is what one Import did, per peer folder.
type ImportResult struct {
	Peers []PeerImport
}

// PeerImport is what was done with one peer's folder.
type PeerImport struct {
	Node        string
	Applied     []uint64 // segments applied, by number
	Changes     int      // change-log entries new here
	Quarantined []store.Quarantined
	// WaitingFor is the segment this peer's stream waits for (0: none):
	// a later one is here, that one is not (yet).
	WaitingFor uint64
}

// Import applies every peer's new segments (ImportFrom for each folder
// under <data>/replica/in/).
func (r *Replica) Import(ctx context.Context) (ImportResult, error) {
	var res ImportResult
	ents, err := os.ReadDir(filepath.Join(replicaDir(r.dir), "in"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, err
	}
	// Known peers first: one of them may admit a new workstation whose
	// folder comes later in this same pass.
	pending := map[string]bool{}
	for _, e := range ents {
		if e.IsDir() && validNodeID(e.Name()) && e.Name() != r.db.Self().ID {
			pending[e.Name()] = true
		}
	}
	for len(pending) > 0 {
		known, err := r.knownNodes(ctx)
		if err != nil {
			return res, err
		}
		next := ""
		for node := range pending {
			if next == "" || known[node] && !known[next] || known[node] == known[next] && node < next {
				next = node
			}
		}
		delete(pending, next)
		p, err := r.ImportFrom(ctx, next)
		res.Peers = append(res.Peers, p)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// knownNodes are the workstations of the clinic this database knows.
func (r *Replica) knownNodes(ctx context.Context) (map[string]bool, error) {
	known := map[string]bool{}
	err := r.db.ReplicaRead(ctx, func(rd *store.ReplicaReader) error {
		ns, err := rd.Nodes()
		for _, n := range ns {
			known[n.ID] = true
		}
		return err
	})
	return known, err
}

// ImportFrom applies peer node's new segments from its inbox, in order,
// each in one transaction with an audit entry. A segment that does not
// verify or apply is moved to quarantine with nothing of it applied, and
// the peer's stream stops there (its next segment would not follow). A
// missing segment is waited for. The error is for trouble of this
// workstation (a full disk), after which the same call can simply be made
// again.
func (r *Replica) ImportFrom(ctx context.Context, node string) (PeerImport, error) {
	r.importMu.Lock()
	defer r.importMu.Unlock()
	res := PeerImport{Node: node}
	if !validNodeID(node) || node == r.db.Self().ID {
		return res, fmt.Errorf("replica: %q is not a peer's node id", node)
	}
	key, err := r.segmentKey(ctx)
	if err != nil {
		return res, err
	}
	defer wipe(key)
	if err := r.retryWaiting(ctx, node, key); err != nil {
		return res, err
	}
	files, err := listSegments(r.Inbox(node))
	if err != nil {
		return res, err
	}
	var pos store.Position
	if err := r.db.ReplicaRead(ctx, func(rd *store.ReplicaReader) error {
		pos, err = rd.Position(node)
		return err
	}); err != nil {
		return res, err
	}
	for _, f := range files {
		if f.n <= pos.Segment {
			continue // applied before: a replay changes nothing
		}
		if f.n > pos.Segment+1 {
			res.WaitingFor = pos.Segment + 1
			break
		}
		seg, err := r.verify(ctx, node, f, key)
		if err == nil {
			var n int
			n, err = r.apply(ctx, seg)
			res.Changes += n
		}
		var q *refusal
		if errors.As(err, &q) {
			qr, qerr := r.quarantine(ctx, node, f, q)
			if qerr != nil {
				return res, qerr
			}
			res.Quarantined = append(res.Quarantined, qr)
			break
		}
		if err != nil {
			return res, err
		}
		res.Applied = append(res.Applied, f.n)
		pos.Segment = f.n
	}
	return res, nil
}

// verify reads a segment and checks everything that needs no transaction:
// its layout and name, its origin (known, not removed when it was made),
// the signature, the seal.
func (r *Replica) verify(ctx context.Context, node string, f segmentFile, key []byte) (Segment, error) {
	b, err := readSegmentFile(filepath.Join(r.Inbox(node), f.name))
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			return Segment{}, &refusal{KindCorrupt, fe.Error()}
		}
		return Segment{}, err
	}
	h, _, _, _, err := ParseHeader(b)
	if err != nil {
		return Segment{}, &refusal{KindCorrupt, err.Error()}
	}
	if h.Origin != node {
		return Segment{}, &refusal{KindMisfiled, fmt.Sprintf("it is in the folder of node %s but is a segment of node %s", node, h.Origin)}
	}
	if h.Segment != f.n {
		return Segment{}, &refusal{KindMisfiled, fmt.Sprintf("its name says segment %d but it is segment %d", f.n, h.Segment)}
	}
	var n store.NodeInfo
	var known bool
	if err := r.db.ReplicaRead(ctx, func(rd *store.ReplicaReader) error {
		n, known, err = rd.Node(node)
		return err
	}); err != nil {
		return Segment{}, err
	}
	switch {
	case !known:
		return Segment{}, &refusal{KindUnknownNode, fmt.Sprintf("node %s is not a workstation of this clinic here (not paired, or its admission has not arrived yet)", node)}
	case n.Revoked() && !h.Created.Before(n.RevokedAt):
		return Segment{}, &refusal{KindRevoked, fmt.Sprintf("node %s was removed from the clinic at %s and made this segment after that (%s)",
			node, n.RevokedAt.UTC().Format(time.RFC3339), h.Created.UTC().Format(time.RFC3339))}
	}
	seg, err := OpenSegment(b, n.PublicKey, key)
	var fe *FormatError
	switch {
	case errors.Is(err, errBadSignature):
		return Segment{}, &refusal{KindBadSignature, errBadSignature.Error()}
	case errors.Is(err, errUndecryptable):
		return Segment{}, &refusal{KindCorrupt, err.Error()}
	case errors.As(err, &fe):
		return Segment{}, &refusal{KindCorrupt, fe.Error()}
	case err != nil:
		return Segment{}, err
	}
	if newest, due := r.clockDue(seg); !due {
		now := r.now()
		return Segment{}, &refusal{KindClockAhead, fmt.Sprintf("node %s's clock runs ahead: it stamped a change %s, %s ahead of this workstation's clock (%s; at most %v is taken) — "+
			"set that workstation's clock right; this segment is tried again by itself from %s",
			node, newest.UTC().Format(time.RFC3339), newest.Sub(now).Round(time.Second), now.UTC().Format(time.RFC3339), MaxClockAhead,
			newest.Add(-MaxClockAhead).UTC().Format(time.RFC3339))}
	}
	return seg, nil
}

// clockDue tells whether every change of seg is stamped at most
// MaxClockAhead after this workstation's clock, and returns the newest
// stamp's time.
func (r *Replica) clockDue(seg Segment) (newest time.Time, due bool) {
	var top uint64
	for _, c := range seg.Body.Changes {
		top = max(top, c.HLC)
	}
	newest = store.HLCTime(top)
	return newest, !newest.After(r.now().Add(MaxClockAhead))
}

// apply applies one verified segment in one transaction: its changes (new
// ones only), its audit entries and checkpoints, the position, and an audit
// entry of this node. It returns how many changes were new.
func (r *Replica) apply(ctx context.Context, seg Segment) (int, error) {
	h, origin := seg.Header, seg.Header.Origin
	n := 0
	err := r.db.ReplicaUpdate(ctx, func(w *store.ReplicaWriter) error {
		n = 0
		pos, err := w.Position(origin)
		if err != nil {
			return err
		}
		if h.ChangeFirst > pos.ChangeSeq+1 || h.AuditFirst > pos.AuditSeq+1 {
			return &refusal{KindGap, fmt.Sprintf("it starts at change %d and audit entry %d, but change %d and audit entry %d come next here: what lies between is missing",
				h.ChangeFirst, h.AuditFirst, pos.ChangeSeq+1, pos.AuditSeq+1)}
		}
		for _, c := range seg.Body.Changes {
			if c.OriginSeq <= pos.ChangeSeq {
				continue // held already (a snapshot reached further)
			}
			isNew, err := w.ApplyChange(c)
			if err != nil {
				return err
			}
			if isNew {
				n++
			}
		}
		if _, err := w.AppendChain(origin, seg.Body.Audit, seg.Body.Checkpoints); err != nil {
			return err
		}
		if err := w.SetPosition(store.Position{Node: origin, Segment: h.Segment, ChangeSeq: max(pos.ChangeSeq, h.ChangeLast),
			AuditSeq: max(pos.AuditSeq, h.AuditLast), Created: h.Created, AppliedAt: r.now()}); err != nil {
			return err
		}
		// A segment with records changes is recorded in this node's chain.
		// One carrying only a peer's audit entries is not: its entries are
		// their own record, and an entry here would go back out in a
		// segment of this node, to be recorded there… for ever.
		if n > 0 {
			detail := fmt.Sprintf("segment %d of node %s: %d changes (seq %d-%d), audit entries %d-%d",
				h.Segment, origin, n, h.ChangeFirst, h.ChangeLast, h.AuditFirst, h.AuditLast)
			for _, id := range w.NotesSignedTwice() {
				detail += fmt.Sprintf("; note %s was signed on two workstations: the earlier signing is the note, the later is in its history", id)
			}
			if err := w.Audit(audit.Event{User: systemUser, Action: ActApply, Outcome: audit.OutcomeSuccess,
				Detail: detail}); err != nil {
				return err
			}
		}
		if r.beforeCommit != nil {
			return r.beforeCommit(origin, h.Segment)
		}
		return nil
	})
	var re *store.RefusedError
	switch {
	case errors.As(err, &re):
		return 0, &refusal{KindRefused, re.Error()}
	case err != nil:
		return 0, err
	}
	return n, nil
}

// quarantine moves a refused segment out of the inbox and records why, in
// replica_quarantine and in this node's audit chain.
func (r *Replica) quarantine(ctx context.Context, node string, f segmentFile, q *refusal) (store.Quarantined, error) {
	qdir := QuarantineDir(r.dir)
	if err := os.MkdirAll(qdir, 0o700); err != nil {
		return store.Quarantined{}, err
	}
	name := node + "-" + f.name
	if _, err := os.Lstat(filepath.Join(qdir, name)); err == nil {
		name = fmt.Sprintf("%s-%d-%s", node, r.now().UnixNano(), f.name)
	}
	src, dst := filepath.Join(r.Inbox(node), f.name), filepath.Join(qdir, name)
	if err := os.Rename(src, dst); err != nil {
		return store.Quarantined{}, fmt.Errorf("replica: cannot move a refused segment to quarantine: %w", err)
	}
	rec := store.Quarantined{Origin: node, Segment: f.n, File: name, Kind: q.kind, Reason: q.reason, At: r.now()}
	err := r.db.ReplicaUpdate(ctx, func(w *store.ReplicaWriter) error {
		var err error
		if rec.ID, err = w.AddQuarantine(rec); err != nil {
			return err
		}
		return w.Audit(audit.Event{User: systemUser, Action: ActQuarantine, Outcome: audit.OutcomeFailure,
			Detail: fmt.Sprintf("segment %d of node %s refused (%s): %s", f.n, node, q.kind, q.reason)})
	})
	if err != nil {
		os.Rename(dst, src)
		return store.Quarantined{}, err
	}
	return rec, nil
}

// Retry sends a refused segment back to its peer's inbox to be tried again
// (after the cause was fixed: the node was paired, the clinic key set).
func (r *Replica) Retry(ctx context.Context, id int64) error {
	var qs []store.Quarantined
	if err := r.db.ReplicaRead(ctx, func(rd *store.ReplicaReader) error {
		var err error
		qs, err = rd.Quarantined()
		return err
	}); err != nil {
		return err
	}
	for _, q := range qs {
		if q.ID == id {
			return r.retry(ctx, q)
		}
	}
	return fmt.Errorf("there is no refused segment numbered %d waiting: `ward sync status` lists them", id)
}

func (r *Replica) retry(ctx context.Context, q store.Quarantined) error {
	inbox := r.Inbox(q.Origin)
	if err := os.MkdirAll(inbox, 0o700); err != nil {
		return err
	}
	src, dst := filepath.Join(QuarantineDir(r.dir), filepath.Base(q.File)), filepath.Join(inbox, FileName(q.Segment))
	if _, err := os.Lstat(dst); err == nil {
		// The peer's folder has it again (Syncthing fetched it anew).
		os.Remove(src)
	} else if err := os.Rename(src, dst); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return r.db.ReplicaUpdate(ctx, func(w *store.ReplicaWriter) error {
		if err := w.ResolveQuarantine(q.ID, r.now()); err != nil {
			return err
		}
		return w.Audit(audit.Event{User: systemUser, Action: ActRetry, Outcome: audit.OutcomeSuccess,
			Detail: fmt.Sprintf("segment %d of node %s sent back to be applied", q.Segment, q.Origin)})
	})
}

// retryWaiting sends back node's segments refused for a cause that time
// fixes: node was unknown and is known now (its admission arrived after its
// first segments), or its changes were stamped too far ahead and this
// workstation's clock has come close enough.
func (r *Replica) retryWaiting(ctx context.Context, node string, key []byte) error {
	var qs []store.Quarantined
	var n store.NodeInfo
	var known bool
	if err := r.db.ReplicaRead(ctx, func(rd *store.ReplicaReader) error {
		var err error
		if n, known, err = rd.Node(node); err != nil || !known {
			return err
		}
		qs, err = rd.Quarantined()
		return err
	}); err != nil {
		return err
	}
	for _, q := range qs {
		if q.Origin != node || !strings.HasSuffix(q.File, ".wseg") {
			continue
		}
		switch q.Kind {
		case KindUnknownNode:
		case KindClockAhead:
			b, err := readSegmentFile(filepath.Join(QuarantineDir(r.dir), filepath.Base(q.File)))
			if err != nil {
				continue // gone or damaged: an administrator's Retry says so
			}
			seg, err := OpenSegment(b, n.PublicKey, key)
			if _, due := r.clockDue(seg); err != nil || !due {
				continue
			}
		default:
			continue
		}
		if err := r.retry(ctx, q); err != nil {
			return err
		}
	}
	return nil
}
