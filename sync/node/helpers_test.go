package node

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	stdsync "sync"
	"testing"
	"time"
)

// testNode is a started node with a recorder of its arrivals.
type testNode struct {
	*Node
	id  string
	dir string

	mu      stdsync.Mutex
	arrived map[string]time.Time // "<node>/<file>" → first arrival
	changed chan struct{}
	done    chan struct{}
}

func randomNodeID(tb testing.TB) string {
	b := make([]byte, 10)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.EncodeToString(b))
}

func startTestNode(tb testing.TB, dir string, mod func(*Config)) *testNode {
	tb.Helper()
	c := Config{Dir: dir, NodeID: randomNodeID(tb), Listen: "tcp://127.0.0.1:0", Name: "test"}
	if mod != nil {
		mod(&c)
	}
	n, err := Start(context.Background(), c)
	if err != nil {
		tb.Fatal(err)
	}
	tn := &testNode{Node: n, id: c.NodeID, dir: dir, arrived: map[string]time.Time{},
		changed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(tn.done)
		for a := range n.Arrivals() {
			now := time.Now()
			tn.mu.Lock()
			for _, f := range a.Files {
				k := a.Node + "/" + f
				if _, ok := tn.arrived[k]; !ok {
					tn.arrived[k] = now
				}
			}
			close(tn.changed)
			tn.changed = make(chan struct{})
			tn.mu.Unlock()
		}
	}()
	tb.Cleanup(tn.Stop)
	return tn
}

// waitArrival waits until file from origin has arrived, and returns when.
func (tn *testNode) waitArrival(tb testing.TB, origin, file string, timeout time.Duration) time.Time {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		tn.mu.Lock()
		at, ok := tn.arrived[origin+"/"+file]
		ch := tn.changed
		tn.mu.Unlock()
		if ok {
			return at
		}
		select {
		case <-ch:
		case <-deadline:
			tb.Fatalf("node %s: %s from %s did not arrive within %v", tn.id, file, origin, timeout)
		}
	}
}

// writeSegment writes a file the way the exporter does: temp name, fsync,
// rename, then an explicit scan of that one file.
func (tn *testNode) writeSegment(tb testing.TB, seq int, body []byte) (string, time.Time) {
	tb.Helper()
	name := fmt.Sprintf("%020d.wseg", seq)
	out := OutboxDir(tn.dir)
	tmp := filepath.Join(out, TempPrefix+name)
	t0 := time.Now()
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Write(body); err != nil {
		tb.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
	if err := os.Rename(tmp, filepath.Join(out, name)); err != nil {
		tb.Fatal(err)
	}
	if err := tn.ScanOutbox(name); err != nil {
		tb.Fatal(err)
	}
	return name, t0
}

// mesh makes every node a peer of every other and waits for the connections.
func mesh(tb testing.TB, nodes ...*testNode) {
	tb.Helper()
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				if err := a.AddPeer(Peer{NodeID: b.id, DeviceID: b.DeviceID(), Addresses: b.Addresses()}); err != nil {
					tb.Fatal(err)
				}
			}
		}
	}
	waitConnected(tb, 30*time.Second, nodes...)
}

func waitConnected(tb testing.TB, timeout time.Duration, nodes ...*testNode) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		missing := 0
		for _, n := range nodes {
			for _, p := range n.Status().Peers {
				if !p.Connected && !p.Backup {
					missing++
				}
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d peer connections still down after %v", missing, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p)
	return s[i]
}

// listenPort is the port of a node's first address.
func listenPort(tb testing.TB, n *testNode) string {
	u, err := url.Parse(n.Addresses()[0])
	if err != nil {
		tb.Fatal(err)
	}
	return u.Host
}

// portFree reports whether nothing listens on hostport any more.
func portFree(hostport string) bool {
	c, err := net.DialTimeout("tcp", hostport, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}
