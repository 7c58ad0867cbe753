package sync

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"ward/store"
	"ward/store/audit"
)

// ExportResult is what one Export wrote.
type ExportResult struct {
	Files   []string // names of the new segments in the outbox, in order
	Changes int      // change-log entries they carry
	Audit   int      // audit entries they carry
}

// ErrDatabaseBehindOutbox: the outbox holds segments of changes this
// database does not have, so new writes would reuse seqs peers have seen.
var ErrDatabaseBehindOutbox = errors.New("this workstation's database is older than the segments it has already sent " +
	"(was it restored from a backup?): its new changes would reuse numbers its peers have already applied, so nothing is sent; " +
	"set this workstation up again as a new one that joins the clinic")

// Export writes everything committed since the last export into new
// segments in the outbox: this node's change-log entries and audit entries
// (with its checkpoints), several segments when the backlog is large. It is
// idempotent (nothing new, nothing written) and crash-safe: each segment
// appears whole under its final name or not at all, is never overwritten,
// and the state kept in the database is repaired from the newest segment's
// header, so a crash between writing a segment and recording it neither
// skips nor repeats a range.
func (r *Replica) Export(ctx context.Context) (ExportResult, error) {
	r.exportMu.Lock()
	defer r.exportMu.Unlock()
	var res ExportResult
	out := r.Outbox()
	if err := os.MkdirAll(out, 0o700); err != nil {
		return res, fmt.Errorf("replica: cannot create the outbox: %w", err)
	}
	removeStaleTemps(out)
	state, err := r.exportState(ctx)
	if err != nil {
		return res, err
	}
	key, err := r.segmentKey(ctx)
	if err != nil {
		return res, err
	}
	defer wipe(key)
	// Peers keep the newest checkpoint they have seen of every chain: give
	// them one of the head that is about to leave. Only of a head not sent
	// yet: a checkpoint of one already sent would never travel (segments
	// carry the checkpoints of their own range), and the chains would
	// differ between workstations for ever.
	if err := r.db.ReplicaUpdate(ctx, func(w *store.ReplicaWriter) error {
		if head, err := w.AuditHead(r.db.Self().ID); err != nil || head <= state.AuditSeq {
			return err
		}
		return w.CheckpointHead()
	}); err != nil {
		return res, err
	}
	for {
		var h Header
		var body Body
		err := r.db.ReplicaRead(ctx, func(rd *store.ReplicaReader) error {
			var err error
			h, body, err = r.nextSegment(rd, state)
			return err
		})
		if err != nil {
			return res, err
		}
		if len(body.Changes) == 0 && len(body.Audit) == 0 {
			return res, nil
		}
		file, err := seal(h, encodeBody(body), key, r.db.SignAsNode)
		if err != nil {
			return res, err
		}
		name := FileName(h.Segment)
		if err := writeNew(out, name, file); err != nil {
			if errors.Is(err, errExists) {
				return res, fmt.Errorf("replica: segment %s is already in the outbox (is another Ward running on this data folder?)", name)
			}
			return res, fmt.Errorf("replica: cannot write segment %s: %w", name, err)
		}
		state = store.ExportState{Segment: h.Segment, ChangeSeq: h.ChangeLast, AuditSeq: h.AuditLast, Created: h.Created}
		if err := r.db.ReplicaUpdate(ctx, func(w *store.ReplicaWriter) error { return w.SetExportState(state) }); err != nil {
			return res, err
		}
		res.Files = append(res.Files, name)
		res.Changes += len(body.Changes)
		res.Audit += len(body.Audit)
	}
}

