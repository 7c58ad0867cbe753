package app

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"time"

	"ward/store"
	"ward/store/audit"
	wsync "ward/sync"
)

// The replica (issue 5, docs/replica.md): this workstation's segments go to
// its outbox after every commit, its peers' segments are applied from their
// inboxes. The Syncthing node (sync/node) carries the files; everything
// here works on plain folders.

// replica is the clinic's segment layer, made on first use.
func (c *Clinic) replica() *wsync.Replica {
	c.replicaOnce.Do(func() { c.repl = wsync.New(c.db) })
	return c.repl
}

// ReplicaExport writes everything committed since the last export into new
// segments in the outbox (<data>/replica/out). Call it after commits (see
// ReplicaChanges); it is cheap when there is nothing new.
func (c *Clinic) ReplicaExport(ctx context.Context) (wsync.ExportResult, error) {
	return c.replica().Export(ctx)
}

// ReplicaImport applies every peer's new segments from the inboxes
// (<data>/replica/in/<node>/).
func (c *Clinic) ReplicaImport(ctx context.Context) (wsync.ImportResult, error) {
	return c.replica().Import(ctx)
}

// ReplicaImportFrom applies one peer's new segments (files arrived in its
// inbox).
func (c *Clinic) ReplicaImportFrom(ctx context.Context, node string) (wsync.PeerImport, error) {
	return c.replica().ImportFrom(ctx, node)
}

// ReplicaChanges signals after a commit that added to this workstation's
// change log or audit chain: time to export.
func (c *Clinic) ReplicaChanges() <-chan struct{} { return c.db.Changes() }

// ReplicaLoop is how RunReplica is wired to a transport.
type ReplicaLoop struct {
	// Arrivals names peers whose inboxes have new files (nil: none; the
	// inboxes are then only looked at every Poll).
	Arrivals <-chan string
	// Written is told the name of each new segment in the outbox (e.g. to
	// have Syncthing scan it at once). May be nil.
	Written func(name string)
	// Poll is how often every inbox is looked at anyway (0: 30 s).
	Poll time.Duration
	// Watch is how often the database is looked at for commits this process
	// was not told of: another process's on the same data folder, and
	// admissions or removals of workstations (0: 250 ms).
	Watch time.Duration
	// NodesChanged is told when a commit changed the clinic's workstations
	// (the transport's peers must follow). May be nil.
	NodesChanged func()
	// Events receives news for a person (refused segments, failures).
	Events func(Event)
}

// JobReplica is the name of the replica's background job.
const JobReplica = "replica"

// RunReplica exports after every commit and imports when files arrive (and
// every Poll), until ctx ends. A burst of commits is one export: the signal
// holds one pending nudge, and the export takes everything committed by
// then. Failures are reported as events and tried again at the next
// occasion; they do not stop the loop.
func (c *Clinic) RunReplica(ctx context.Context, l ReplicaLoop) error {
	if l.Poll <= 0 {
		l.Poll = 30 * time.Second
	}
	if l.Watch <= 0 {
		l.Watch = 250 * time.Millisecond
	}
	report := func(text string, failed bool) {
		if l.Events != nil {
			l.Events(Event{At: c.now(), Job: JobReplica, Text: text, Failed: failed})
		}
	}
	export := func() {
		res, err := c.ReplicaExport(ctx)
		if err != nil && ctx.Err() == nil {
			report("sending this workstation's changes failed: "+err.Error(), true)
		}
		for _, f := range res.Files {
			if l.Written != nil {
				l.Written(f)
			}
		}
	}
	imported := func(p wsync.PeerImport, err error) {
		if err != nil && ctx.Err() == nil {
			report(fmt.Sprintf("applying the changes of workstation %s failed: %v", p.Node, err), true)
		}
		for _, q := range p.Quarantined {
			report(fmt.Sprintf("a segment of workstation %s was refused: %s", q.Origin, q.Reason), true)
		}
	}
	tick := time.NewTicker(l.Poll)
	defer tick.Stop()
	watch := time.NewTicker(l.Watch)
	defer watch.Stop()
	var mark store.CommitMark
	files := dbFiles{path: store.DBPath(c.Dir())}
	watchFailed := false
	export()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.ReplicaChanges():
			export()
		case node, ok := <-l.Arrivals:
			if !ok {
				l.Arrivals = nil // the transport stopped: the poll goes on
				continue
			}
			imported(c.ReplicaImportFrom(ctx, node))
		case <-watch.C:
			if !files.changed() {
				continue // nobody committed: no database work at all (idle CPU)
			}
			m, work, err := c.db.WatchCommits(ctx, mark)
			if err != nil {
				if !watchFailed && ctx.Err() == nil {
					report("looking for changes to send failed: "+err.Error(), true)
				}
				watchFailed = true
				continue
			}
			mark, watchFailed = m, false
			if work.Export {
				export() // committed by another process: its signal did not reach this one
			}
			if work.Nodes && l.NodesChanged != nil {
				l.NodesChanged()
			}
		case <-tick.C:
			export() // the safety net
			res, err := c.ReplicaImport(ctx)
			for _, p := range res.Peers {
				imported(p, nil)
			}
			if err != nil && ctx.Err() == nil {
				report("applying peers' changes failed: "+err.Error(), true)
			}
		}
	}
}

