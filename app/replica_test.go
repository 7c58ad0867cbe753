package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ward/store"
	wsync "ward/sync"
)

// deliverAll copies from's outbox into to's inbox for from.
func deliverAll(t *testing.T, from, to *Clinic) {
	t.Helper()
	out := wsync.OutboxDir(from.Dir())
	in := wsync.InboxDir(to.Dir(), from.Node().ID)
	if err := os.MkdirAll(in, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".wseg") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(in, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// joinClinic makes a second workstation of c's clinic through the app's
// own pairing steps (without the transport): new workstation, approval,
// join package, join.
func joinClinic(t *testing.T, c *Clinic, admin *Session) (*Clinic, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	j, err := NewWorkstation(ctx, JoinOptions{Dir: dir, NodeName: "second", Keyring: osKeyring})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		j.Close()
		forgetKeys(dir)
	})
	self := j.Node()
	if _, err := admin.ApproveNode(ctx, self.ID, self.Name, self.PublicKey); err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	pkg, err := admin.WriteJoinPackage(ctx, self.ID, &snap)
	if err != nil {
		t.Fatal(err)
	}
	code, info, err := j.Join(ctx, pkg.Key, &snap, pkg.From.PublicKey)
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	if code == "" || info.Rows == 0 || j.Name() != "Test Clinic" {
		t.Fatalf("join: code %q, info %+v, clinic %q", code, info, j.Name())
	}
	return j, dir
}

