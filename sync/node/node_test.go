package node

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	stlogger "github.com/syncthing/syncthing/lib/logger"
)

// Three workstations on 127.0.0.1: each writes segments into its outbox,
// every other one receives them; propagation lag is measured from the start
// of the write on the origin to the arrival event on the receiver.
func TestThreeNodes(t *testing.T) {
	baseGoroutines := runtime.NumGoroutine()
	nodes := []*testNode{
		startTestNode(t, t.TempDir(), nil),
		startTestNode(t, t.TempDir(), nil),
		startTestNode(t, t.TempDir(), nil),
	}
	ports := []string{}
	for _, n := range nodes {
		ports = append(ports, listenPort(t, n))
	}
	mesh(t, nodes...)

	const perNode = 17 // ≈50 files in all
	var lags, first []time.Duration
	bodies := map[string][]byte{}
	for i := 0; i < perNode; i++ {
		for _, w := range nodes {
			body := bytes.Repeat([]byte(fmt.Sprintf("ward-seg test %s %d\n", w.id, i)), 40)
			name, t0 := w.writeSegment(t, i+1, body)
			bodies[w.id+"/"+name] = body
			for _, r := range nodes {
				if r != w {
					lag := r.waitArrival(t, w.id, name, 20*time.Second).Sub(t0)
					if i == 0 { // the first file after the nodes connected
						first = append(first, lag)
					} else {
						lags = append(lags, lag)
					}
				}
			}
		}
	}
	t.Logf("propagation lag (write + scan on one node → arrival on another) over %d deliveries: median %v, p99 %v, max %v; "+
		"first file of each node after connecting: max %v",
		len(lags), percentile(lags, 0.5), percentile(lags, 0.99), percentile(lags, 1), percentile(first, 1))

	// Every receiver holds every file, byte for byte, and no temp file.
	for _, r := range nodes {
		for _, w := range nodes {
			if r == w {
				continue
			}
			for i := 1; i <= perNode; i++ {
				name := fmt.Sprintf("%020d.wseg", i)
				got, err := os.ReadFile(filepath.Join(InboxDir(r.dir, w.id), name))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, bodies[w.id+"/"+name]) {
					t.Fatalf("%s on %s differs from the original", name, r.id)
				}
			}
		}
	}
	st := nodes[0].Status()
	if len(st.Peers) != 2 || len(st.Folders) != 3 {
		t.Fatalf("status: %d peers, %d folders; want 2 and 3", len(st.Peers), len(st.Folders))
	}
	for _, p := range st.Peers {
		if !p.Connected || p.Address == "" || p.NodeID == "" {
			t.Fatalf("peer status %+v", p)
		}
	}

	for _, n := range nodes {
		n.Stop()
		<-n.done // Arrivals closed
	}
	for _, p := range ports {
		if !portFree(p) {
			t.Errorf("%s still accepts connections after Stop", p)
		}
	}
	// Goroutines: Syncthing keeps a few process-wide ones (metrics, the
	// hashing benchmark's leftovers); what a node starts must be gone.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseGoroutines+8 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > baseGoroutines+8 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after stopping three nodes (%d before):\n%s", g, baseGoroutines, buf[:runtime.Stack(buf, true)])
	}
}

