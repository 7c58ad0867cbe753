// Package node runs the replica's transport: an embedded Syncthing (v1.30,
// LevelDB) inside the Ward process, configured for a closed clinic LAN, that
// carries sealed segment files between workstations. It knows folders,
// devices and files; it never opens a segment (that is package sync's job).
//
// Layout in a data folder (see docs/replica.md):
//
//	<data>/replica/syncthing/   TLS device certificate + key (0600), LevelDB index
//	<data>/replica/out/         this node's segments: folder ward-<node>, send-only
//	<data>/replica/in/<node>/   every peer's segments: folder ward-<node>, receive-only
//
// Syncthing's configuration is never written to disk: it is built at every
// Start from Config and changed in memory by AddPeer, RemovePeer, … The
// caller (app) keeps the peer list in the encrypted database and hands it
// back at the next start. So no plain file holds a backup peer's folder
// password.
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"time"

	"github.com/syncthing/syncthing/lib/config"
	"github.com/syncthing/syncthing/lib/events"
	"github.com/syncthing/syncthing/lib/locations"
	"github.com/syncthing/syncthing/lib/protocol"
	"github.com/syncthing/syncthing/lib/svcutil"
	"github.com/syncthing/syncthing/lib/syncthing"
)

// DefaultListen is where a workstation listens for its peers when nothing
// else is configured: every interface, a fixed port (Syncthing's own default
// is 22000; Ward keeps clear of a stock Syncthing on the same machine).
const DefaultListen = "tcp://0.0.0.0:22100"

// Folder and file names shared with the segment layer.
const (
	// FolderPrefix + node id is the Syncthing folder id of a node's segments.
	FolderPrefix = "ward-"
	// TempPrefix marks a segment being written; Syncthing ignores such names.
	TempPrefix = ".tmp-"
)

// FolderID is the Syncthing folder that carries nodeID's segments.
func FolderID(nodeID string) string { return FolderPrefix + nodeID }

// Config describes one workstation's node.
type Config struct {
	// Dir is the data folder; the node lives in Dir/replica (see the package
	// comment). Required.
	Dir string
	// NodeID is this workstation's Ward node id (store.NodeID). Required.
	NodeID string
	// Name is the device name peers see (the workstation name; never PHI).
	Name string
	// Listen is the address peers connect to, tcp://host:port; "" means
	// DefaultListen. Tests use tcp://127.0.0.1:0 (a free port; see Addresses).
	Listen string
	// LANDiscovery announces this node on the local network and finds peers
	// whose addresses are "dynamic" (Syncthing local discovery, UDP 21027).
	LANDiscovery bool
	// Peers are the workstations known at start (more with AddPeer).
	Peers []Peer
	// BackupPeers are untrusted plain Syncthing devices that keep encrypted
	// copies of every folder (more with AddBackupPeer).
	BackupPeers []BackupPeer
	// BackupKey (32 bytes, derived by the caller from the clinic key) gives
	// each folder its password on backup peers. Required for backup peers.
	BackupKey []byte
	// Restore lists node ids whose folders are pulled from the backup peers
	// alone (a workstation rebuilt from an off-site copy).
	Restore []string
}

// Peer is another Ward workstation.
type Peer struct {
	NodeID   string
	DeviceID string
	// Addresses: tcp://host:port; none means "dynamic" (LAN discovery).
	Addresses []string
}

// BackupPeer is an untrusted Syncthing device (a NAS): it receives every
// folder encrypted, and can give it back to a workstation that knows the
// clinic key.
type BackupPeer struct {
	DeviceID  string
	Addresses []string
}

// Arrival says that new files completed in a peer's folder: the importer
// should look at Dir/replica/in/<Node>/ now. Files lists the names that
// finished (possibly none: "look again"); several arrivals may be merged.
type Arrival struct {
	Node   string
	Folder string
	Files  []string
}