func TestJoinSignInAnywhereAndReplicate(t *testing.T) {
	ctx := context.Background()
	a, _, _ := newClinic(t)
	admin := signIn(t, a, "root", adminPW)
	if _, err := admin.AddUser(ctx, NewUser{Username: "doc", Name: "Doctor", Roles: []string{RoleClinician, RoleFrontDesk}, Password: "doctor password"}); err != nil {
		t.Fatal(err)
	}
	doc := signIn(t, a, "doc", "doctor password")
	p, err := doc.RegisterPatient(ctx, NewPatient{Name: "Joanna Replica", BirthDate: "1977-07-07"})
	if err != nil {
		t.Fatal(err)
	}
	b, bdir := joinClinic(t, a, admin)

	// People sign in on the new workstation with the passwords they have.
	docB := signIn(t, b, "doc", "doctor password")
	if ps, err := docB.SearchPatients(ctx, "joanna", 10); err != nil || len(ps) != 1 || ps[0].ID != p.ID {
		t.Fatalf("search on the new workstation: %v %v", ps, err)
	}
	// The kit of the new workstation opens its database.
	if _, err := os.Stat(filepath.Join(bdir, store.KitFileName)); err != nil {
		t.Errorf("no emergency kit on the joined workstation: %v", err)
	}

	// A write on B reaches A.
	q, err := docB.RegisterPatient(ctx, NewPatient{Name: "Written On Bee", BirthDate: "1988-08-08"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := b.ReplicaExport(ctx); err != nil || len(res.Files) == 0 {
		t.Fatalf("export on B: %+v %v", res, err)
	}
	deliverAll(t, b, a)
	if _, err := a.ReplicaImport(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := doc.Patient(ctx, q.ID); err != nil || got.Name != "Written On Bee" {
		t.Fatalf("on A: %+v %v", got, err)
	}

	st, err := admin.SyncStatus(ctx)
	if err != nil || len(st.Peers) != 1 || st.Peers[0].Node != b.Node().ID || st.Peers[0].Applied.Segment == 0 {
		t.Fatalf("status on A: %+v %v", st, err)
	}
	var de *DeniedError
	if _, err := doc.SyncStatus(ctx); !errors.As(err, &de) {
		t.Errorf("a clinician reads the sync status: %v", err)
	}
	if _, err := admin.RemoveNode(ctx, a.Node().ID); err == nil {
		t.Error("a workstation removed itself")
	}
	if n, err := admin.RemoveNode(ctx, b.Node().ID); err != nil || !n.Revoked() {
		t.Errorf("remove B: %+v %v", n, err)
	}
	if !hasEntry(auditEntries(t, a), admin.User().ID, ActSyncRemove, "workstation "+b.Node().ID+" removed from the clinic") {
		t.Error("the removal is not in the audit chain")
	}
}

func TestRunReplicaExportsAfterCommit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, _, _ := newClinic(t)
	admin := signIn(t, a, "root", adminPW)
	written := make(chan string, 100)
	done := make(chan error)
	go func() {
		done <- a.RunReplica(ctx, ReplicaLoop{Written: func(n string) { written <- n }, Poll: time.Hour})
	}()
	<-written // what init committed
	if _, err := admin.AddUser(ctx, NewUser{Username: "fd", Roles: []string{RoleFrontDesk}, Password: "front desk pass"}); err != nil {
		t.Fatal(err)
	}
	select {
	case name := <-written:
		if _, err := os.Stat(filepath.Join(wsync.OutboxDir(a.Dir()), name)); err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no segment written after a commit")
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// A `ward` command beside `ward serve` commits on the same data folder from
// another process, whose signal never reaches the serving one: the replica
// job still sends its writes, and follows its admissions, within a moment.
// A second handle on the same database stands for that process here (to
// SQLite it is one: another connection with its own signal).
func TestRunReplicaSeesCommitsOfAnotherProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, dir, _ := newClinic(t)
	written := make(chan string, 100)
	nodes := make(chan struct{}, 100)
	done := make(chan error)
	go func() {
		done <- a.RunReplica(ctx, ReplicaLoop{Written: func(n string) { written <- n }, Poll: time.Hour,
			NodesChanged: func() { nodes <- struct{}{} }})
	}()
	<-written                          // what init committed
	time.Sleep(600 * time.Millisecond) // the loop's first looks
	for len(nodes) > 0 {
		<-nodes
	}
	other, err := Open(ctx, dir, osKeyring)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	sent := func(what string) {
		t.Helper()
		t0 := time.Now()
		select {
		case <-written:
			t.Logf("%s in another process → segment in the outbox: %v", what, time.Since(t0))
		case <-time.After(2 * time.Second):
			t.Fatalf("no segment within 2 s of %s in another process", what)
		}
	}
	admin := signIn(t, other, "root", adminPW)
	sent("a sign-in") // audited: its entry travels
	if _, err := admin.AddUser(ctx, NewUser{Username: "fd", Roles: []string{RoleFrontDesk}, Password: "front desk pass"}); err != nil {
		t.Fatal(err)
	}
	sent("a new user")
	select {
	case <-nodes:
		t.Fatal("a new user is not a change of workstations")
	default:
	}
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ApproveNode(ctx, store.NodeID(pub), "reception-2", pub); err != nil {
		t.Fatal(err)
	}
	select {
	case <-nodes:
	case <-time.After(2 * time.Second):
		t.Fatal("the transport was not told of a workstation admitted by another process")
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

func TestJoinRefusesAWorkstationWithRecords(t *testing.T) {
	ctx := context.Background()
	a, _, _ := newClinic(t)
	admin := signIn(t, a, "root", adminPW)
	other, _, _ := newClinic(t)
	var snap bytes.Buffer
	self := other.Node()
	admin.ApproveNode(ctx, self.ID, "other", self.PublicKey)
	pkg, err := admin.WriteJoinPackage(ctx, self.ID, &snap)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.Join(ctx, pkg.Key, io.Reader(&snap), pkg.From.PublicKey); err == nil || !strings.Contains(err.Error(), "already holds clinic records") {
		t.Errorf("joining a clinic with records: %v", err)
	}
	if _, err := admin.WriteJoinPackage(ctx, "nosuchnode0000aa", &snap); err == nil {
		t.Error("a join package for a workstation never approved")
	}
}
