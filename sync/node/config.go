package node

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/syncthing/syncthing/lib/config"
	"github.com/syncthing/syncthing/lib/protocol"
)

// Tuning for a handful of workstations on one LAN, each writing small
// immutable files that peers want within a fraction of a second.
const (
	// reconnectS: how soon a lost peer is dialled again (Syncthing's
	// minimum is 5; its default 60 would leave a restarted peer out of
	// touch for up to a minute).
	reconnectS = 10
	// pullerPauseS: the wait after a failed pull before the next try
	// (default 60 s). A pull fails when a file is not yet complete on any
	// peer that is online; try again soon.
	pullerPauseS = 2
	// watcherDelayS: the outbox watcher is only a safety net behind the
	// explicit ScanOutbox after each segment, so it may be quick.
	watcherDelayS = 1
	// rescanS: a full rescan of each folder now and then.
	rescanS = 3600
)

// initialConfig is the whole Syncthing configuration for Config: the closed-
// LAN options, this node's outbox, and every peer's folder.
func (n *Node) initialConfig() (config.Configuration, error) {
	cfg := config.New(n.myID)
	closedLAN(&cfg, n.cfg)
	for i := range cfg.Devices {
		if cfg.Devices[i].DeviceID == n.myID {
			cfg.Devices[i].Name = n.deviceName()
		}
	}
	for _, p := range n.cfg.Peers {
		if err := n.addPeer(&cfg, p); err != nil {
			return cfg, err
		}
	}
	n.ensureOutbox(&cfg)
	for _, b := range n.cfg.BackupPeers {
		if err := n.addBackupPeer(&cfg, b); err != nil {
			return cfg, err
		}
	}
	for _, id := range n.cfg.Restore {
		if !validNodeID(id) {
			return cfg, fmt.Errorf("replica node: %q is not a node id", id)
		}
		n.ensureInbox(&cfg, id)
	}
	return cfg, nil
}

func (n *Node) deviceName() string {
	if n.cfg.Name != "" {
		return n.cfg.Name
	}
	return "ward-" + n.cfg.NodeID
}

// closedLAN: nothing leaves the clinic network unless an administrator adds
// an address outside it. No global discovery, relays, NAT traversal (UPnP,
// NAT-PMP, STUN), usage or crash reports, upgrades, web GUI or REST API.
func closedLAN(cfg *config.Configuration, c Config) {
	o := &cfg.Options
	o.RawListenAddresses = []string{c.Listen}
	o.GlobalAnnEnabled = false
	o.RawGlobalAnnServers = []string{}
	o.LocalAnnEnabled = c.LANDiscovery
	o.RelaysEnabled = false
	o.NATEnabled = false
	o.RawStunServers = []string{}
	o.URAccepted = -1 // declined
	o.URSeen = 1 << 20
	o.URURL = ""
	o.CREnabled = false
	o.CRURL = ""
	o.AutoUpgradeIntervalH = 0
	o.ReleasesURL = ""
	o.StartBrowser = false
	o.SetLowPriority = false // would renice the whole Ward process
	o.ReconnectIntervalS = reconnectS
	o.ProgressUpdateIntervalS = -1
	o.RawMaxFolderConcurrency = -1 // a pull never waits for another folder's scan
	o.AnnounceLANAddresses = true
	o.UnackedNotificationIDs = []string{}
	o.CacheIgnoredFiles = false
	cfg.GUI.Enabled = false
	cfg.GUI.RawAddress = "127.0.0.1:0"
	cfg.GUI.APIKey = ""
	// Nothing is accepted without Ward saying so.
	cfg.Defaults.Device.AutoAcceptFolders = false
	cfg.Defaults.Device.Introducer = false
}

func parseDevice(s string) (protocol.DeviceID, error) {
	id, err := protocol.DeviceIDFromString(strings.TrimSpace(s))
	if err != nil {
		return id, fmt.Errorf("replica node: %q is not a Syncthing device id", s)
	}
	return id, nil
}

