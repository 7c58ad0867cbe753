package app

import (
	"context"

	"ward/store"
	wsync "ward/sync"
	"ward/sync/node"
)

// SyncOverview is the replica as a screen shows it (the GUI's Workstations
// tab): what `ward sync status`, `ward sync approve` (the list) and `ward
// sync backup-peer list` print, read at once.
type SyncOverview struct {
	Status       wsync.Status
	Listen       string // this workstation's listen address (sync.listen)
	LANDiscovery bool
	Device       string                // this workstation's device id
	Transport    []store.TransportPeer // what the running node last saw; none when it does not run
	Requests     []store.JoinRow       // workstations waiting for approval here
	BackupPeers  []store.BackupPeer
}

// SyncOverview reads the replica's overview (administrators and security
// officers). The first read of a screen is SyncStatus: authorized, audited
// (sync.status) and the person's activity. refresh is the same screen
// reading again on its own while it stays open: it holds no patient data
// and adds no audit entry (an entry every few seconds would flood the
// chain, and every peer with it), and it does not count as activity, so an
// open screen still locks.
func (s *Session) SyncOverview(ctx context.Context, refresh bool) (SyncOverview, error) {
	var ov SyncOverview
	var err error
	if refresh && s.Allowed(ActSyncStatus) {
		if err := s.stillOpen(ctx); err != nil {
			return ov, err
		}
		ov.Status, err = s.clinic.replica().Status(ctx)
	} else {
		ov.Status, err = s.SyncStatus(ctx) // a refusal is audited there
	}
	if err != nil {
		return ov, err
	}
	return ov, s.readSyncNetwork(ctx, &ov)
}

// readSyncNetwork fills in the network part of ov.
func (s *Session) readSyncNetwork(ctx context.Context, ov *SyncOverview) error {
	c := s.clinic
	var err error
	if ov.Listen, ov.LANDiscovery, err = c.syncListen(ctx); err != nil {
		return err
	}
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		if ov.Transport, err = tx.Transport(); err != nil {
			return err
		}
		if ov.Requests, err = tx.JoinRequests(store.JoinWaiting); err != nil {
			return err
		}
		ov.BackupPeers, err = tx.BackupPeers()
		return err
	})
	if err != nil {
		return err
	}
	if len(ov.Transport) > 0 && ov.Transport[0].Self {
		ov.Device = ov.Transport[0].DeviceID
	} else if _, ov.Device, err = node.DeviceCertificate(c.Dir()); err != nil {
		return err
	}
	return nil
}
