package sync

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"ward/store"
	"ward/store/audit"
)

// A test clinic: several workstations ("nodes") of ONE clinic, each with its
// own data folder and real SQLCipher database. Segments move between their
// folders by copying files, as Syncthing would.

var bg = context.Background()

type testNode struct {
	t     *testing.T
	name  string
	db    *store.DB
	r     *Replica
	admin store.User
}

// newClinic creates the first workstation of a clinic, with an administrator
// who is also a clinician.
func newClinic(t testing.TB, name string) *testNode {
	t.Helper()
	n := newEmptyNode(t, name)
	err := n.db.Update(bg, func(tx *store.Tx) error {
		if err := tx.SetSetting("clinic.name", "Test Clinic"); err != nil {
			return err
		}
		var err error
		n.admin, err = tx.AddUser(store.User{Username: "admin", DisplayName: "Admin", PasswordHash: "$argon2id$x",
			Roles: []string{"admin", "clinician"}})
		if err != nil {
			return err
		}
		_, err = tx.Audit(audit.Event{User: n.admin.ID, Action: "clinic.init", Outcome: audit.OutcomeSuccess})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// newEmptyNode is a fresh workstation with a node identity and nothing else.
func newEmptyNode(t testing.TB, name string) *testNode {
	t.Helper()
	key, err := store.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Create(bg, t.TempDir(), key, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tt, _ := t.(*testing.T)
	return &testNode{t: tt, name: name, db: db, r: New(db)}
}

// join makes a new workstation of n's clinic the way pairing will: n admits
// it, hands it the clinic key and a snapshot.
func (n *testNode) join(t testing.TB, name string) *testNode {
	t.Helper()
	j := newEmptyNode(t, name)
	self := j.db.Self()
	if err := n.db.Update(bg, func(tx *store.Tx) error {
		_, err := tx.AdmitNode(self.ID, name, self.PublicKey)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ck, err := n.db.ClinicKey(bg)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.db.SetClinicKey(bg, ck); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := n.r.WriteSnapshot(bg, &buf); err != nil {
		t.Fatal(err)
	}
	if _, err := j.r.InstallSnapshot(bg, &buf, n.db.Self().PublicKey); err != nil {
		t.Fatal(err)
	}
	j.admin = n.admin
	return j
}

func (n *testNode) id() string { return n.db.Self().ID }

// do runs fn as a person's work would run through the door: one
// transaction with its audit entry.
func (n *testNode) do(t testing.TB, fn func(tx *store.Tx) error) {
	t.Helper()
	err := n.db.Update(bg, func(tx *store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.Audit(audit.Event{User: n.admin.ID, Action: "test.write", Outcome: audit.OutcomeSuccess})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (n *testNode) export(t testing.TB) ExportResult {
	t.Helper()
	res, err := n.r.Export(bg)
	if err != nil {
		t.Fatalf("%s: export: %v", n.name, err)
	}
	return res
}

// deliver copies from's outbox into to's inbox for from (the files to does
// not have yet); it returns how many it copied.
func deliver(t testing.TB, from, to *testNode) int {
	t.Helper()
	files, err := listSegments(from.r.Outbox())
	if err != nil {
		t.Fatal(err)
	}
	in := to.r.Inbox(from.id())
	if err := os.MkdirAll(in, 0o700); err != nil {
		t.Fatal(err)
	}
	copied := 0
	for _, f := range files {
		dst := filepath.Join(in, f.name)
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(QuarantineDir(to.db.Dir()), from.id()+"-"+f.name)); err == nil {
			continue // refused there already
		}
		copyFile(t, filepath.Join(from.r.Outbox(), f.name), dst)
		copied++
	}
	return copied
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func (n *testNode) importAll(t testing.TB) ImportResult {
	t.Helper()
	res, err := n.r.Import(bg)
	if err != nil {
		t.Fatalf("%s: import: %v", n.name, err)
	}
	return res
}

// syncAll exports, delivers and imports among nodes until nothing moves.
// It fails on any quarantine.
func syncAll(t testing.TB, nodes ...*testNode) {
	t.Helper()
	for round := 0; round < 20; round++ {
		moved := 0
		for _, n := range nodes {
			moved += len(n.export(t).Files)
		}
		for _, from := range nodes {
			for _, to := range nodes {
				if from != to {
					deliver(t, from, to)
				}
			}
		}
		for _, n := range nodes {
			for _, p := range n.importAll(t).Peers {
				moved += len(p.Applied)
				if len(p.Quarantined) > 0 {
					t.Fatalf("%s quarantined a segment of %s: %+v", n.name, p.Node, p.Quarantined)
				}
			}
		}
		if moved == 0 {
			return
		}
	}
	t.Fatal("the nodes never went quiet")
}

func (n *testNode) hash(t testing.TB) map[string]string {
	t.Helper()
	var h map[string]string
	if err := n.db.ReplicaRead(bg, func(rd *store.ReplicaReader) error {
		var err error
		h, err = rd.ReplicaHash()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return h
}

// converged fails unless every node has the same row hashes as the first.
func converged(t testing.TB, nodes ...*testNode) {
	t.Helper()
	want := nodes[0].hash(t)
	for _, n := range nodes[1:] {
		got := n.hash(t)
		if !reflect.DeepEqual(got, want) {
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s differs from %s in %s", n.name, nodes[0].name, k)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%s has %s, %s does not", n.name, k, nodes[0].name)
				}
			}
		}
	}
}

// chainsVerify runs audit.Verify with every node key on every node.
func chainsVerify(t testing.TB, nodes ...*testNode) {
	t.Helper()
	for _, n := range nodes {
		var keys audit.Keys
		n.db.Update(bg, func(tx *store.Tx) error {
			var err error
			keys, err = tx.NodeKeys()
			return err
		})
		rep, err := audit.Verify(bg, n.db.AuditReader(), keys, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Errorf("%s: audit chains do not verify: %v", n.name, rep.Problem)
		}
		if len(rep.Chains) != len(nodes) {
			t.Errorf("%s holds %d chains, want %d", n.name, len(rep.Chains), len(nodes))
		}
	}
}

// position is how far n has applied from's stream.
func (n *testNode) position(t testing.TB, from *testNode) store.Position {
	t.Helper()
	var p store.Position
	n.db.ReplicaRead(bg, func(rd *store.ReplicaReader) error {
		var err error
		p, err = rd.Position(from.id())
		return err
	})
	return p
}

func (n *testNode) quarantined(t testing.TB) []store.Quarantined {
	t.Helper()
	var qs []store.Quarantined
	n.db.ReplicaRead(bg, func(rd *store.ReplicaReader) error {
		var err error
		qs, err = rd.Quarantined()
		return err
	})
	return qs
}

// addPatient registers a patient on n.
func (n *testNode) addPatient(t testing.TB, p store.Patient) store.Patient {
	t.Helper()
	n.do(t, func(tx *store.Tx) error {
		var err error
		p, err = tx.AddPatient(p)
		return err
	})
	return p
}

func (n *testNode) patient(t testing.TB, id string) store.Patient {
	t.Helper()
	var p store.Patient
	n.do(t, func(tx *store.Tx) error {
		var err error
		p, err = tx.Patient(id)
		return err
	})
	return p
}

// lastAudit returns the newest entry of n's own chain with action.
func (n *testNode) lastAudit(t testing.TB, action string) (audit.Entry, bool) {
	t.Helper()
	var found audit.Entry
	ok := false
	n.db.ReplicaRead(bg, func(rd *store.ReplicaReader) error {
		head, _ := rd.AuditHead(n.id())
		return rd.AuditEntries(n.id(), 1, head, func(e audit.Entry) error {
			if e.Action == action {
				found, ok = e, true
			}
			return nil
		})
	})
	return found, ok
}

// later moves n's clock forward so its next write is later than anything
// written before (HLC ms resolution).
func later() { time.Sleep(3 * time.Millisecond) }
