package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ward/store"
	"ward/sync/node"
)

// The replica's transport (issue 5, docs/replica.md): the embedded Syncthing
// node (sync/node) that carries segments between workstations, run as the
// "replica" background job beside the segment layer's loop (RunReplica),
// and the pairing listener that admits new workstations (syncpair.go).

// Transport settings of this workstation (never replicated): ward sync config.
const (
	SyncListen       = "sync.listen"        // tcp://host:port peers dial (default node.DefaultListen)
	SyncLANDiscovery = "sync.lan-discovery" // "on": announce on the LAN, find "dynamic" peers
)

const (
	// reconcileEvery: how often the node's peers are compared with the
	// clinic's workstations anyway; a commit that changes them (a node
	// admitted or removed here, by another process, or anywhere and
	// replicated) has them compared at once.
	reconcileEvery = 5 * time.Second
	// restartAfter: how long the transport waits after failing to start
	// (a port in use, say) before trying again.
	restartAfter = time.Minute
)

// syncListen is this workstation's listen address.
func (c *Clinic) syncListen(ctx context.Context) (listen string, lan bool, err error) {
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		if listen, err = tx.SyncSetting(SyncListen, node.DefaultListen); err != nil {
			return err
		}
		v, err := tx.SyncSetting(SyncLANDiscovery, "off")
		lan = v == "on"
		return err
	})
	return listen, lan, err
}

// nodeConfig is the node as the database describes it: this workstation,
// every other admitted one whose device is known, the backup peers.
func (c *Clinic) nodeConfig(ctx context.Context) (node.Config, error) {
	self := c.Node()
	cfg := node.Config{Dir: c.Dir(), NodeID: self.ID, Name: self.Name}
	var err error
	if cfg.Listen, cfg.LANDiscovery, err = c.syncListen(ctx); err != nil {
		return cfg, err
	}
	var backups []store.BackupPeer
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		ns, err := tx.NodeDevices()
		if err != nil {
			return err
		}
		for _, n := range ns {
			if !n.Self && !n.Revoked && n.DeviceID != "" {
				cfg.Peers = append(cfg.Peers, node.Peer{NodeID: n.ID, DeviceID: n.DeviceID, Addresses: n.Addresses})
			}
		}
		backups, err = tx.BackupPeers()
		return err
	})
	if err != nil {
		return cfg, err
	}
	for _, b := range backups {
		cfg.BackupPeers = append(cfg.BackupPeers, node.BackupPeer{DeviceID: b.DeviceID, Addresses: b.Addresses})
	}
	// Always: a backup peer added while the node runs needs it too.
	if cfg.BackupKey, err = c.db.ClinicSubkey(ctx, store.SubkeyBackupPeer); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// RunSync is the replica job: the Syncthing node, the pairing listener and
// the segment layer's loop (RunReplica) wired together, until ctx ends.
// The node failing to start (a port in use) is reported and tried again;
// segments keep being written and applied meanwhile.
func (c *Clinic) RunSync(ctx context.Context, events func(Event)) error {
	report := func(text string, failed bool) {
		if events != nil {
			events(Event{At: c.now(), Job: JobReplica, Text: text, Failed: failed})
		}
	}
	var current atomic.Pointer[node.Node]
	arrivals := make(chan string)
	nodesChanged := make(chan struct{}, 1)
	tctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.runTransport(tctx, &current, arrivals, nodesChanged, report)
	}()
	err := c.RunReplica(ctx, ReplicaLoop{
		Arrivals: arrivals,
		NodesChanged: func() {
			select {
			case nodesChanged <- struct{}{}:
			default:
			}
		},
		Written: func(name string) {
			if n := current.Load(); n != nil {
				if err := n.ScanOutbox(name); err != nil && ctx.Err() == nil {
					report("telling peers about a new segment failed: "+err.Error(), true)
				}
			}
		},
		Events: events,
	})
	stop()
	wg.Wait()
	return err
}

// runTransport keeps a node (and the pairing listener) running until ctx
// ends, forwarding its arrivals and keeping its peers in step with the
// clinic's workstations (at once when kicked: a commit changed them).
func (c *Clinic) runTransport(ctx context.Context, current *atomic.Pointer[node.Node], arrivals chan<- string, kick chan struct{}, report func(string, bool)) {
	for ctx.Err() == nil {
		n, ps, err := c.startTransport(ctx, report, func() {
			select {
			case kick <- struct{}{}:
			default:
			}
		})
		if err != nil {
			if ctx.Err() == nil {
				report(err.Error()+fmt.Sprintf(" (trying again in %v)", restartAfter), true)
			}
			select {
			case <-ctx.Done():
			case <-time.After(restartAfter):
			}
			continue
		}
		current.Store(n)
		c.driveNode(ctx, n, arrivals, kick, report)
		current.Store(nil)
		// Not running: `ward sync status` says so.
		c.db.Update(context.WithoutCancel(ctx), func(tx *store.Tx) error { return tx.SaveTransport(nil) })
		if ps != nil {
			ps.Close()
		}
		n.Stop()
	}
}