// Node is a running embedded Syncthing.
type Node struct {
	cfg      Config
	home     string
	outbox   string
	inbox    string
	myID     protocol.DeviceID
	cert     tls.Certificate
	evLogger events.Logger
	wrapper  config.Wrapper
	app      *syncthing.App

	cancelEarly context.CancelFunc
	early       stdsync.WaitGroup // event logger + config wrapper
	pumps       stdsync.WaitGroup // event reader + arrival pump
	sub         events.Subscription
	stopCtx     context.CancelFunc

	arrivals chan Arrival
	kick     chan struct{}

	mu       stdsync.Mutex
	pending  map[string]*Arrival // by folder, waiting for the reader of Arrivals
	order    []string            // folders in pending, oldest first
	conns    map[protocol.DeviceID]string
	listenCh chan struct{} // closed once a listener reported its address
	stopOnce stdsync.Once
	stopped  chan struct{}
}

// startMu serializes starts: Syncthing keeps a few process-wide settings
// (base directories) that are set just before a node starts.
var startMu stdsync.Mutex

// Paths of the replica inside a data folder.
func HomeDir(dir string) string   { return filepath.Join(dir, "replica", "syncthing") }
func OutboxDir(dir string) string { return filepath.Join(dir, "replica", "out") }
func InboxDir(dir, nodeID string) string {
	return filepath.Join(dir, "replica", "in", nodeID)
}

// Start starts the node and returns once it listens. It stops when ctx ends
// or Stop is called; Stop waits for everything it started.
func Start(ctx context.Context, c Config) (*Node, error) {
	if c.Dir == "" || c.NodeID == "" {
		return nil, errors.New("replica node: the data folder and node id are required")
	}
	if !validNodeID(c.NodeID) {
		return nil, fmt.Errorf("replica node: %q is not a node id", c.NodeID)
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	listen, err := concreteListen(c.Listen)
	if err != nil {
		return nil, err
	}
	c.Listen = listen
	if len(c.BackupPeers) > 0 && len(c.BackupKey) < 32 {
		return nil, errors.New("replica node: backup peers need the backup key")
	}
	c.BackupKey = append([]byte(nil), c.BackupKey...) // the caller wipes its copy
	tameSyncthing()

	n := &Node{
		cfg:      c,
		home:     HomeDir(c.Dir),
		outbox:   OutboxDir(c.Dir),
		inbox:    filepath.Join(c.Dir, "replica", "in"),
		arrivals: make(chan Arrival),
		kick:     make(chan struct{}, 1),
		pending:  map[string]*Arrival{},
		conns:    map[protocol.DeviceID]string{},
		listenCh: make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	for _, d := range []string{n.home, n.outbox, n.inbox} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("replica node: cannot create %s: %w", d, err)
		}
	}
	if err := writeIgnores(n.outbox); err != nil {
		return nil, err
	}

	startMu.Lock()
	defer startMu.Unlock()
	// Syncthing resolves a few paths (the database's free-space check) from
	// process-wide base directories; point them at this node first.
	if err := locations.SetBaseDir(locations.ConfigBaseDir, n.home); err != nil {
		return nil, err
	}
	if err := locations.SetBaseDir(locations.DataBaseDir, n.home); err != nil {
		return nil, err
	}
	cert, err := loadOrMakeCert(n.home)
	if err != nil {
		return nil, err
	}
	n.cert = cert
	n.myID = protocol.NewDeviceID(cert.Certificate[0])

	stcfg, err := n.initialConfig()
	if err != nil {
		return nil, err
	}

	earlyCtx, cancelEarly := context.WithCancel(context.Background())
	n.cancelEarly = cancelEarly
	n.evLogger = events.NewLogger()
	n.wrapper = config.Wrap("", stcfg, n.myID, n.evLogger) // "": never saved
	for _, svc := range []interface{ Serve(context.Context) error }{n.evLogger, n.wrapper} {
		n.early.Add(1)
		go func() {
			defer n.early.Done()
			_ = svc.Serve(earlyCtx)
		}()
	}
	// Subscribe before the app starts, so no early event is missed.
	n.sub = n.evLogger.Subscribe(events.DeviceConnected | events.DeviceDisconnected |
		events.ItemFinished | events.StateChanged | events.ListenAddressesChanged)

	ldb, err := syncthing.OpenDBBackend(filepath.Join(n.home, locations.LevelDBDir), stcfg.Options.DatabaseTuning)
	if err != nil {
		n.stopEarly()
		if strings.Contains(err.Error(), "resource temporarily unavailable") || strings.Contains(err.Error(), "lock") {
			return nil, errors.New("replica node: its database is in use: is another Ward running on this data folder?")
		}
		return nil, fmt.Errorf("replica node: cannot open its database: %w", err)
	}
	app, err := syncthing.New(n.wrapper, ldb, n.evLogger, cert, syncthing.Options{NoUpgrade: true})
	if err != nil {
		ldb.Close()
		n.stopEarly()
		return nil, fmt.Errorf("replica node: %w", err)
	}
	n.app = app
	stopCtx, stopCtxCancel := context.WithCancel(context.Background())
	n.stopCtx = stopCtxCancel
	n.pumps.Add(2)
	go n.readEvents()
	go n.pumpArrivals(stopCtx)
	if err := app.Start(); err != nil {
		n.shutdown()
		return nil, fmt.Errorf("replica node: cannot start: %w", err)
	}
	// The listener reports its address (a free port when asked for :0).
	select {
	case <-n.listenCh:
	case <-time.After(10 * time.Second):
		n.shutdown()
		return nil, fmt.Errorf("replica node: no listener on %s after 10 s (port in use?)", c.Listen)
	}
	// Stop with ctx, or when Syncthing stops by itself (a fatal error).
	appDone := make(chan struct{})
	go func() {
		app.Wait()
		close(appDone)
	}()
	go func() {
		select {
		case <-ctx.Done():
		case <-appDone:
		}
		n.Stop()
	}()
	return n, nil
}