func cleanAddresses(addrs []string) ([]string, error) {
	if len(addrs) == 0 {
		return []string{"dynamic"}, nil
	}
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		if a == "dynamic" {
			out = append(out, a)
			continue
		}
		if !strings.Contains(a, "://") {
			a = "tcp://" + a
		}
		if err := checkListen(a); err != nil {
			return nil, fmt.Errorf("replica node: peer address %q is not tcp://host:port", a)
		}
		out = append(out, a)
	}
	return out, nil
}

func (n *Node) newFolder(cfg *config.Configuration, id, path string, t config.FolderType) config.FolderConfiguration {
	f := cfg.Defaults.Folder.Copy()
	f.ID = id
	f.Label = "Ward " + strings.TrimPrefix(id, FolderPrefix)
	f.Path = path
	f.FilesystemType = config.FilesystemTypeBasic
	f.Type = t
	f.RescanIntervalS = rescanS
	f.FSWatcherEnabled = t == config.FolderTypeSendOnly
	f.FSWatcherDelayS = watcherDelayS
	f.PullerPauseS = pullerPauseS
	f.Order = config.PullOrderAlphabetic // segments in sequence order
	f.ScanProgressIntervalS = -1
	f.Versioning.Reset()
	f.Devices = []config.FolderDeviceConfiguration{{DeviceID: n.myID}}
	return f
}

func folderIndex(cfg *config.Configuration, id string) int {
	return slices.IndexFunc(cfg.Folders, func(f config.FolderConfiguration) bool { return f.ID == id })
}

func deviceIndex(cfg *config.Configuration, id protocol.DeviceID) int {
	return slices.IndexFunc(cfg.Devices, func(d config.DeviceConfiguration) bool { return d.DeviceID == id })
}

func shareWith(f *config.FolderConfiguration, dev protocol.DeviceID, password string) {
	for i := range f.Devices {
		if f.Devices[i].DeviceID == dev {
			f.Devices[i].EncryptionPassword = password
			return
		}
	}
	f.Devices = append(f.Devices, config.FolderDeviceConfiguration{DeviceID: dev, EncryptionPassword: password})
}

// ensureOutbox adds this node's send-only folder, shared with every peer.
func (n *Node) ensureOutbox(cfg *config.Configuration) {
	id := FolderID(n.cfg.NodeID)
	if folderIndex(cfg, id) < 0 {
		cfg.Folders = append(cfg.Folders, n.newFolder(cfg, id, n.outbox, config.FolderTypeSendOnly))
	}
	f := &cfg.Folders[folderIndex(cfg, id)]
	for _, d := range n.devices(cfg, false) {
		shareWith(f, d, "")
	}
	n.shareWithBackups(cfg, f)
}

// ensureInbox adds the receive-only folder for nodeID's segments, shared
// with every trusted device: the owner, and the other peers, which hold
// copies and can hand them on while the owner is away.
func (n *Node) ensureInbox(cfg *config.Configuration, nodeID string) {
	id := FolderID(nodeID)
	if folderIndex(cfg, id) < 0 {
		cfg.Folders = append(cfg.Folders, n.newFolder(cfg, id, InboxDir(n.cfg.Dir, nodeID), config.FolderTypeReceiveOnly))
	}
	f := &cfg.Folders[folderIndex(cfg, id)]
	for _, d := range n.devices(cfg, false) {
		shareWith(f, d, "")
	}
	n.shareWithBackups(cfg, f)
}

func (n *Node) shareWithBackups(cfg *config.Configuration, f *config.FolderConfiguration) {
	for _, d := range n.devices(cfg, true) {
		shareWith(f, d, BackupPassword(n.cfg.BackupKey, f.ID))
	}
}

// devices are the peer devices in cfg: trusted peers, or backup peers.
func (n *Node) devices(cfg *config.Configuration, untrusted bool) []protocol.DeviceID {
	var out []protocol.DeviceID
	for _, d := range cfg.Devices {
		if d.DeviceID != n.myID && d.Untrusted == untrusted {
			out = append(out, d.DeviceID)
		}
	}
	return out
}