// dbFiles notices a commit from the database's files alone: any commit, of
// this process or another, changes the write-ahead log (or, after a
// checkpoint, the database file), so an unchanged size and time means
// there is nothing for WatchCommits to find.
type dbFiles struct {
	path string
	last [2]fileStamp
}

type fileStamp struct {
	size int64
	mod  time.Time
}

func (f *dbFiles) changed() bool {
	var now [2]fileStamp
	for i, p := range []string{f.path + "-wal", f.path} {
		if fi, err := os.Stat(p); err == nil {
			now[i] = fileStamp{fi.Size(), fi.ModTime()}
		}
	}
	moved := now != f.last
	f.last = now
	return moved
}

// SyncStatus reports the replica: each peer's applied position, what waits,
// how late it is, and refused segments (administrators, security officers).
func (s *Session) SyncStatus(ctx context.Context) (wsync.Status, error) {
	if err := s.active(ctx); err != nil {
		return wsync.Status{}, err
	}
	if err := s.authorize(ctx, ActSyncStatus, ""); err != nil {
		return wsync.Status{}, err
	}
	st, err := s.clinic.replica().Status(ctx)
	if err != nil {
		s.record(ctx, ActSyncStatus, "", audit.OutcomeFailure, "error")
		return st, err
	}
	return st, s.record(ctx, ActSyncStatus, "", audit.OutcomeSuccess,
		fmt.Sprintf("%d peers, %d refused segments", len(st.Peers), len(st.Quarantined)))
}

// RemoveNode revokes a workstation (lost or stolen; administrators): the
// segments it makes from now on are refused on every workstation this
// removal reaches; what it sent before stays.
func (s *Session) RemoveNode(ctx context.Context, node string) (store.NodeInfo, error) {
	var n store.NodeInfo
	err := s.Do(ctx, ActSyncRemove, "", func(tx *store.Tx, w *Work) error {
		var err error
		n, err = tx.RevokeNode(node)
		w.Detail = "workstation " + node + " removed from the clinic"
		return err
	})
	return n, err
}

// ApproveNode admits a new workstation (administrators): from now on its
// segments are applied here, and everywhere once this write has replicated.
func (s *Session) ApproveNode(ctx context.Context, node, name string, pub ed25519.PublicKey) (store.NodeInfo, error) {
	var n store.NodeInfo
	err := s.Do(ctx, ActSyncApprove, "", func(tx *store.Tx, w *Work) error {
		var err error
		n, err = tx.AdmitNode(node, name, pub)
		w.Detail = "workstation " + node + " admitted to the clinic"
		return err
	})
	return n, err
}

// RetryQuarantined sends a refused segment back to be applied again, once
// its cause is fixed (administrators).
func (s *Session) RetryQuarantined(ctx context.Context, id int64) error {
	if err := s.active(ctx); err != nil {
		return err
	}
	if err := s.authorize(ctx, ActSyncRetry, ""); err != nil {
		return err
	}
	return s.clinic.replica().Retry(ctx, id) // audited there, as replica.retry
}