// exportState is what has been written: the database's record, or the
// newest segment in the outbox when it is ahead (a crash came between the
// two). It refuses to go on when the database is behind its own outbox.
func (r *Replica) exportState(ctx context.Context) (store.ExportState, error) {
	files, err := listSegments(r.Outbox())
	if err != nil {
		return store.ExportState{}, err
	}
	self := r.db.Self()
	var state store.ExportState
	var maxSeq, head uint64
	err = r.db.ReplicaRead(ctx, func(rd *store.ReplicaReader) error {
		var err error
		if state, err = rd.ExportState(); err != nil {
			return err
		}
		if maxSeq, err = rd.MaxChangeSeq(); err != nil {
			return err
		}
		head, err = rd.AuditHead(self.ID)
		return err
	})
	if err != nil {
		return state, err
	}
	if n := len(files); n > 0 && files[n-1].n > state.Segment {
		newest := files[n-1]
		b, err := readSegmentFile(filepath.Join(r.Outbox(), newest.name))
		if err != nil {
			return state, fmt.Errorf("replica: cannot read the newest segment in the outbox: %w", err)
		}
		h, _, _, _, err := ParseHeader(b)
		if err != nil || h.Origin != self.ID || h.Segment != newest.n {
			return state, fmt.Errorf("replica: the outbox holds %s, which is not a segment of this workstation: move it away", newest.name)
		}
		state = store.ExportState{Segment: h.Segment, ChangeSeq: h.ChangeLast, AuditSeq: h.AuditLast, Created: h.Created}
		if err := r.db.ReplicaUpdate(ctx, func(w *store.ReplicaWriter) error { return w.SetExportState(state) }); err != nil {
			return state, err
		}
	}
	if state.ChangeSeq > maxSeq || state.AuditSeq > head {
		return state, ErrDatabaseBehindOutbox
	}
	return state, nil
}

// errFull stops a read when the segment is full.
var errFull = errors.New("segment full")

// nextSegment gathers the next segment after state: this node's changes
// first, then its audit entries, up to the size cap.
func (r *Replica) nextSegment(rd *store.ReplicaReader, state store.ExportState) (Header, Body, error) {
	self := rd.Self().ID
	h := Header{Origin: self, Segment: state.Segment + 1, ChangeFirst: state.ChangeSeq + 1, AuditFirst: state.AuditSeq + 1, Created: r.now()}
	var body Body
	budget, size := r.maxBytes(), 0
	upto, err := rd.MaxChangeSeq()
	if err != nil {
		return h, body, err
	}
	h.ChangeLast = upto
	full := false
	err = rd.LocalChanges(state.ChangeSeq, upto, func(c store.Change) error {
		n := 64 + len(c.Table) + len(c.RowID) + len(c.Op) + len(c.Data) + len(c.Row)
		if len(body.Changes) > 0 && size+n > budget {
			full = true
			return errFull
		}
		body.Changes = append(body.Changes, c)
		size += n
		h.ChangeLast = c.OriginSeq // until the end, when it is upto
		return nil
	})
	if err != nil && !errors.Is(err, errFull) {
		return h, body, err
	}
	if !full {
		h.ChangeLast = upto // also the peers' entries after this node's last
	}
	h.AuditLast = state.AuditSeq
	if !full {
		head, err := rd.AuditHead(self)
		if err != nil {
			return h, body, err
		}
		err = rd.AuditEntries(self, state.AuditSeq+1, head, func(e audit.Entry) error {
			n := 96 + len(e.User) + len(e.Action) + len(e.Patient) + len(e.Outcome) + len(e.Detail) + len(e.Grant)
			if (len(body.Changes) > 0 || len(body.Audit) > 0) && size+n > budget {
				return errFull
			}
			body.Audit = append(body.Audit, e)
			size += n
			h.AuditLast = e.Seq
			return nil
		})
		if err != nil && !errors.Is(err, errFull) {
			return h, body, err
		}
	}
	if h.AuditLast >= h.AuditFirst {
		if body.Checkpoints, err = rd.Checkpoints(self, h.AuditFirst, h.AuditLast); err != nil {
			return h, body, err
		}
	}
	if _, err := rand.Read(h.Nonce[:]); err != nil {
		return h, body, err
	}
	return h, body, nil
}