func (n *Node) addPeer(cfg *config.Configuration, p Peer) error {
	if !validNodeID(p.NodeID) {
		return fmt.Errorf("replica node: %q is not a node id", p.NodeID)
	}
	if p.NodeID == n.cfg.NodeID {
		return errors.New("replica node: a workstation cannot be its own peer")
	}
	dev, err := parseDevice(p.DeviceID)
	if err != nil {
		return err
	}
	if dev == n.myID {
		return errors.New("replica node: that device id is this workstation's own")
	}
	addrs, err := cleanAddresses(p.Addresses)
	if err != nil {
		return err
	}
	if i := deviceIndex(cfg, dev); i >= 0 {
		if cfg.Devices[i].Untrusted {
			return errors.New("replica node: that device is a backup peer, not a workstation")
		}
		cfg.Devices[i].Addresses = addrs
		cfg.Devices[i].Name = FolderID(p.NodeID)
	} else {
		d := cfg.Defaults.Device.Copy()
		d.DeviceID = dev
		d.Name = FolderID(p.NodeID) // the node id travels in the name: Status reads it back
		d.Addresses = addrs
		d.AutoAcceptFolders = false
		d.Introducer = false
		cfg.Devices = append(cfg.Devices, d)
	}
	// Full mesh: the new device gets every trusted folder, and its own.
	n.ensureInbox(cfg, p.NodeID)
	for i := range cfg.Folders {
		if strings.HasPrefix(cfg.Folders[i].ID, FolderPrefix) {
			shareWith(&cfg.Folders[i], dev, "")
		}
	}
	return nil
}

func (n *Node) addBackupPeer(cfg *config.Configuration, b BackupPeer) error {
	if len(n.cfg.BackupKey) < 32 {
		return errors.New("replica node: backup peers need the backup key")
	}
	dev, err := parseDevice(b.DeviceID)
	if err != nil {
		return err
	}
	if dev == n.myID {
		return errors.New("replica node: that device id is this workstation's own")
	}
	addrs, err := cleanAddresses(b.Addresses)
	if err != nil {
		return err
	}
	if i := deviceIndex(cfg, dev); i >= 0 {
		if !cfg.Devices[i].Untrusted {
			return errors.New("replica node: that device is a workstation, not a backup peer")
		}
		cfg.Devices[i].Addresses = addrs
	} else {
		d := cfg.Defaults.Device.Copy()
		d.DeviceID = dev
		d.Name = "ward-backup"
		d.Addresses = addrs
		d.Untrusted = true // every folder shared with it must carry a password
		cfg.Devices = append(cfg.Devices, d)
	}
	for i := range cfg.Folders {
		if strings.HasPrefix(cfg.Folders[i].ID, FolderPrefix) {
			shareWith(&cfg.Folders[i], dev, BackupPassword(n.cfg.BackupKey, cfg.Folders[i].ID))
		}
	}
	return nil
}

