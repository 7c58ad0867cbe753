package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ward/store"
	wsync "ward/sync"
)

// Three full workstations on 127.0.0.1: each a Clinic (real SQLCipher file,
// key in the real keyring) running its replica job (embedded Syncthing,
// pairing listener, segment loop) in its own data folder, paired through
// the same invite, join and approve the CLI uses.

// wardNode is one workstation of such a test.
type wardNode struct {
	name string
	c    *Clinic
	doc  *Session // the clinic's clinician, signed in here
	stop func()   // stops the replica job; again: nothing
}

// startSync runs n's replica job until stop is called or the test ends.
func (n *wardNode) startSync(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := &eventLog{}
	done := make(chan error, 1)
	go func() { done <- n.c.RunSync(ctx, log.add) }()
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s: RunSync: %v", n.name, err)
			}
		})
	}
	t.Cleanup(n.stop)
	log.waitFor(t, "listening on", 30*time.Second)
}

// threeWardNodes makes a clinic on A with a clinician "doc", then B and C
// join it through A, each approved by A's administrator; all three run.
func threeWardNodes(t testing.TB) (a, b, c *wardNode, admin *Session) {
	t.Helper()
	ctx := context.Background()
	ca, _, _ := newClinic(t)
	admin = signIn(t, ca, "root", adminPW)
	if _, err := admin.SetSyncConfig(ctx, freeListen(t), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AddUser(ctx, NewUser{Username: "doc", Name: "Doctor", Roles: []string{RoleClinician, RoleFrontDesk},
		Password: "doctor password"}); err != nil {
		t.Fatal(err)
	}
	a = &wardNode{name: "A", c: ca}
	a.startSync(t)
	b = joinWardNode(t, admin, "B")
	c = joinWardNode(t, admin, "C")
	for _, n := range []*wardNode{a, b, c} {
		n.doc = signIn(t, n.c, "doc", "doctor password")
	}
	return a, b, c, admin
}

// joinWardNode pairs a new workstation with the one admin is signed in on,
// as `ward sync join` and `ward sync approve` do, and starts it.
func joinWardNode(t testing.TB, admin *Session, name string) *wardNode {
	t.Helper()
	ctx := context.Background()
	inv, err := admin.Invite(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), name)
	t.Cleanup(func() { forgetKeys(dir) })
	waiting := make(chan JoinIdentity, 1)
	type joined struct {
		c   *Clinic
		err error
	}
	res := make(chan joined, 1)
	go func() {
		c, _, _, err := JoinClinic(ctx, JoinClinicOptions{Dir: dir, Code: inv.Code, NodeName: name, Listen: freeListen(t),
			Keyring: osKeyring, Waiting: func(id JoinIdentity) { waiting <- id }})
		res <- joined{c, err}
	}()
	var id JoinIdentity
	select {
	case id = <-waiting:
	case r := <-res:
		t.Fatalf("%s: join ended before approval: %v", name, r.err)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: the join never reached the inviter", name)
	}
	reqs, err := admin.JoinRequests(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(reqs, func(r store.JoinRow) bool { return r.NodeID == id.Node })
	if i < 0 {
		t.Fatalf("%s: no join request for node %s among %+v", name, id.Node, reqs)
	}
	if _, err := admin.ApproveJoin(ctx, reqs[i].ID); err != nil {
		t.Fatal(err)
	}
	var r joined
	select {
	case r = <-res:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: the join did not finish after approval", name)
	}
	if r.err != nil {
		t.Fatalf("%s: join: %v", name, r.err)
	}
	t.Cleanup(func() { r.c.Close() })
	n := &wardNode{name: name, c: r.c}
	n.startSync(t)
	return n
}

// replicaHash is what must be equal on every workstation once each has
// applied everything (store.ReplicaReader.ReplicaHash: every replicated
// table's rows, the change log, every audit chain).
func replicaHash(t testing.TB, c *Clinic) map[string]string {
	t.Helper()
	var h map[string]string
	if err := c.db.ReplicaRead(context.Background(), func(rd *store.ReplicaReader) error {
		var err error
		h, err = rd.ReplicaHash()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return h
}

// waitConverged waits until the nodes hold the same replicated state, and
// fails naming what still differs after timeout.
func waitConverged(t testing.TB, timeout time.Duration, nodes ...*wardNode) time.Duration {
	t.Helper()
	t0 := time.Now()
	for {
		want := replicaHash(t, nodes[0].c)
		var differ []string
		for _, n := range nodes[1:] {
			got := replicaHash(t, n.c)
			for k := range mergeKeys(want, got) {
				if got[k] != want[k] {
					differ = append(differ, n.name+":"+k)
				}
			}
		}
		if len(differ) == 0 {
			return time.Since(t0)
		}
		if time.Since(t0) > timeout {
			slices.Sort(differ)
			// What a differing chain is made of, to tell a missing checkpoint from a missing entry.
			for _, n := range nodes {
				n.c.db.ReplicaRead(context.Background(), func(rd *store.ReplicaReader) error {
					chains, _ := rd.AuditChains()
					for _, ch := range chains {
						head, _ := rd.AuditHead(ch)
						cps, _ := rd.Checkpoints(ch, 1, head)
						var seqs []uint64
						for _, c := range cps {
							seqs = append(seqs, c.Seq)
						}
						t.Logf("on %s (%s): chain %s, head %d, checkpoints at %v", n.name, n.c.Node().ID, ch, head, seqs)
					}
					return nil
				})
			}
			t.Fatalf("not converged with %s after %v: %s", nodes[0].name, timeout, strings.Join(differ, ", "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func mergeKeys(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// waitPatient waits until p is on c, as its field says.
func waitPatient(t testing.TB, s *Session, id string, ok func(store.Patient) bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		p, err := s.Patient(context.Background(), id)
		if err == nil && ok(p) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("patient %s not as expected on this workstation after %v (%v)", id, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestThreeWardNodesReplicate(t *testing.T) {
	ctx := context.Background()
	a, b, c, admin := threeWardNodes(t)
	nodes := []*wardNode{a, b, c}

	// Writes through a session on each workstation reach every other one.
	ids := map[string]string{}
	for _, n := range nodes {
		p, err := n.doc.RegisterPatient(ctx, NewPatient{Name: "Written On " + n.name, BirthDate: "1980-02-02", Phone: "555-0100"})
		if err != nil {
			t.Fatal(err)
		}
		ids[n.name] = p.ID
	}
	took := waitConverged(t, 30*time.Second, a, b, c)
	t.Logf("a registration on each of three workstations: all converged %v later", took)
	for _, n := range nodes {
		for from, id := range ids {
			if !hasPatient(n.c, id) {
				t.Errorf("%s lacks the patient written on %s", n.name, from)
			}
		}
	}

	// B stops. Meanwhile A and B edit the same patient (the phone on both,
	// the address on A only), and C registers one more.
	b.stop()
	shared := ids["A"]
	phoneA, phoneB, addr := "555-0111", "555-0222", "1 Harbour Road"
	if _, err := a.doc.UpdatePatient(ctx, shared, PatientChange{Phone: &phoneA, Address: &addr}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // B's edit is the later one (the HLC counts milliseconds)
	if _, err := b.doc.UpdatePatient(ctx, shared, PatientChange{Phone: &phoneB}); err != nil {
		t.Fatal(err)
	}
	late, err := c.doc.RegisterPatient(ctx, NewPatient{Name: "Registered While B Was Off", BirthDate: "1975-05-05"})
	if err != nil {
		t.Fatal(err)
	}
	waitPatient(t, a.doc, late.ID, func(store.Patient) bool { return true }, 20*time.Second)
	waitPatient(t, c.doc, shared, func(p store.Patient) bool { return p.Address == addr }, 20*time.Second)
	if hasPatient(b.c, late.ID) {
		t.Fatal("B received a patient while its replica job was stopped")
	}
	time.Sleep(time.Second) // off for a while

	// B comes back: it catches up, and the edits resolve by the rule for
	// patients (per field, the later write wins): B's phone, A's address.
	b.startSync(t)
	took = waitConverged(t, 30*time.Second, a, b, c)
	t.Logf("B restarted: converged %v later", took)
	for _, n := range nodes {
		p, err := n.doc.Patient(ctx, shared)
		if err != nil {
			t.Fatal(err)
		}
		if p.Phone != phoneB || p.Address != addr {
			t.Errorf("on %s the patient edited on A and B has phone %q, address %q; want %q (B's, later), %q (A's)",
				n.name, p.Phone, p.Address, phoneB, addr)
		}
		if !hasPatient(n.c, late.ID) {
			t.Errorf("%s lacks the patient registered while B was off", n.name)
		}
	}

	// C is removed on A. Once B holds the removal, a segment C makes after
	// it is refused on B even when its file gets there.
	removed := c.c.Node().ID
	if _, err := admin.RemoveNode(ctx, removed); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !nodeRevoked(t, b.c, removed) {
		if time.Now().After(deadline) {
			t.Fatal("the removal of C did not reach B")
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.stop()
	after, err := c.doc.RegisterPatient(ctx, NewPatient{Name: "Written After Removal", BirthDate: "1960-06-06"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.c.ReplicaExport(ctx); err != nil {
		t.Fatal(err)
	}
	// By hand, as a workstation that still reached B would deliver it:
	// every segment of C that B does not hold yet.
	out, in := wsync.OutboxDir(c.c.Dir()), wsync.InboxDir(b.c.Dir(), removed)
	files, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".wseg") {
			continue
		}
		if _, err := os.Stat(filepath.Join(in, f.Name())); err == nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(out, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(in, f.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	res, err := b.c.ReplicaImportFrom(ctx, removed)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Quarantined) != 1 || res.Quarantined[0].Kind != wsync.KindRevoked {
		t.Fatalf("C's segment after its removal on B: %+v", res)
	}
	if hasPatient(b.c, after.ID) {
		t.Error("B applied a patient C wrote after its removal")
	}
}

// nodeRevoked tells whether c holds node's removal.
func nodeRevoked(t testing.TB, c *Clinic, node string) bool {
	t.Helper()
	var revoked bool
	if err := c.db.ReplicaRead(context.Background(), func(rd *store.ReplicaReader) error {
		n, known, err := rd.Node(node)
		revoked = known && n.Revoked()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return revoked
}

// BenchmarkWardReplicaLag: three full workstations on 127.0.0.1; a
// registration committed through a session on A, until it is committed on
// B and on C (read from their databases every 2 ms): export, segment,
// Syncthing scan and transfer, import, apply. A registration every 300 ms
// (a clinic's pace); the first one, which meets new connections, is not
// counted.
func BenchmarkWardReplicaLag(b *testing.B) {
	ctx := context.Background()
	for range b.N {
		a, pb, pc, _ := threeWardNodes(b)
		var lags []time.Duration
		for i := -1; i < 40; i++ {
			time.Sleep(300 * time.Millisecond)
			p, err := a.doc.RegisterPatient(ctx, NewPatient{Name: fmt.Sprintf("Lag Probe %d", i), BirthDate: "1990-01-01"})
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			waiting := []*wardNode{pb, pc}
			for len(waiting) > 0 {
				if time.Since(t0) > 30*time.Second {
					b.Fatalf("registration %d did not reach %s", i, waiting[0].name)
				}
				waiting = slices.DeleteFunc(waiting, func(n *wardNode) bool {
					if !hasPatient(n.c, p.ID) {
						return false
					}
					if i >= 0 {
						lags = append(lags, time.Since(t0))
					}
					return true
				})
				time.Sleep(2 * time.Millisecond)
			}
		}
		slices.Sort(lags)
		at := func(q float64) float64 {
			return float64(lags[min(len(lags)-1, int(q*float64(len(lags))))].Microseconds()) / 1000
		}
		b.ReportMetric(at(0.5), "median-ms")
		b.ReportMetric(at(0.99), "p99-ms")
		b.ReportMetric(at(1), "max-ms")
		for _, n := range []*wardNode{a, pb, pc} {
			n.stop()
		}
	}
}
