package node

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// childEnv makes the test binary run one node and nothing else (for the
// idle-RSS benchmark: the figure is that process's, not the test's).
const childEnv = "WARD_NODE_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		runChild(dir)
		return
	}
	os.Exit(m.Run())
}

// runChild starts a node in dir, prints "READY <node> <device> <address>
// <rss-kB before start>", takes peers (one JSON Peer per line) on standard
// input, and stops when standard input ends.
func runChild(dir string) {
	base := vmRSS(os.Getpid())
	id := os.Getenv(childEnv + "_ID")
	n, err := Start(context.Background(), Config{Dir: dir, NodeID: id, Listen: "tcp://127.0.0.1:0", Name: "idle"})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	go func() {
		for a := range n.Arrivals() {
			_ = a // an importer would look at the inbox now
		}
	}()
	fmt.Printf("READY %s %s %s %d\n", id, n.DeviceID(), n.Addresses()[0], base)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var p Peer
		if json.Unmarshal(sc.Bytes(), &p) == nil {
			if err := n.AddPeer(p); err != nil {
				fmt.Println("ERROR", err)
			}
		}
	}
	n.Stop()
}

// vmRSS is a process's resident memory in kB.
func vmRSS(pid int) int64 {
	status, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb
		}
	}
	return 0
}

// cpuTicks is a process's user + system CPU time in clock ticks (USER_HZ,
// 100 on Linux).
func cpuTicks(pid int) int64 {
	stat, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	s := string(stat)
	rest := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(rest) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(rest[11], 10, 64)
	st, _ := strconv.ParseInt(rest[12], 10, 64)
	return u + st
}

// BenchmarkReplicaLag: three nodes on 127.0.0.1; each writes segments in
// turn and the two others receive them. The lag runs from the start of the
// write (temp file, fsync, rename, explicit scan) on the origin to the
// arrival event on the receiver. "paced": each node writes every 300 ms or
// more (a clinic's pace); "burst": every write right after the previous one
// was received (Syncthing batches index updates of one folder for 250 ms
// after each send, which bursts meet). A warm-up segment per node (the
// first after connecting) is not counted.
func BenchmarkReplicaLag(b *testing.B) {
	for _, mode := range []struct {
		name string
		gap  time.Duration
	}{{"paced", 300 * time.Millisecond}, {"burst", 0}} {
		b.Run(mode.name, func(b *testing.B) {
			for range b.N {
				nodes := []*testNode{
					startTestNode(b, b.TempDir(), nil),
					startTestNode(b, b.TempDir(), nil),
					startTestNode(b, b.TempDir(), nil),
				}
				mesh(b, nodes...)
				seq := 0
				deliver := func(w *testNode, record bool, lags *[]time.Duration) {
					seq++
					name, t0 := w.writeSegment(b, seq, []byte(fmt.Sprintf("ward-seg bench %d", seq)))
					for _, r := range nodes {
						if r != w {
							lag := r.waitArrival(b, w.id, name, 30*time.Second).Sub(t0)
							if record {
								*lags = append(*lags, lag)
							}
						}
					}
				}
				for _, w := range nodes {
					deliver(w, false, nil)
				}
				var lags []time.Duration
				for i := 0; i < 40; i++ { // 3 writers × 40 × 2 receivers = 240 deliveries
					for _, w := range nodes {
						deliver(w, true, &lags)
						time.Sleep(mode.gap / 3)
					}
				}
				b.ReportMetric(float64(percentile(lags, 0.5).Microseconds())/1000, "median-ms")
				b.ReportMetric(float64(percentile(lags, 0.99).Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(percentile(lags, 1).Microseconds())/1000, "max-ms")
				for _, n := range nodes {
					n.Stop()
				}
			}
		})
	}
}

// BenchmarkIdleNodeRSS: the resident memory and CPU of a process that runs
// one node (as `ward serve` does), connected to two peers and holding a few
// hundred segments of theirs, left idle. The node runs in a child process
// (this test binary, re-executed), so the figures are its own: "rss-MB" in
// all, "base-MB" before the node started (the Go runtime and the binary),
// "cpu-%" of one core while idle.
func BenchmarkIdleNodeRSS(b *testing.B) {
	for range b.N {
		a := startTestNode(b, b.TempDir(), nil)
		c := startTestNode(b, b.TempDir(), nil)
		mesh(b, a, c)
		dir := b.TempDir()
		id := randomNodeID(b)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dir, childEnv+"_ID="+id)
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		var dev, addr string
		var baseKB int64
		for lines.Scan() {
			if f := strings.Fields(lines.Text()); len(f) == 5 && f[0] == "READY" {
				dev, addr = f[2], f[3]
				baseKB, _ = strconv.ParseInt(f[4], 10, 64)
				break
			} else if len(f) > 0 && f[0] == "ERROR" {
				b.Fatal(lines.Text())
			}
		}
		if dev == "" {
			b.Fatal("the child node did not start")
		}
		go func() {
			for lines.Scan() {
			}
		}()
		enc := json.NewEncoder(stdin)
		for _, p := range []*testNode{a, c} {
			enc.Encode(Peer{NodeID: p.id, DeviceID: p.DeviceID(), Addresses: p.Addresses()})
			if err := p.AddPeer(Peer{NodeID: id, DeviceID: dev, Addresses: []string{addr}}); err != nil {
				b.Fatal(err)
			}
		}
		waitConnected(b, 30*time.Second, a, c)
		// A clinic day's worth of small segments from each peer.
		for i := 1; i <= 150; i++ {
			a.writeSegment(b, i, []byte(strings.Repeat(fmt.Sprintf("ward-seg %d ", i), 300)))
			c.writeSegment(b, i, []byte(strings.Repeat(fmt.Sprintf("ward-seg %d ", i), 300)))
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			na, _ := os.ReadDir(InboxDir(dir, a.id))
			nc, _ := os.ReadDir(InboxDir(dir, c.id))
			if len(na) >= 151 && len(nc) >= 151 { // + .stfolder
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("the child holds %d and %d files", len(na), len(nc))
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(5 * time.Second) // settle
		pid := cmd.Process.Pid
		t0, c0 := time.Now(), cpuTicks(pid)
		time.Sleep(10 * time.Second)
		cpu := float64(cpuTicks(pid)-c0) / 100 / time.Since(t0).Seconds() * 100
		rss := vmRSS(pid)
		stdin.Close()
		cmd.Wait()
		b.ReportMetric(float64(rss)/1024, "rss-MB")
		b.ReportMetric(float64(baseKB)/1024, "base-MB")
		b.ReportMetric(cpu, "cpu-%")
	}
}