// BackupPassword is the password of folder id on untrusted backup peers,
// derived from the backup key (itself derived from the clinic key), so any
// workstation of the clinic can share with, and restore from, the same
// encrypted copy. 32 bytes of HKDF-SHA256 output, base32.
func BackupPassword(backupKey []byte, folderID string) string {
	k, err := hkdf.Key(sha256.New, backupKey, nil, "ward backup-peer folder password v1 "+folderID, 32)
	if err != nil {
		panic(err) // only for lengths HKDF cannot give
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(k)
}

// modify applies fn to a copy of the running configuration and waits until
// every part of Syncthing has taken it in.
func (n *Node) modify(fn func(*config.Configuration) error) error {
	var ferr error
	w, err := n.wrapper.Modify(func(cfg *config.Configuration) {
		before := cfg.Copy()
		if ferr = fn(cfg); ferr != nil {
			*cfg = before
		}
	})
	if ferr != nil {
		return ferr
	}
	if err != nil {
		return fmt.Errorf("replica node: configuration refused: %w", err)
	}
	w.Wait()
	return nil
}

// AddPeer adds (or updates the addresses of) a workstation: its device, its
// folder received here, this node's outbox shared with it, and every other
// folder too (full mesh).
func (n *Node) AddPeer(p Peer) error {
	return n.modify(func(cfg *config.Configuration) error { return n.addPeer(cfg, p) })
}

// RemovePeer forgets a workstation: its device and its folder. The files it
// sent stay in Dir/replica/in/<node>/ (the importer decides what they are
// worth); nothing more arrives from it or goes to it.
func (n *Node) RemovePeer(nodeID string) error {
	return n.modify(func(cfg *config.Configuration) error {
		if i := folderIndex(cfg, FolderID(nodeID)); i >= 0 {
			cfg.Folders = slices.Delete(cfg.Folders, i, i+1)
		}
		for i, d := range cfg.Devices {
			if d.DeviceID != n.myID && !d.Untrusted && d.Name == FolderID(nodeID) {
				cfg.Devices = slices.Delete(cfg.Devices, i, i+1)
				break // prepare() drops it from every folder
			}
		}
		return nil
	})
}

// ShareOutbox shares this node's outbox with one more device (AddPeer does
// this for workstations).
func (n *Node) ShareOutbox(deviceID string) error {
	dev, err := parseDevice(deviceID)
	if err != nil {
		return err
	}
	return n.modify(func(cfg *config.Configuration) error {
		i := deviceIndex(cfg, dev)
		if i < 0 {
			return errors.New("replica node: add the device first (AddPeer)")
		}
		password := ""
		if cfg.Devices[i].Untrusted {
			password = BackupPassword(n.cfg.BackupKey, FolderID(n.cfg.NodeID))
		}
		shareWith(&cfg.Folders[folderIndex(cfg, FolderID(n.cfg.NodeID))], dev, password)
		return nil
	})
}

// ReceiveFrom receives nodeID's folder from the given devices (already
// added), creating Dir/replica/in/<node>/ when needed.
func (n *Node) ReceiveFrom(nodeID string, deviceIDs ...string) error {
	if !validNodeID(nodeID) || nodeID == n.cfg.NodeID {
		return fmt.Errorf("replica node: %q is not another node's id", nodeID)
	}
	var devs []protocol.DeviceID
	for _, s := range deviceIDs {
		d, err := parseDevice(s)
		if err != nil {
			return err
		}
		devs = append(devs, d)
	}
	return n.modify(func(cfg *config.Configuration) error {
		n.ensureInbox(cfg, nodeID)
		f := &cfg.Folders[folderIndex(cfg, FolderID(nodeID))]
		for _, d := range devs {
			i := deviceIndex(cfg, d)
			if i < 0 {
				return errors.New("replica node: add the device first (AddPeer or AddBackupPeer)")
			}
			password := ""
			if cfg.Devices[i].Untrusted {
				password = BackupPassword(n.cfg.BackupKey, f.ID)
			}
			shareWith(f, d, password)
		}
		return nil
	})
}

// AddBackupPeer shares every Ward folder on this node with an untrusted
// plain Syncthing device, encrypted (folder type receiveencrypted there).
func (n *Node) AddBackupPeer(b BackupPeer) error {
	return n.modify(func(cfg *config.Configuration) error { return n.addBackupPeer(cfg, b) })
}

// RemoveBackupPeer stops sharing with a backup peer.
func (n *Node) RemoveBackupPeer(deviceID string) error {
	dev, err := parseDevice(deviceID)
	if err != nil {
		return err
	}
	return n.modify(func(cfg *config.Configuration) error {
		if i := deviceIndex(cfg, dev); i >= 0 && cfg.Devices[i].Untrusted {
			cfg.Devices = slices.Delete(cfg.Devices, i, i+1)
		}
		return nil
	})
}
