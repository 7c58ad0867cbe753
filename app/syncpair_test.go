package app

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ward/store"
)

func freeListen(t testing.TB) string {
	t.Helper()
	// Two free ports in a row: the node's and the pairing listener's.
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+1))
		l.Close()
		if err == nil {
			l2.Close()
			return fmt.Sprintf("tcp://127.0.0.1:%d", port)
		}
	}
	t.Fatal("no two free ports in a row")
	return ""
}

// runSync runs c's replica job until the test ends.
func runSync(t *testing.T, c *Clinic) *eventLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := &eventLog{}
	done := make(chan error, 1)
	go func() { done <- c.RunSync(ctx, log.add) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunSync: %v", err)
		}
	})
	log.waitFor(t, "listening on", 30*time.Second)
	return log
}

type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) waitFor(t testing.TB, text string, timeout time.Duration) Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		l.mu.Lock()
		for _, e := range l.events {
			if strings.Contains(e.Text, text) {
				l.mu.Unlock()
				return e
			}
		}
		l.mu.Unlock()
		if time.Now().After(deadline) {
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("no event %q within %v; events: %v", text, timeout, l.events)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pairing over the network, end to end: A invites, B joins with the code,
// an administrator on A approves, B installs the clinic, both run the
// replica job and a patient registered on A reaches B; then B is removed.
func TestPairOverTheNetworkAndReplicate(t *testing.T) {
	ctx := context.Background()
	a, _, _ := newClinic(t)
	admin := signIn(t, a, "root", adminPW)
	if _, err := admin.SetSyncConfig(ctx, freeListen(t), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AddUser(ctx, NewUser{Username: "doc", Name: "Doctor", Roles: []string{RoleClinician, RoleFrontDesk}, Password: "doctor password"}); err != nil {
		t.Fatal(err)
	}
	logA := runSync(t, a)

	inv, err := admin.Invite(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Addresses) != 1 || !strings.HasPrefix(inv.Addresses[0], "127.0.0.1:") {
		t.Fatalf("invite addresses %v", inv.Addresses)
	}

	bDir := filepath.Join(t.TempDir(), "b")
	t.Cleanup(func() { forgetKeys(bDir) })
	waiting := make(chan JoinIdentity, 1)
	type joined struct {
		c    *Clinic
		code string
		err  error
	}
	res := make(chan joined, 1)
	go func() {
		c, code, _, err := JoinClinic(ctx, JoinClinicOptions{Dir: bDir, Code: inv.Code, NodeName: "reception-2",
			Listen: freeListen(t), Keyring: osKeyring, Waiting: func(id JoinIdentity) { waiting <- id }})
		res <- joined{c, code, err}
	}()
	var id JoinIdentity
	select {
	case id = <-waiting:
	case r := <-res:
		t.Fatalf("join ended before approval: %v", r.err)
	case <-time.After(30 * time.Second):
		t.Fatal("the join never reached the inviter")
	}
	logA.waitFor(t, "asks to join", 5*time.Second)
	reqs, err := admin.JoinRequests(ctx, false)
	if err != nil || len(reqs) != 1 {
		t.Fatalf("join requests: %v %v", reqs, err)
	}
	if reqs[0].NodeID != id.Node || reqs[0].DeviceID != id.Device || reqs[0].Name != "reception-2" {
		t.Fatalf("the administrator sees %+v, the joiner shows %+v", reqs[0], id)
	}
	if _, err := admin.ApproveJoin(ctx, reqs[0].ID); err != nil {
		t.Fatal(err)
	}
	var r joined
	select {
	case r = <-res:
	case <-time.After(60 * time.Second):
		t.Fatal("the join did not finish after approval")
	}
	if r.err != nil {
		t.Fatalf("join: %v", r.err)
	}
	b := r.c
	defer b.Close()
	if r.code == "" || b.Name() != "Test Clinic" {
		t.Fatalf("joined: code %q, clinic %q", r.code, b.Name())
	}
	logA.waitFor(t, "took its welcome", 10*time.Second)
	// The welcome is gone from A's disk; the invite cannot be used again.
	if _, _, _, err := JoinClinic(ctx, JoinClinicOptions{Dir: filepath.Join(t.TempDir(), "c"), Code: inv.Code,
		Keyring: osKeyring}); err == nil || !strings.Contains(err.Error(), "does not accept this invite") {
		t.Fatalf("a spent invite: %v", err)
	}

	runSync(t, b)
	doc := signIn(t, a, "doc", "doctor password")
	t0 := time.Now()
	p, err := doc.RegisterPatient(ctx, NewPatient{Name: "Netta Wire", BirthDate: "1966-06-06"})
	if err != nil {
		t.Fatal(err)
	}
	onB := signIn(t, b, "doc", "doctor password")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if got, err := onB.Patient(ctx, p.ID); err == nil && got.Name == "Netta Wire" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the patient registered on A did not reach B")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("A → B: patient committed on A, readable on B after %v (includes B's first connection)", time.Since(t0))

	// End to end, once connected: a registration committed on A until it is
	// committed on B (export, segment, scan, Syncthing, import, apply).
	var lags []time.Duration
	for i := 0; i < 10; i++ {
		time.Sleep(300 * time.Millisecond)
		q, err := doc.RegisterPatient(ctx, NewPatient{Name: fmt.Sprintf("Lag Probe %d", i), BirthDate: "1990-01-01"})
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		for !hasPatient(b, q.ID) {
			if time.Since(t1) > 30*time.Second {
				t.Fatalf("probe %d did not reach B", i)
			}
			time.Sleep(2 * time.Millisecond)
		}
		lags = append(lags, time.Since(t1))
	}
	slices.Sort(lags)
	t.Logf("commit on A → committed on B, 10 registrations: median %v, max %v", lags[len(lags)/2], lags[len(lags)-1])

	// B is removed: A stops syncing with it (its device leaves A's node).
	if _, err := admin.RemoveNode(ctx, b.Node().ID); err != nil {
		t.Fatal(err)
	}
	var devs []store.NodeDevice
	a.db.Update(ctx, func(tx *store.Tx) (err error) { devs, err = tx.NodeDevices(); return err })
	for _, d := range devs {
		if d.ID == b.Node().ID && (!d.Revoked || d.DeviceID != id.Device) {
			t.Fatalf("B on A: %+v", d)
		}
	}
}

// hasPatient looks into c's database behind the door, on its read pool
// (test only: no write lock taken while the importer works).
func hasPatient(c *Clinic, id string) bool {
	var n int
	err := c.db.AuditReader().QueryRowContext(context.Background(), "SELECT count(*) FROM patients WHERE id = ?", id).Scan(&n)
	return err == nil && n == 1
}

func TestJoinClinicNeedsEmptyFolderAndGoodCode(t *testing.T) {
	ctx := context.Background()
	a, aDir, _ := newClinic(t)
	_ = a
	if _, _, _, err := JoinClinic(ctx, JoinClinicOptions{Dir: t.TempDir(), Code: "AAAAA-BBBBB", Keyring: osKeyring}); err == nil ||
		!strings.Contains(err.Error(), "not a Ward invite code") {
		t.Fatalf("bad code: %v", err)
	}
	admin := signIn(t, a, "root", adminPW)
	// A port nobody listens on (the default one may be a running Ward's).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := l.Addr().String()
	l.Close()
	inv, err := admin.Invite(ctx, []string{free})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := JoinClinic(ctx, JoinClinicOptions{Dir: aDir, Code: inv.Code, Keyring: osKeyring}); err == nil ||
		!strings.Contains(err.Error(), "is not empty") {
		t.Fatalf("non-empty folder: %v", err)
	}
	// Nobody listens: the folder is left as it was (empty), no key is kept.
	dir := t.TempDir()
	_, _, _, err = JoinClinic(ctx, JoinClinicOptions{Dir: dir, Code: inv.Code, Keyring: osKeyring})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the inviting workstation") {
		t.Fatalf("nobody listening: %v", err)
	}
	if store.Exists(dir) {
		t.Fatal("a failed join left a database behind")
	}
	acct, _ := store.KeyringAccount(dir)
	if _, err := osKeyring.Get(acct); err == nil {
		t.Fatal("a failed join left a key in the keyring")
	}
}
