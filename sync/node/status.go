package node

import (
	"sort"
	"strings"
	"time"

	"github.com/syncthing/syncthing/lib/protocol"
)

// Status is what the node knows about its peers and folders right now.
type Status struct {
	DeviceID string
	Listen   []string
	Peers    []PeerStatus
	Folders  []FolderStatus
	Warnings []string // Syncthing's recent warnings (no file contents; names are sequence numbers)
}

// PeerStatus is one peer device.
type PeerStatus struct {
	NodeID    string // "" for a backup peer
	DeviceID  string
	Backup    bool     // an untrusted backup peer (encrypted folders)
	Connected bool     // a connection is up now
	Address   string   // the connection's remote address, when connected
	Addresses []string // where this node dials it ("dynamic": LAN discovery)
	LastSeen  time.Time
	// OutboxNeedBytes: how much of this node's outbox the peer still lacks
	// (as far as this node knows; 0 when it has it all).
	OutboxNeedBytes int64
}

// FolderStatus is one Ward folder on this node.
type FolderStatus struct {
	ID     string
	Node   string // whose segments
	Outbox bool   // this node's own
	State  string // idle, scanning, syncing, sync-waiting, error, …
	Error  string
	// InSync: this node has everything its peers have announced.
	InSync    bool
	NeedBytes int64
	NeedItems int
	Files     int // files in the global index (segments, as everyone knows them)
}

// Status gathers the node's view of its peers and folders.
func (n *Node) Status() Status {
	st := Status{DeviceID: n.DeviceID(), Listen: n.Addresses(), Warnings: recentWarnings()}
	in := n.app.Internals
	cfg := n.wrapper.RawCopy()
	stats, _ := in.DeviceStatistics()
	n.mu.Lock()
	conns := make(map[protocol.DeviceID]string, len(n.conns))
	for k, v := range n.conns {
		conns[k] = v
	}
	n.mu.Unlock()
	outbox := FolderID(n.cfg.NodeID)
	for _, d := range cfg.Devices {
		if d.DeviceID == n.myID {
			continue
		}
		p := PeerStatus{DeviceID: d.DeviceID.String(), Backup: d.Untrusted, Addresses: d.Addresses}
		if !d.Untrusted {
			p.NodeID = strings.TrimPrefix(d.Name, FolderPrefix)
		}
		p.Connected = in.IsConnectedTo(d.DeviceID)
		if p.Connected {
			p.Address = conns[d.DeviceID]
			p.LastSeen = time.Now()
		} else if s, ok := stats[d.DeviceID]; ok && !s.LastSeen.IsZero() && s.LastSeen.Unix() > 0 {
			p.LastSeen = s.LastSeen
		}
		if c, err := in.Completion(d.DeviceID, outbox); err == nil {
			p.OutboxNeedBytes = c.NeedBytes
		}
		st.Peers = append(st.Peers, p)
	}
	for _, f := range cfg.Folders {
		node, ok := strings.CutPrefix(f.ID, FolderPrefix)
		if !ok {
			continue
		}
		fs := FolderStatus{ID: f.ID, Node: node, Outbox: f.ID == outbox}
		state, _, err := in.FolderState(f.ID)
		fs.State = state
		if err != nil {
			fs.Error = err.Error()
		}
		if c, err := in.Completion(protocol.LocalDeviceID, f.ID); err == nil {
			fs.NeedBytes, fs.NeedItems, fs.Files = c.NeedBytes, c.NeedItems, c.GlobalItems
			fs.InSync = c.NeedItems == 0 && c.NeedDeletes == 0 && fs.Error == ""
		}
		st.Folders = append(st.Folders, fs)
	}
	sort.Slice(st.Peers, func(i, j int) bool { return st.Peers[i].DeviceID < st.Peers[j].DeviceID })
	sort.Slice(st.Folders, func(i, j int) bool { return st.Folders[i].ID < st.Folders[j].ID })
	return st
}