func (c *Clinic) startTransport(ctx context.Context, report func(string, bool), changed func()) (*node.Node, *node.PairServer, error) {
	cfg, err := c.nodeConfig(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("the replica node cannot be configured: %w", err)
	}
	n, err := node.Start(ctx, cfg)
	wipe(cfg.BackupKey)
	if err != nil {
		return nil, nil, err
	}
	// Peers learn where this workstation is from its node row.
	if err := c.db.Update(ctx, func(tx *store.Tx) error {
		return tx.SetNodeDevice(c.Node().ID, n.DeviceID(), n.Addresses())
	}); err != nil {
		report("recording this workstation's address failed: "+err.Error(), true)
	}
	report(fmt.Sprintf("replica node %s listening on %s with %d peers, %d backup peers",
		short(n.DeviceID()), n.ListenAddress(), len(cfg.Peers), len(cfg.BackupPeers)), false)
	var ps *node.PairServer
	if addr, err := node.PairAddress(n.ListenAddress()); err == nil {
		if ps, err = node.ServePairing(addr, n.Certificate(), &pairBook{c: c, report: report, changed: changed}); err != nil {
			report(err.Error()+": new workstations cannot join through this one", true)
		}
	}
	return n, ps, nil
}

// driveNode forwards arrivals and reconciles peers (at once when kicked,
// and every reconcileEvery as a safety net) until ctx ends or the node
// stops by itself.
func (c *Clinic) driveNode(ctx context.Context, n *node.Node, arrivals chan<- string, kick <-chan struct{}, report func(string, bool)) {
	tick := time.NewTicker(reconcileEvery)
	defer tick.Stop()
	in := n.Arrivals()
	c.saveTransport(ctx, n)
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.Done():
			report("the replica node stopped; starting it again", true)
			return
		case a, ok := <-in:
			if !ok {
				return
			}
			select {
			case arrivals <- a.Node:
			case <-ctx.Done():
				return
			}
		case <-kick:
			if err := c.reconcile(ctx, n); err != nil && ctx.Err() == nil {
				report("updating the replica's peers failed: "+err.Error(), true)
			}
		case <-tick.C:
			if err := c.reconcile(ctx, n); err != nil && ctx.Err() == nil {
				report("updating the replica's peers failed: "+err.Error(), true)
			}
			if err := c.saveTransport(ctx, n); err != nil && ctx.Err() == nil {
				report("recording the replica's connections failed: "+err.Error(), true)
			}
		}
	}
}

// reconcile makes the node's peers those the database lists: admitted
// workstations whose device is known (a removed one is dropped, with its
// folder), and the backup peers.
func (c *Clinic) reconcile(ctx context.Context, n *node.Node) error {
	want, err := c.nodeConfig(ctx)
	defer wipe(want.BackupKey)
	if err != nil {
		return err
	}
	have := map[string]node.PeerStatus{}
	for _, p := range n.Status().Peers {
		have[p.DeviceID] = p
	}
	wanted := map[string]bool{}
	for _, p := range want.Peers {
		wanted[p.DeviceID] = true
		h, ok := have[p.DeviceID]
		if ok && h.NodeID == p.NodeID && sameAddresses(h.Addresses, p.Addresses) {
			continue
		}
		if err := n.AddPeer(p); err != nil {
			return err
		}
	}
	for _, b := range want.BackupPeers {
		wanted[b.DeviceID] = true
		if h, ok := have[b.DeviceID]; ok && h.Backup && sameAddresses(h.Addresses, b.Addresses) {
			continue
		}
		if err := n.AddBackupPeer(b); err != nil {
			return err
		}
	}
	for dev, h := range have {
		switch {
		case wanted[dev]:
		case h.Backup:
			if err := n.RemoveBackupPeer(dev); err != nil {
				return err
			}
		default:
			if err := n.RemovePeer(h.NodeID); err != nil {
				return err
			}
		}
	}
	return nil
}