// A temp file in the outbox is never sent; its rename is.
func TestTempFilesIgnored(t *testing.T) {
	a := startTestNode(t, t.TempDir(), nil)
	b := startTestNode(t, t.TempDir(), nil)
	mesh(t, a, b)
	tmp := filepath.Join(OutboxDir(a.dir), TempPrefix+"00000000000000000001.wseg")
	if err := os.WriteFile(tmp, []byte("half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.ScanOutbox(""); err != nil {
		t.Fatal(err)
	}
	name, _ := a.writeSegment(t, 2, []byte("ward-seg complete"))
	b.waitArrival(t, a.id, name, 20*time.Second)
	if _, err := os.Stat(filepath.Join(InboxDir(b.dir, a.id), filepath.Base(tmp))); !os.IsNotExist(err) {
		t.Fatalf("the temp file reached the peer (%v)", err)
	}
	for _, f := range a.Status().Folders {
		if f.Outbox && f.Files != 1 {
			t.Fatalf("outbox index holds %d files, want 1 (the temp file is ignored)", f.Files)
		}
	}
}

// The closed-LAN configuration: nothing beyond the configured listener.
func TestClosedLANDefaults(t *testing.T) {
	n := startTestNode(t, t.TempDir(), nil)
	cfg := n.wrapper.RawCopy()
	o := cfg.Options
	switch {
	case o.GlobalAnnEnabled, len(o.GlobalDiscoveryServers()) != 0:
		t.Error("global discovery is on")
	case o.LocalAnnEnabled:
		t.Error("LAN discovery is on though not asked for")
	case o.RelaysEnabled:
		t.Error("relays are on")
	case o.NATEnabled, len(o.RawStunServers) != 0:
		t.Error("NAT traversal is on")
	case o.URAccepted > 0, o.CREnabled:
		t.Error("usage or crash reporting is on")
	case o.AutoUpgradeIntervalH != 0:
		t.Error("automatic upgrades are on")
	case cfg.GUI.Enabled:
		t.Error("the web GUI / REST API is on")
	case o.SetLowPriority:
		t.Error("Syncthing would lower the whole process's priority")
	}
	if got := o.ListenAddresses(); len(got) != 1 || !strings.HasPrefix(got[0], "tcp://127.0.0.1:") || strings.HasSuffix(got[0], ":0") {
		t.Errorf("listen addresses %v, want tcp://127.0.0.1:<a free port>", got)
	}
	// The device key and certificate: 0600, and the device id survives a restart.
	for _, f := range []string{"cert.pem", "key.pem"} {
		st, err := os.Stat(filepath.Join(HomeDir(n.dir), f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v, want 0600", f, st.Mode().Perm())
		}
	}
	// No Syncthing config file: the configuration lives in memory only.
	if _, err := os.Stat(filepath.Join(HomeDir(n.dir), "config.xml")); !os.IsNotExist(err) {
		t.Errorf("config.xml was written (%v)", err)
	}
	id := n.DeviceID()
	n.Stop()
	again := startTestNode(t, n.dir, func(c *Config) { c.NodeID = n.id })
	if again.DeviceID() != id {
		t.Errorf("device id changed across a restart: %s → %s", id, again.DeviceID())
	}
	with := startTestNode(t, t.TempDir(), func(c *Config) { c.LANDiscovery = true })
	if !with.wrapper.Options().LocalAnnEnabled {
		t.Error("LAN discovery asked for but off")
	}
}

// Syncthing prints nothing on Ward's standard output.
func TestSyncthingIsQuiet(t *testing.T) {
	tameSyncthing()
	if !quietOK {
		t.Fatal("could not silence Syncthing's logger (has its struct changed?)")
	}
	if w := innerWriter(stlogger.DefaultLogger); w != io.Discard {
		t.Fatalf("Syncthing logs to %T", w)
	}
	stlogger.DefaultLogger.Warnln("test warning")
	ws := recentWarnings()
	if len(ws) == 0 || ws[len(ws)-1] != "test warning" {
		t.Fatalf("warnings not kept: %q", ws)
	}
}

// A removed peer gets nothing more, and its folder is gone from the node.
func TestRemovePeer(t *testing.T) {
	a := startTestNode(t, t.TempDir(), nil)
	b := startTestNode(t, t.TempDir(), nil)
	mesh(t, a, b)
	name, _ := a.writeSegment(t, 1, []byte("ward-seg one"))
	b.waitArrival(t, a.id, name, 20*time.Second)
	t0 := time.Now()
	if err := a.RemovePeer(b.id); err != nil {
		t.Fatal(err)
	}
	t.Logf("RemovePeer took %v", time.Since(t0))
	st := a.Status()
	if len(st.Peers) != 0 || len(st.Folders) != 1 {
		t.Fatalf("after RemovePeer: %d peers, %d folders", len(st.Peers), len(st.Folders))
	}
	name2, _ := a.writeSegment(t, 2, []byte("ward-seg two"))
	time.Sleep(1500 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(InboxDir(b.dir, a.id), name2)); !os.IsNotExist(err) {
		t.Fatalf("a segment written after removal reached the removed peer (%v)", err)
	}
}

// A node offline for a while catches up from a peer that holds copies even
// when the origin is gone (folders are shared in a full mesh).
func TestCatchUpFromAnotherPeer(t *testing.T) {
	a := startTestNode(t, t.TempDir(), nil)
	b := startTestNode(t, t.TempDir(), nil)
	cDir := t.TempDir()
	c := startTestNode(t, cDir, nil)
	mesh(t, a, b, c)
	cID, cDev := c.id, c.DeviceID()
	c.Stop()
	var names []string
	for i := 1; i <= 5; i++ {
		name, _ := a.writeSegment(t, i, []byte(fmt.Sprintf("ward-seg %d", i)))
		b.waitArrival(t, a.id, name, 20*time.Second)
		names = append(names, name)
	}
	a.Stop() // the origin leaves
	c2 := startTestNode(t, cDir, func(cf *Config) {
		cf.NodeID = cID
		cf.Peers = []Peer{{NodeID: a.id, DeviceID: a.DeviceID()}, {NodeID: b.id, DeviceID: b.DeviceID(), Addresses: b.Addresses()}}
	})
	if c2.DeviceID() != cDev {
		t.Fatal("device id changed")
	}
	// b learns c's new port.
	if err := b.AddPeer(Peer{NodeID: cID, DeviceID: cDev, Addresses: c2.Addresses()}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for _, name := range names {
		c2.waitArrival(t, a.id, name, 30*time.Second)
	}
	t.Logf("caught up in %v", time.Since(t0))
}

func TestConfigErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{NodeID: "abcdefgh"}, "data folder and node id are required"},
		{Config{Dir: t.TempDir(), NodeID: "NOT A NODE"}, "is not a node id"},
		{Config{Dir: t.TempDir(), NodeID: "abcdefgh", Listen: "udp://x"}, "is not tcp://host:port"},
		{Config{Dir: t.TempDir(), NodeID: "abcdefgh", Listen: "tcp://127.0.0.1:0",
			Peers: []Peer{{NodeID: "bcdefghi", DeviceID: "nonsense"}}}, "is not a Syncthing device id"},
		{Config{Dir: t.TempDir(), NodeID: "abcdefgh", Listen: "tcp://127.0.0.1:0",
			BackupPeers: []BackupPeer{{DeviceID: "x"}}}, "need the backup key"},
	} {
		n, err := Start(ctx, tc.c)
		if err == nil {
			n.Stop()
			t.Errorf("%+v: started", tc.c)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %q, want %q", err, tc.want)
		}
	}
}

// Stopping through the context stops the node too.
func TestContextStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n, err := Start(ctx, Config{Dir: t.TempDir(), NodeID: randomNodeID(t), Listen: "tcp://127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-n.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("the node did not stop with its context")
	}
}

// Two nodes cannot share a data folder (two Ward processes on one folder).
func TestOneNodePerFolder(t *testing.T) {
	n := startTestNode(t, t.TempDir(), nil)
	_, err := Start(context.Background(), Config{Dir: n.dir, NodeID: n.id, Listen: "tcp://127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "is another Ward running on this data folder") {
		t.Fatalf("second node on one folder: %v", err)
	}
}