// Stop stops Syncthing, its listeners and database, and the goroutines of
// this package, and waits for them. Arrivals is closed. Safe to call twice.
func (n *Node) Stop() {
	n.stopOnce.Do(n.shutdown)
	<-n.stopped
}

func (n *Node) shutdown() {
	if n.app != nil {
		n.app.Stop(svcutil.ExitSuccess) // waits for the services and closes LevelDB
	}
	n.stopEarly()
	if n.stopCtx != nil {
		n.stopCtx()
	}
	n.pumps.Wait()
	wipeBytes(n.cfg.BackupKey)
	close(n.stopped)
}

func (n *Node) stopEarly() {
	n.cancelEarly()
	n.early.Wait()
}

// Done is closed once the node has stopped (Stop, its context, or a fatal
// error inside Syncthing).
func (n *Node) Done() <-chan struct{} { return n.stopped }

// DeviceID is this node's Syncthing device id (from its TLS certificate).
func (n *Node) DeviceID() string { return n.myID.String() }

// Certificate is the device certificate and key (for the pairing listener).
func (n *Node) Certificate() tls.Certificate { return n.cert }

// Addresses are the tcp:// addresses peers can dial: the listen address, or
// for an unspecified host (0.0.0.0, ::) one per non-loopback interface
// address.
func (n *Node) Addresses() []string {
	return dialable(n.cfg.Listen)
}

// Arrivals delivers news of files that completed in peers' folders. Read it
// steadily: arrivals are merged per folder while nobody reads. Closed by Stop.
func (n *Node) Arrivals() <-chan Arrival { return n.arrivals }

// ScanOutbox makes Syncthing look at the outbox now, at one file (name
// relative to the outbox) or at all of it (""); it returns when the scan is
// done and peers are being told. Call it after each segment is renamed into
// place.
func (n *Node) ScanOutbox(name string) error {
	var sub []string
	if name != "" {
		if strings.Contains(name, "..") || filepath.IsAbs(name) {
			return fmt.Errorf("replica node: %q is not a name inside the outbox", name)
		}
		sub = []string{filepath.ToSlash(name)}
	}
	if err := n.app.Internals.ScanFolderSubdirs(FolderID(n.cfg.NodeID), sub); err != nil {
		return fmt.Errorf("replica node: scanning the outbox: %w", err)
	}
	return nil
}

// ScanInbox rescans a peer's folder (after the importer found a damaged
// file, say); normally Syncthing keeps inboxes up to date by itself.
func (n *Node) ScanInbox(nodeID string) error {
	return n.app.Internals.ScanFolderSubdirs(FolderID(nodeID), nil)
}