// JoinPackage is what a new workstation needs from the one that admits it:
// the clinic key and a snapshot to start from. The pairing exchange carries
// both, encrypted to the new workstation; wipe Key after use.
type JoinPackage struct {
	Key      []byte
	Snapshot wsync.SnapshotInfo
	From     store.Node // the workstation that made the snapshot
}

// WriteJoinPackage writes a snapshot of the clinic to w for a workstation
// already approved (ApproveNode), and returns the clinic key to send with
// it (administrators).
func (s *Session) WriteJoinPackage(ctx context.Context, node string, w io.Writer) (JoinPackage, error) {
	pkg := JoinPackage{From: s.clinic.Node()}
	err := s.Do(ctx, ActSyncApprove, "", func(tx *store.Tx, wk *Work) error {
		ns, err := tx.ClinicNodes()
		if err != nil {
			return err
		}
		for _, n := range ns {
			if n.ID == node && !n.Revoked() {
				wk.Detail = "clinic key and snapshot handed to workstation " + node
				return nil
			}
		}
		return fmt.Errorf("workstation %s has not been approved: approve it first", node)
	})
	if err != nil {
		return pkg, err
	}
	if pkg.Snapshot, err = s.clinic.replica().WriteSnapshot(ctx, w); err != nil {
		return pkg, err
	}
	pkg.Key, err = s.clinic.db.ClinicKey(ctx)
	return pkg, err
}

// JoinOptions describe a new workstation of an existing clinic.
type JoinOptions struct {
	Dir      string
	NodeName string // default: the host name
	Keyring  store.Keyring
}

// NewWorkstation creates the database of a workstation that will join a
// clinic: a database key in the keyring and a node identity, no records.
// Its node id and public key (Node) go to the clinic's administrator to
// approve; then Join starts it from the package they send back.
func NewWorkstation(ctx context.Context, o JoinOptions) (*Clinic, error) {
	if store.Exists(o.Dir) {
		return nil, store.ErrDatabaseExists
	}
	if o.NodeName == "" {
		o.NodeName, _ = os.Hostname()
	}
	account, err := store.KeyringAccount(o.Dir)
	if err != nil {
		return nil, err
	}
	key, err := store.NewKey()
	if err != nil {
		return nil, err
	}
	defer wipe(key)
	if err := o.Keyring.Set(account, key); err != nil {
		return nil, err
	}
	db, err := store.Create(ctx, o.Dir, key, o.NodeName)
	if err != nil {
		o.Keyring.Delete(account)
		return nil, err
	}
	return &Clinic{db: db, keyring: o.Keyring, account: account}, nil
}

// Join starts a new workstation (NewWorkstation) from the join package of
// the workstation that approved it: the clinic key, then the snapshot,
// checked against from (that workstation's node key, from the pairing
// exchange). It writes this workstation's emergency kit and returns its
// recovery code, which exists nowhere else: show it once.
func (c *Clinic) Join(ctx context.Context, clinicKey []byte, snapshot io.Reader, from ed25519.PublicKey) (string, wsync.SnapshotInfo, error) {
	if err := c.db.SetClinicKey(ctx, clinicKey); err != nil {
		return "", wsync.SnapshotInfo{}, err
	}
	info, err := c.replica().InstallSnapshot(ctx, snapshot, from)
	if err != nil {
		return "", info, err
	}
	if err := c.loadName(ctx); err != nil {
		return "", info, err
	}
	key, err := c.keyring.Get(c.account)
	if err != nil {
		return "", info, err
	}
	defer wipe(key)
	code, err := store.NewRecoveryCode()
	if err != nil {
		return "", info, err
	}
	kit, err := store.SealKit(key, code, c.name, c.db.Self().ID)
	if err != nil {
		return "", info, err
	}
	if err := store.WriteKitFile(c.KitPath(), kit); err != nil {
		return "", info, fmt.Errorf("cannot write the emergency kit: %w", err)
	}
	return code, info, nil
}
