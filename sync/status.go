package sync

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"time"

	"ward/store"
)

// Status is the replica as this workstation sees it.
type Status struct {
	Now    time.Time
	Self   store.NodeInfo
	Export store.ExportState
	// Unsent tells whether this node has committed work not yet in a
	// segment (its outbox is behind its database).
	Unsent bool
	Peers  []PeerStatus
	// Quarantined are the refused segments of every peer, oldest first.
	Quarantined []store.Quarantined
}

// PeerStatus is one peer's stream as applied here.
type PeerStatus struct {
	Node      string
	Name      string    // "" for a folder of a node this workstation does not know
	Known     bool      // a workstation of the clinic here
	RevokedAt time.Time // zero: a member
	Applied   store.Position
	// Waiting counts the peer's segments here not applied yet; lag in
	// segments.
	Waiting int
	// Lag is how long the oldest waiting segment has waited since its peer
	// made it (0 when none waits): lag in time.
	Lag time.Duration
	// LastSegment is when the newest segment here (applied or not) was
	// made by the peer: how fresh this workstation's copy can be.
	LastSegment time.Time
	// MissingSegment is the segment the stream waits for while a later one
	// is already here (0: none).
	MissingSegment uint64
	Quarantined    int
}

// Status reports every peer: what has been applied, what waits, what was
// refused.
func (r *Replica) Status(ctx context.Context) (Status, error) {
	st := Status{Now: r.now()}
	var nodes []store.NodeInfo
	var positions []store.Position
	var maxSeq, head uint64
	err := r.db.ReplicaRead(ctx, func(rd *store.ReplicaReader) error {
		var err error
		if nodes, err = rd.Nodes(); err != nil {
			return err
		}
		if positions, err = rd.Positions(); err != nil {
			return err
		}
		if st.Export, err = rd.ExportState(); err != nil {
			return err
		}
		if st.Quarantined, err = rd.Quarantined(); err != nil {
			return err
		}
		if maxSeq, err = rd.MaxChangeSeq(); err != nil {
			return err
		}
		head, err = rd.AuditHead(rd.Self().ID)
		return err
	})
	if err != nil {
		return st, err
	}
	st.Unsent = head > st.Export.AuditSeq || maxSeq > st.Export.ChangeSeq && r.hasLocalAfter(ctx, st.Export.ChangeSeq)
	peers := map[string]*PeerStatus{}
	for _, n := range nodes {
		if n.Self {
			st.Self = n
			continue
		}
		peers[n.ID] = &PeerStatus{Node: n.ID, Name: n.Name, Known: true, RevokedAt: n.RevokedAt}
	}
	if ents, err := os.ReadDir(filepath.Join(replicaDir(r.dir), "in")); err == nil {
		for _, e := range ents {
			if e.IsDir() && validNodeID(e.Name()) && peers[e.Name()] == nil && e.Name() != st.Self.ID {
				peers[e.Name()] = &PeerStatus{Node: e.Name()}
			}
		}
	}
	for _, p := range positions {
		if ps := peers[p.Node]; ps != nil {
			ps.Applied = p
		}
	}
	for _, q := range st.Quarantined {
		if ps := peers[q.Origin]; ps != nil {
			ps.Quarantined++
		}
	}
	for _, ps := range peers {
		ps.Applied.Node = ps.Node
		ps.LastSegment = ps.Applied.Created
		files, err := listSegments(r.Inbox(ps.Node))
		if err != nil {
			return st, err
		}
		next := ps.Applied.Segment + 1
		for _, f := range files {
			if f.n <= ps.Applied.Segment {
				continue
			}
			ps.Waiting++
			if f.n > next && ps.MissingSegment == 0 && ps.Waiting == 1 {
				ps.MissingSegment = next
			}
			if h, ok := r.peekHeader(ps.Node, f); ok {
				if ps.Waiting == 1 {
					ps.Lag = st.Now.Sub(h.Created)
				}
				if h.Created.After(ps.LastSegment) {
					ps.LastSegment = h.Created
				}
			}
		}
		st.Peers = append(st.Peers, *ps)
	}
	sort.Slice(st.Peers, func(i, j int) bool { return st.Peers[i].Node < st.Peers[j].Node })
	return st, nil
}

// hasLocalAfter: does this node have change-log entries of its own after seq?
func (r *Replica) hasLocalAfter(ctx context.Context, seq uint64) bool {
	found := false
	r.db.ReplicaRead(ctx, func(rd *store.ReplicaReader) error {
		return rd.LocalChanges(seq, 1<<63-1, func(store.Change) error { found = true; return errFull })
	})
	return found
}

// peekHeader reads just enough of a segment for its header (nothing is
// trusted from it but times shown in the status).
func (r *Replica) peekHeader(node string, f segmentFile) (Header, bool) {
	fh, err := os.Open(filepath.Join(r.Inbox(node), f.name))
	if err != nil {
		return Header{}, false
	}
	defer fh.Close()
	buf := make([]byte, 512)
	n, _ := fh.Read(buf)
	h, ok := parseHeaderPrefix(buf[:n])
	return h, ok
}

// parseHeaderPrefix reads the header fields from the start of a file.
func parseHeaderPrefix(b []byte) (Header, bool) {
	var h Header
	if len(b) < len(Magic) || string(b[:len(Magic)]) != Magic {
		return h, false
	}
	rd := &reader{b: b[len(Magic):]}
	h = readHeaderFields(rd)
	return h, rd.err == nil
}