// concreteListen checks a listen address and, for port 0, picks a free
// port now: Syncthing reports a listener's address before it knows the port
// it got, so peers must be told a concrete one.
func concreteListen(addr string) (string, error) {
	if err := checkListen(addr); err != nil {
		return "", err
	}
	u, _ := url.Parse(addr)
	host, port, _ := net.SplitHostPort(u.Host)
	if port != "0" {
		return addr, nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("replica node: no free port on %s: %w", host, err)
	}
	defer l.Close()
	u.Host = l.Addr().String()
	return u.String(), nil
}

// dialable turns a listen address into addresses a peer can dial.
func dialable(listen string) []string {
	u, err := url.Parse(listen)
	if err != nil {
		return nil
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return nil
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return []string{listen}
	}
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range ifaddrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsMulticast() {
			continue
		}
		if u.Scheme == "tcp4" && ipn.IP.To4() == nil || u.Scheme == "tcp6" && ipn.IP.To4() != nil {
			continue
		}
		out = append(out, "tcp://"+net.JoinHostPort(ipn.IP.String(), port))
	}
	return out
}

func checkListen(addr string) error {
	u, err := url.Parse(addr)
	if err != nil || u.Scheme != "tcp" && u.Scheme != "tcp4" && u.Scheme != "tcp6" {
		return fmt.Errorf("replica node: listen address %q is not tcp://host:port", addr)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return fmt.Errorf("replica node: listen address %q is not tcp://host:port", addr)
	}
	return nil
}

func validNodeID(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// loadOrMakeCert loads the device certificate, making one on first start.
// Both files are kept 0600 (the key is a secret; the certificate is not, but
// nobody else needs it).
func loadOrMakeCert(home string) (tls.Certificate, error) {
	tameSyncthing() // it logs as it generates
	certFile, keyFile := filepath.Join(home, "cert.pem"), filepath.Join(home, "key.pem")
	cert, err := syncthing.LoadOrGenerateCertificate(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("replica node: device certificate: %w", err)
	}
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chmod(f, 0o600); err != nil {
			return tls.Certificate{}, fmt.Errorf("replica node: device certificate: %w", err)
		}
	}
	return cert, nil
}

// writeIgnores tells Syncthing to skip segments still being written.
func writeIgnores(dir string) error {
	const body = "// Ward: segments being written (renamed into place when complete)\n" + TempPrefix + "*\n"
	p := filepath.Join(dir, ".stignore")
	if b, err := os.ReadFile(p); err == nil && string(b) == body {
		return nil
	}
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		return fmt.Errorf("replica node: cannot write %s: %w", p, err)
	}
	return nil
}

// ListenAddress is the address the node listens on (with the port it got,
// when Config asked for port 0).
func (n *Node) ListenAddress() string { return n.cfg.Listen }

// DeviceCertificate loads this data folder's device certificate, making it
// on first use, and returns it with its device id (for pairing before the
// node has ever run).
func DeviceCertificate(dataDir string) (tls.Certificate, string, error) {
	home := HomeDir(dataDir)
	if err := os.MkdirAll(home, 0o700); err != nil {
		return tls.Certificate{}, "", fmt.Errorf("replica node: cannot create %s: %w", home, err)
	}
	startMu.Lock()
	defer startMu.Unlock()
	cert, err := loadOrMakeCert(home)
	if err != nil {
		return cert, "", err
	}
	return cert, protocol.NewDeviceID(cert.Certificate[0]).String(), nil
}

// CheckListen tells whether addr is a listen address a node accepts
// (tcp://host:port).
func CheckListen(addr string) error { return checkListen(addr) }

// DialAddresses are the addresses peers can dial for a node listening on
// listen (see Addresses).
func DialAddresses(listen string) []string { return dialable(listen) }

// ParseDeviceID checks a Syncthing device id and returns its canonical form.
func ParseDeviceID(s string) (string, error) {
	id, err := parseDevice(s)
	if err != nil {
		return "", err
	}
	return id.String(), nil
}