func sameAddresses(have, want []string) bool {
	if len(want) == 0 {
		want = []string{"dynamic"}
	}
	norm := func(a []string) []string {
		out := make([]string, 0, len(a))
		for _, s := range a {
			if s != "dynamic" && !strings.Contains(s, "://") {
				s = "tcp://" + s
			}
			out = append(out, s)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(norm(have), norm(want))
}

// short is the first group of a device id, as people compare them.
func short(deviceID string) string {
	if i := strings.IndexByte(deviceID, '-'); i > 0 {
		return deviceID[:i]
	}
	return deviceID
}

// SyncConfig is this workstation's replica network settings.
type SyncConfig struct {
	Listen       string
	LANDiscovery bool
}

// SetSyncConfig changes (when given) and returns this workstation's listen
// address and LAN discovery ("on"/"off"); administrators. Nothing given:
// only read (administrators and security officers may).
func (s *Session) SetSyncConfig(ctx context.Context, listen, lan string) (SyncConfig, error) {
	act := ActSyncConfig
	if listen == "" && lan == "" {
		act = ActSyncStatus
	}
	if listen != "" {
		if err := node.CheckListen(listen); err != nil {
			return SyncConfig{}, err
		}
		if _, err := node.PairAddress(listen); err != nil {
			return SyncConfig{}, err
		}
	}
	var cfg SyncConfig
	err := s.Do(ctx, act, "", func(tx *store.Tx, w *Work) error {
		if listen != "" {
			if err := tx.SetSyncSetting(SyncListen, listen); err != nil {
				return err
			}
		}
		if lan != "" {
			if err := tx.SetSyncSetting(SyncLANDiscovery, lan); err != nil {
				return err
			}
		}
		var err error
		if cfg.Listen, err = tx.SyncSetting(SyncListen, node.DefaultListen); err != nil {
			return err
		}
		v, err := tx.SyncSetting(SyncLANDiscovery, "off")
		cfg.LANDiscovery = v == "on"
		w.Detail = fmt.Sprintf("replica network: listen %s, LAN discovery %v", cfg.Listen, cfg.LANDiscovery)
		return err
	})
	return cfg, err
}

// AddBackupPeer shares this workstation's folders, encrypted, with an
// untrusted plain Syncthing device (a NAS); administrators. It returns this
// workstation's device id, which that device must accept.
func (s *Session) AddBackupPeer(ctx context.Context, deviceID string, addresses []string) (string, error) {
	dev, err := node.ParseDeviceID(deviceID)
	if err != nil {
		return "", err
	}
	for i, a := range addresses {
		a = strings.TrimSpace(a)
		if !strings.Contains(a, "://") {
			a = "tcp://" + a
		}
		if err := node.CheckListen(a); err != nil {
			return "", fmt.Errorf("backup peer address %q is not tcp://host:port", addresses[i])
		}
		addresses[i] = a
	}
	_, self, err := node.DeviceCertificate(s.clinic.Dir())
	if err != nil {
		return "", err
	}
	if dev == self {
		return "", errors.New("that is this workstation's own device id")
	}
	err = s.Do(ctx, ActSyncBackupPeer, "", func(tx *store.Tx, w *Work) error {
		ns, err := tx.NodeDevices()
		if err != nil {
			return err
		}
		for _, n := range ns {
			if n.DeviceID == dev {
				return fmt.Errorf("device %s is workstation %s of this clinic, not a backup peer", short(dev), n.ID)
			}
		}
		w.Detail = fmt.Sprintf("backup peer %s added (encrypted folders)", dev)
		return tx.AddBackupPeer(dev, addresses)
	})
	return self, err
}

// RemoveBackupPeer stops sharing with a backup peer; administrators.
func (s *Session) RemoveBackupPeer(ctx context.Context, deviceID string) error {
	dev, err := node.ParseDeviceID(deviceID)
	if err != nil {
		return err
	}
	return s.Do(ctx, ActSyncBackupPeer, "", func(tx *store.Tx, w *Work) error {
		w.Detail = "backup peer " + dev + " removed"
		if err := tx.RemoveBackupPeer(dev); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%s is not a backup peer of this workstation", dev)
		} else if err != nil {
			return err
		}
		return nil
	})
}

// BackupPeers lists this workstation's backup peers (administrators and
// security officers).
func (s *Session) BackupPeers(ctx context.Context) ([]store.BackupPeer, error) {
	var out []store.BackupPeer
	err := s.Do(ctx, ActSyncStatus, "", func(tx *store.Tx, w *Work) error {
		var err error
		out, err = tx.BackupPeers()
		w.Detail = fmt.Sprintf("listed %d backup peers", len(out))
		return err
	})
	return out, err
}

// saveTransport records what the node sees, for `ward sync status`.
func (c *Clinic) saveTransport(ctx context.Context, n *node.Node) error {
	st := n.Status()
	rows := []store.TransportPeer{{DeviceID: st.DeviceID, Self: true, Connected: true, Address: n.ListenAddress()}}
	for _, p := range st.Peers {
		rows = append(rows, store.TransportPeer{DeviceID: p.DeviceID, NodeID: p.NodeID, Backup: p.Backup, Connected: p.Connected,
			Address: p.Address, LastSeen: p.LastSeen, OutboxNeed: p.OutboxNeedBytes})
	}
	return c.db.Update(ctx, func(tx *store.Tx) error { return tx.SaveTransport(rows) })
}

// SyncTransport is what the replica node running on this workstation (ward
// serve, or the window) last saw of its peers; none when it does not run.
// Administrators and security officers. It holds no patient data and comes
// with `ward sync status`, which records the sync.status entry: this read
// adds none.
func (s *Session) SyncTransport(ctx context.Context) ([]store.TransportPeer, error) {
	if err := s.active(ctx); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, ActSyncStatus, ""); err != nil {
		return nil, err
	}
	var out []store.TransportPeer
	err := s.clinic.db.Update(ctx, func(tx *store.Tx) (err error) {
		out, err = tx.Transport()
		return err
	})
	return out, err
}
