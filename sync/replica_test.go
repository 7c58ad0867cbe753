package sync

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ward/store"
	"ward/store/audit"
)

// threeNodes is a clinic of three workstations: A made it, B and C joined
// from A's snapshots.
func threeNodes(t *testing.T) (a, b, c *testNode) {
	a = newClinic(t, "A")
	a.addPatient(t, store.Patient{Name: "Before Joining", BirthDate: "1970-01-01", MRN: "10000001"})
	b = a.join(t, "B")
	c = a.join(t, "C")
	syncAll(t, a, b, c)
	converged(t, a, b, c)
	return a, b, c
}

func TestWritesOnEveryNodeConverge(t *testing.T) {
	a, b, c := threeNodes(t)
	pa := a.addPatient(t, store.Patient{Name: "Amelia Zephyrine", BirthDate: "1980-02-03", Phone: "555-0101"})
	pb := b.addPatient(t, store.Patient{Name: "Bruno Quillfeather", BirthDate: "1990-04-05"})
	syncAll(t, a, b, c)
	var note store.Note
	c.do(t, func(tx *store.Tx) error {
		e, err := tx.OpenEncounter(pa.ID, c.admin.ID, "visit")
		if err != nil {
			return err
		}
		if note, err = tx.WriteNote(store.Note{EncounterID: e.ID, PatientID: pa.ID, AuthorID: c.admin.ID, Body: "first draft"}); err != nil {
			return err
		}
		if _, err := tx.AddAllergy(store.Allergy{PatientID: pb.ID, Substance: "penicillin", RecordedBy: c.admin.ID}); err != nil {
			return err
		}
		_, err = tx.BookAppointment(store.Appointment{PatientID: pb.ID, ClinicianID: c.admin.ID, StartsAt: time.Now().Add(time.Hour)})
		return err
	})
	syncAll(t, a, b, c)
	later()
	a.do(t, func(tx *store.Tx) error {
		p := pa
		p.Phone = "555-0199"
		_, err := tx.UpdatePatient(p)
		return err
	})
	b.do(t, func(tx *store.Tx) error {
		if _, err := tx.EditDraft(note.ID, "second draft"); err != nil {
			return err
		}
		_, err := tx.SignNote(note.ID)
		return err
	})
	c.do(t, func(tx *store.Tx) error { return tx.SetSetting("clinic.hours", "8-18") })
	syncAll(t, a, b, c)
	converged(t, a, b, c)
	chainsVerify(t, a, b, c)

	// Every workstation finds the patients written on the others.
	for _, n := range []*testNode{a, b, c} {
		n.do(t, func(tx *store.Tx) error {
			for q, want := range map[string]string{"zephyr": pa.ID, "quillf": pb.ID, "555-0199": pa.ID} {
				ps, err := tx.SearchPatients(q, 10)
				if err != nil || len(ps) != 1 || ps[0].ID != want {
					t.Errorf("%s: search %q found %v (%v)", n.name, q, ps, err)
				}
			}
			if ps, _ := tx.SearchPatients("555-0101", 10); len(ps) != 0 {
				t.Errorf("%s: the old phone number is still found", n.name)
			}
			return nil
		})
	}
	// History on a replica shows the origin's versions.
	c.do(t, func(tx *store.Tx) error {
		vs, err := tx.History("patients", pa.ID)
		if err != nil {
			return err
		}
		if len(vs) != 2 || vs[0].Origin != a.id() || vs[1].Origin != a.id() {
			t.Errorf("history of a patient on C: %d versions %+v, want 2 from A", len(vs), vs)
		}
		var p store.Patient
		if err := vs[1].Decode(&p); err != nil || p.Phone != "555-0199" {
			t.Errorf("newest version on C: %+v (%v)", p, err)
		}
		nv, err := tx.History("notes", note.ID)
		if err != nil || len(nv) != 3 {
			t.Errorf("note history on C: %d versions (%v), want 3", len(nv), err)
		}
		return nil
	})
	// Each applied segment with changes is in the applier's chain.
	if e, ok := c.lastAudit(t, ActApply); !ok || !strings.Contains(e.Detail, "of node") {
		t.Errorf("no replica.apply entry on C: %+v", e)
	}
}

func TestConcurrentEditsResolveByTheRules(t *testing.T) {
	a, b, c := threeNodes(t)
	p := a.addPatient(t, store.Patient{Name: "Per Field", BirthDate: "1960-06-06", Phone: "555-0001", Address: "1 Old Road"})
	note := a.draftNote(t, p.ID)
	syncAll(t, a, b, c)

	// Apart: A edits the phone, B the name (different fields: both stay);
	// A and then, later, B edit the address (same field: the later wins).
	// A signs the note; B, later, still edits the draft (signed wins).
	a.do(t, func(tx *store.Tx) error {
		q := p
		q.Phone, q.Address = "555-0002", "2 A Street"
		if _, err := tx.UpdatePatient(q); err != nil {
			return err
		}
		_, err := tx.SignNote(note.ID)
		return err
	})
	later()
	b.do(t, func(tx *store.Tx) error {
		q := p
		q.Name, q.Address = "Per Fieldname", "3 B Street"
		if _, err := tx.UpdatePatient(q); err != nil {
			return err
		}
		_, err := tx.EditDraft(note.ID, "a later draft")
		return err
	})
	syncAll(t, a, b, c)
	converged(t, a, b, c)
	for _, n := range []*testNode{a, b, c} {
		got := n.patient(t, p.ID)
		if got.Name != "Per Fieldname" || got.Phone != "555-0002" || got.Address != "3 B Street" {
			t.Errorf("%s: merged patient %+v, want B's name, A's phone, B's (later) address", n.name, got)
		}
		n.do(t, func(tx *store.Tx) error {
			got, err := tx.Note(note.ID)
			if err != nil || got.Status != store.NoteSigned || got.Body != "draft" {
				t.Errorf("%s: note %+v (%v), want the signed version", n.name, got, err)
			}
			vs, _ := tx.History("notes", note.ID)
			if len(vs) != 3 {
				t.Errorf("%s: note history has %d versions, want 3 (the losing draft edit too)", n.name, len(vs))
			}
			return nil
		})
	}
}

func TestSameMRNAndUsernameWrittenApart(t *testing.T) {
	a, b, c := threeNodes(t)
	pa := a.addPatient(t, store.Patient{Name: "First Holder", BirthDate: "1950-01-01", MRN: "55555555"})
	later()
	pb := b.addPatient(t, store.Patient{Name: "Second Holder", BirthDate: "1951-01-01", MRN: "55555555"})
	var ua, ub store.User
	a.do(t, func(tx *store.Tx) error {
		var err error
		ua, err = tx.AddUser(store.User{Username: "sam", DisplayName: "Sam A", PasswordHash: "x"})
		return err
	})
	later()
	b.do(t, func(tx *store.Tx) error {
		var err error
		ub, err = tx.AddUser(store.User{Username: "Sam", DisplayName: "Sam B", PasswordHash: "y"})
		return err
	})
	syncAll(t, a, b, c)
	converged(t, a, b, c)
	wantMRN := suffixed("55555555", pb.ID)
	for _, n := range []*testNode{a, b, c} {
		if got := n.patient(t, pa.ID).MRN; got != "55555555" {
			t.Errorf("%s: older patient's MRN is %q", n.name, got)
		}
		if got := n.patient(t, pb.ID).MRN; got != wantMRN {
			t.Errorf("%s: newer patient's MRN is %q, want %q", n.name, got, wantMRN)
		}
		n.do(t, func(tx *store.Tx) error {
			x, _ := tx.UserByID(ua.ID)
			y, _ := tx.UserByID(ub.ID)
			if x.Username != "sam" || y.Username != suffixed("Sam", ub.ID) {
				t.Errorf("%s: usernames %q and %q", n.name, x.Username, y.Username)
			}
			return nil
		})
	}
}

func TestOfflineNodeCatchesUp(t *testing.T) {
	a, b, c := threeNodes(t)
	for _, n := range []*testNode{a, b, c} {
		n.r.MaxSegmentBytes = 4 << 10 // many small segments
	}
	for i := 0; i < 60; i++ {
		n := []*testNode{a, b}[i%2]
		n.addPatient(t, store.Patient{Name: "Offline Catchup", BirthDate: "2001-01-01", Address: strings.Repeat("x", 200)})
	}
	syncAll(t, a, b) // C is away
	st, err := c.r.Status(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.export(t).Files) != 0 {
		t.Fatal("A exported again with nothing new")
	}
	files, _ := listSegments(a.r.Outbox())
	if len(files) < 5 {
		t.Fatalf("the backlog made %d segments, want several", len(files))
	}
	deliver(t, a, c)
	deliver(t, b, c)
	st, err = c.r.Status(bg)
	if err != nil {
		t.Fatal(err)
	}
	waiting := 0
	for _, p := range st.Peers {
		waiting += p.Waiting
		if p.Waiting > 0 && p.Lag <= 0 {
			t.Errorf("peer %s: %d segments waiting but no lag", p.Node, p.Waiting)
		}
	}
	if waiting == 0 {
		t.Fatal("status shows nothing waiting on C")
	}
	syncAll(t, a, b, c)
	converged(t, a, b, c)
	chainsVerify(t, a, b, c)
	c.do(t, func(tx *store.Tx) error {
		if ps, _ := tx.SearchPatients("catchup", 100); len(ps) != 60 {
			t.Errorf("C finds %d of the 60 patients", len(ps))
		}
		return nil
	})
}

// tamperings are ways a segment can be damaged on the way.
var tamperings = []struct {
	name string
	kind string
	do   func(b []byte) []byte
}{
	{"bit flipped in the body", KindBadSignature, func(b []byte) []byte { b[len(b)-100] ^= 1; return b }},
	{"bit flipped in the header", KindBadSignature, func(b []byte) []byte { b[len(Magic)+2+16+5*8+3] ^= 0x10; return b }},
	{"signature flipped", KindBadSignature, func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b }},
	{"truncated", KindCorrupt, func(b []byte) []byte { return b[:len(b)/2] }},
	{"bytes appended", KindCorrupt, func(b []byte) []byte { return append(b, 0) }},
	{"not a segment", KindCorrupt, func(b []byte) []byte { return []byte("hello") }},
}

func TestTamperedSegmentIsQuarantinedWithNothingApplied(t *testing.T) {
	a, b, _ := threeNodes(t)
	for _, tm := range tamperings {
		t.Run(tm.name, func(t *testing.T) {
			a.addPatient(t, store.Patient{Name: "Tamper Target", BirthDate: "1999-09-09"})
			res := a.export(t)
			before, pos := b.hash(t), b.position(t, a)
			name := res.Files[0]
			data, _ := os.ReadFile(filepath.Join(a.r.Outbox(), name))
			in := b.r.Inbox(a.id())
			os.WriteFile(filepath.Join(in, name), tm.do(append([]byte(nil), data...)), 0o600)
			p, err := b.r.ImportFrom(bg, a.id())
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Quarantined) != 1 || p.Quarantined[0].Kind != tm.kind {
				t.Fatalf("import: %+v, want one %s quarantine", p, tm.kind)
			}
			if got := b.hash(t); got["patients"] != before["patients"] || got["change_log"] != before["change_log"] {
				t.Error("something of the refused segment was applied")
			}
			if got := b.position(t, a); got.Segment != pos.Segment {
				t.Errorf("position moved to %d", got.Segment)
			}
			if _, err := os.Stat(filepath.Join(in, name)); !os.IsNotExist(err) {
				t.Error("the refused segment is still in the inbox")
			}
			if e, ok := b.lastAudit(t, ActQuarantine); !ok || !strings.Contains(e.Detail, tm.kind) {
				t.Errorf("no replica.quarantine entry: %+v", e)
			}
			// The genuine file arrives again (Syncthing pulls it anew).
			copyFile(t, filepath.Join(a.r.Outbox(), name), filepath.Join(in, name))
			if p, err := b.r.ImportFrom(bg, a.id()); err != nil || len(p.Applied) != 1 {
				t.Fatalf("the genuine segment: %+v, %v", p, err)
			}
		})
	}
	st, err := b.r.Status(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Quarantined) != len(tamperings) {
		t.Errorf("status lists %d quarantined segments, want %d", len(st.Quarantined), len(tamperings))
	}
}

func TestSegmentOfAnotherClinicIsRefused(t *testing.T) {
	a, b, _ := threeNodes(t)
	a.addPatient(t, store.Patient{Name: "Other Clinic", BirthDate: "1999-09-09"})
	res := a.export(t)
	data, _ := os.ReadFile(filepath.Join(a.r.Outbox(), res.Files[0]))
	h, _, _, _, _ := ParseHeader(data)
	seg, err := OpenSegment(data, a.db.Self().PublicKey, mustKey(t, a))
	if err != nil {
		t.Fatal(err)
	}
	other := make([]byte, 32)
	forged, err := seal(h, encodeBody(seg.Body), other, a.db.SignAsNode)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(b.r.Inbox(a.id()), res.Files[0]), forged, 0o600)
	p, err := b.r.ImportFrom(bg, a.id())
	if err != nil || len(p.Quarantined) != 1 || p.Quarantined[0].Kind != KindCorrupt {
		t.Fatalf("import: %+v, %v", p, err)
	}
}

func mustKey(t *testing.T, n *testNode) []byte {
	k, err := n.r.segmentKey(bg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRemovedNodeIsRefused(t *testing.T) {
	a, b, c := threeNodes(t)
	early := c.addPatient(t, store.Patient{Name: "Before Removal", BirthDate: "1990-01-01"})
	c.export(t) // made before the removal: stays good
	time.Sleep(1100 * time.Millisecond)
	a.do(t, func(tx *store.Tx) error {
		_, err := tx.RevokeNode(c.id())
		return err
	})
	// The removal reaches B before C's later segment does. (One that
	// arrives first is applied: a workstation refuses what it knows to
	// refuse; docs/replica.md.)
	a.export(t)
	deliver(t, a, b)
	b.importAll(t)
	time.Sleep(1100 * time.Millisecond) // revocation times are whole seconds
	c.addPatient(t, store.Patient{Name: "After Removal", BirthDate: "1990-01-01"})
	c.export(t)
	syncAllowingQuarantine(t, a, b, c)
	for _, n := range []*testNode{a, b} {
		qs := n.quarantined(t)
		if len(qs) != 1 || qs[0].Kind != KindRevoked || qs[0].Origin != c.id() {
			t.Errorf("%s: quarantine %+v, want C's later segment refused as revoked", n.name, qs)
		}
		n.patient(t, early.ID) // applied
		n.do(t, func(tx *store.Tx) error {
			if ps, _ := tx.SearchPatients("after removal", 10); len(ps) != 0 {
				t.Errorf("%s applied a segment C made after its removal", n.name)
			}
			return nil
		})
	}
	if err := b.db.Update(bg, func(tx *store.Tx) error {
		_, err := tx.RevokeNode(c.id())
		return err
	}); err == nil || !strings.Contains(err.Error(), "already removed") {
		t.Errorf("B removing C again: %v", err)
	}
}

// syncAllowingQuarantine is syncAll for tests that expect refusals.
func syncAllowingQuarantine(t *testing.T, nodes ...*testNode) {
	for round := 0; round < 5; round++ {
		for _, n := range nodes {
			n.export(t)
		}
		for _, from := range nodes {
			for _, to := range nodes {
				if from != to {
					deliver(t, from, to)
				}
			}
		}
		for _, n := range nodes {
			n.importAll(t)
		}
	}
}

func TestCrashMidApplyLosesNothing(t *testing.T) {
	a, b, c := threeNodes(t)
	p := a.addPatient(t, store.Patient{Name: "Crash Course", BirthDate: "1980-08-08"})
	a.export(t)
	deliver(t, a, b)
	before, pos := b.hash(t), b.position(t, a)
	crash := errors.New("power cut")
	b.r.beforeCommit = func(string, uint64) error { return crash }
	if _, err := b.r.ImportFrom(bg, a.id()); !errors.Is(err, crash) {
		t.Fatalf("import with a crash before commit: %v", err)
	}
	if got := b.hash(t); got["patients"] != before["patients"] || got["change_log"] != before["change_log"] {
		t.Error("a crashed apply left something behind")
	}
	if b.position(t, a).Segment != pos.Segment || len(b.quarantined(t)) != 0 {
		t.Error("a crashed apply moved the position or quarantined the segment")
	}
	// Restart: the same segment applies cleanly.
	b.r.beforeCommit = nil
	if res, err := b.r.ImportFrom(bg, a.id()); err != nil || len(res.Applied) != 1 {
		t.Fatalf("after the crash: %+v, %v", res, err)
	}
	b.patient(t, p.ID)
	syncAll(t, a, b, c)
	converged(t, a, b, c)
}

func TestReplayIsIdempotent(t *testing.T) {
	a, b, c := threeNodes(t)
	a.addPatient(t, store.Patient{Name: "Replay Me", BirthDate: "1980-08-08"})
	syncAll(t, a, b, c)
	before := b.hash(t)
	// The same files again, and the whole of A's stream re-read.
	deliver(t, a, b)
	b.importAll(t)
	if err := b.db.ReplicaUpdate(bg, func(w *store.ReplicaWriter) error {
		return w.SetPosition(store.Position{Node: a.id()})
	}); err != nil {
		t.Fatal(err)
	}
	res := b.importAll(t)
	for _, p := range res.Peers {
		if p.Node == a.id() && (len(p.Applied) == 0 || p.Changes != 0 || len(p.Quarantined) != 0) {
			t.Errorf("replaying A's stream: %+v, want segments applied with no new changes", p)
		}
	}
	after := b.hash(t)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("replay changed %s", k)
		}
	}
}

func TestGapWaitsThenApplies(t *testing.T) {
	a, b, _ := threeNodes(t)
	a.addPatient(t, store.Patient{Name: "Gap One", BirthDate: "1980-01-01"})
	first := a.export(t).Files
	a.addPatient(t, store.Patient{Name: "Gap Two", BirthDate: "1980-01-01"})
	second := a.export(t).Files
	in := b.r.Inbox(a.id())
	copyFile(t, filepath.Join(a.r.Outbox(), second[0]), filepath.Join(in, second[0]))
	p, err := b.r.ImportFrom(bg, a.id())
	if err != nil || len(p.Applied) != 0 || len(p.Quarantined) != 0 {
		t.Fatalf("with a segment missing: %+v, %v", p, err)
	}
	n, _ := parseFileName(first[0])
	if p.WaitingFor != n {
		t.Errorf("waiting for %d, want %d", p.WaitingFor, n)
	}
	st, _ := b.r.Status(bg)
	for _, ps := range st.Peers {
		if ps.Node == a.id() && ps.MissingSegment != n {
			t.Errorf("status: missing segment %d, want %d", ps.MissingSegment, n)
		}
	}
	copyFile(t, filepath.Join(a.r.Outbox(), first[0]), filepath.Join(in, first[0]))
	if p, err := b.r.ImportFrom(bg, a.id()); err != nil || len(p.Applied) != 2 {
		t.Fatalf("after the missing one arrived: %+v, %v", p, err)
	}
}

func TestSegmentOfANodeNotYetKnownIsRetried(t *testing.T) {
	a, b, c := threeNodes(t)
	d := a.join(t, "D") // B and C learn of D only through A's next segment
	d.addPatient(t, store.Patient{Name: "From D", BirthDate: "1980-01-01"})
	d.export(t)
	deliver(t, d, b)
	p, err := b.r.ImportFrom(bg, d.id())
	if err != nil || len(p.Quarantined) != 1 || p.Quarantined[0].Kind != KindUnknownNode {
		t.Fatalf("D's segment before D is known on B: %+v, %v", p, err)
	}
	syncAll(t, a, b, c, d) // A's admission of D arrives; D's segment is tried again
	converged(t, a, b, c, d)
	if qs := b.quarantined(t); len(qs) != 0 {
		t.Errorf("still quarantined on B: %+v", qs)
	}
	chainsVerify(t, a, b, c, d)
}

// One draft signed by its author on two workstations while they were apart
// (B after changing the text): every workstation ends with the earlier
// signing as the note, the later one in the note's history, nothing
// quarantined, and the apply entry says what happened.
func TestNoteSignedTwiceConverges(t *testing.T) {
	a, b, c := threeNodes(t)
	p := a.addPatient(t, store.Patient{Name: "Signed Twice", BirthDate: "1980-01-01"})
	note := a.draftNote(t, p.ID)
	syncAll(t, a, b, c)
	a.do(t, func(tx *store.Tx) error { _, err := tx.SignNote(note.ID); return err })
	time.Sleep(1100 * time.Millisecond) // signing times are in seconds: B signs later
	b.do(t, func(tx *store.Tx) error {
		if _, err := tx.EditDraft(note.ID, "changed on B"); err != nil {
			return err
		}
		_, err := tx.SignNote(note.ID)
		return err
	})
	syncAll(t, a, b, c) // fails on any quarantine
	converged(t, a, b, c)
	for _, n := range []*testNode{a, b, c} {
		var got store.Note
		var versions []store.Version
		n.do(t, func(tx *store.Tx) error {
			var err error
			if got, err = tx.Note(note.ID); err != nil {
				return err
			}
			versions, err = tx.History("notes", note.ID)
			return err
		})
		if got.Body == "changed on B" || got.Status != store.NoteSigned {
			t.Errorf("%s: the note is %q (%s), want A's earlier signing", n.name, got.Body, got.Status)
		}
		later := false
		for _, v := range versions {
			later = later || strings.Contains(string(v.Data), "changed on B")
		}
		if !later {
			t.Errorf("%s: B's later signing is not in the note's history (%d versions)", n.name, len(versions))
		}
	}
	if e, ok := b.lastAudit(t, ActApply); !ok || !strings.Contains(e.Detail, "note "+note.ID+" was signed on two workstations") {
		t.Errorf("B's apply entry: %+v", e)
	}
	chainsVerify(t, a, b, c)
	// The guard against changing a signed note is back in place on B.
	err := b.db.Update(bg, func(tx *store.Tx) error { _, err := tx.EditDraft(note.ID, "rewrite"); return err })
	if err == nil {
		t.Error("a signed note was edited after the replica resolved it")
	}
	var guards int
	b.db.Update(bg, func(tx *store.Tx) error {
		return tx.AuditDB().QueryRowContext(bg, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'notes_signed_immutable'").Scan(&guards)
	})
	if guards != 1 {
		t.Errorf("the signed-note trigger is not back on B (%d)", guards)
	}
}

func TestExportRecoversFromACrashBeforeItsStateWasSaved(t *testing.T) {
	a := newClinic(t, "A")
	a.addPatient(t, store.Patient{Name: "Export Crash", BirthDate: "1980-01-01"})
	var old store.ExportState
	a.db.ReplicaRead(bg, func(rd *store.ReplicaReader) error { old, _ = rd.ExportState(); return nil })
	first := a.export(t)
	// The segment is on disk, the state as if the crash came before saving it.
	a.db.ReplicaUpdate(bg, func(w *store.ReplicaWriter) error { return w.SetExportState(old) })
	// A temp file a crash left behind is cleaned.
	os.WriteFile(filepath.Join(a.r.Outbox(), TempPrefix+"junk"), []byte("x"), 0o600)
	if again := a.export(t); len(again.Files) != 0 {
		t.Fatalf("after the crash, export wrote %v again (first: %v)", again.Files, first.Files)
	}
	a.addPatient(t, store.Patient{Name: "Export Crash Two", BirthDate: "1980-01-01"})
	next := a.export(t)
	if len(next.Files) != 1 || next.Files[0] != FileName(2) {
		t.Fatalf("next export: %v, want segment 2", next.Files)
	}
	if ents, _ := os.ReadDir(a.r.Outbox()); len(ents) != 2 {
		t.Errorf("outbox holds %d files, want the 2 segments", len(ents))
	}
	// A database older than its outbox sends nothing.
	a.db.ReplicaUpdate(bg, func(w *store.ReplicaWriter) error {
		return w.SetExportState(store.ExportState{Segment: 2, ChangeSeq: 1 << 40, AuditSeq: 1})
	})
	if _, err := a.r.Export(bg); !errors.Is(err, ErrDatabaseBehindOutbox) {
		t.Errorf("export from a database behind its outbox: %v", err)
	}
}

func TestSnapshotTamperedInstallsNothing(t *testing.T) {
	a := newClinic(t, "A")
	for i := 0; i < 20; i++ {
		a.addPatient(t, store.Patient{Name: "Snap Shot", BirthDate: "1980-01-01"})
	}
	j := newEmptyNode(t, "J")
	self := j.db.Self()
	a.do(t, func(tx *store.Tx) error { _, err := tx.AdmitNode(self.ID, "J", self.PublicKey); return err })
	ck, _ := a.db.ClinicKey(bg)
	if err := j.db.SetClinicKey(bg, ck); err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	if _, err := a.r.WriteSnapshot(bg, &buf); err != nil {
		t.Fatal(err)
	}
	snap := []byte(buf.String())
	for name, bad := range map[string][]byte{
		"flipped":   flip(snap, len(snap)/2),
		"truncated": snap[:len(snap)-10],
		"signature": flip(snap, len(snap)-1),
		"appended":  append(append([]byte(nil), snap...), 1),
	} {
		if _, err := j.r.InstallSnapshot(bg, strings.NewReader(string(bad)), a.db.Self().PublicKey); err == nil {
			t.Errorf("%s snapshot installed", name)
		}
	}
	if _, err := j.r.InstallSnapshot(bg, strings.NewReader(string(snap)), j.db.Self().PublicKey); err == nil {
		t.Error("a snapshot installed although it came from another node than expected")
	}
	info, err := j.r.InstallSnapshot(bg, strings.NewReader(string(snap)), a.db.Self().PublicKey)
	if err != nil {
		t.Fatalf("the genuine snapshot after the bad ones: %v", err)
	}
	if info.Rows < 20 {
		t.Errorf("snapshot info %+v", info)
	}
	syncAll(t, a, j)
	converged(t, a, j)
	if _, err := j.r.InstallSnapshot(bg, strings.NewReader(string(snap)), a.db.Self().PublicKey); err == nil {
		t.Error("a second snapshot installed over clinic records")
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 1
	return c
}

func TestStatusNamesPeersAndProblems(t *testing.T) {
	a, b, c := threeNodes(t)
	a.addPatient(t, store.Patient{Name: "Status Check", BirthDate: "1980-01-01"})
	syncAll(t, a, b, c)
	st, err := b.r.Status(bg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Self.ID != b.id() || len(st.Peers) != 2 || st.Unsent {
		t.Fatalf("status %+v", st)
	}
	for _, p := range st.Peers {
		if !p.Known || p.Applied.Segment == 0 || p.Waiting != 0 || p.LastSegment.IsZero() {
			t.Errorf("peer %+v", p)
		}
	}
	b.addPatient(t, store.Patient{Name: "Unsent", BirthDate: "1980-01-01"})
	if st, _ := b.r.Status(bg); !st.Unsent {
		t.Error("status does not show unsent work")
	}
}

func TestChangesSignalsTheExporter(t *testing.T) {
	a := newClinic(t, "A")
	for len(a.db.Changes()) > 0 {
		<-a.db.Changes()
	}
	a.addPatient(t, store.Patient{Name: "Signal", BirthDate: "1980-01-01"})
	select {
	case <-a.db.Changes():
	default:
		t.Fatal("a commit did not signal the exporter")
	}
	// An audit-only import does not (no ping-pong between nodes).
	_ = audit.OutcomeSuccess
}

// suffixed is the rename of a unique value claimed twice (docs/replica.md).
func suffixed(v, id string) string { return v + "-" + id[len(id)-6:] }

// draftNote opens an encounter of patient on n and drafts a note in it.
func (n *testNode) draftNote(t *testing.T, patient string) store.Note {
	var note store.Note
	n.do(t, func(tx *store.Tx) error {
		e, err := tx.OpenEncounter(patient, n.admin.ID, "visit")
		if err == nil {
			note, err = tx.WriteNote(store.Note{EncounterID: e.ID, PatientID: patient, AuthorID: n.admin.ID, Body: "draft"})
		}
		return err
	})
	return note
}

func TestGrantsAndMergesReplicate(t *testing.T) {
	a, b, c := threeNodes(t)
	keep := a.addPatient(t, store.Patient{Name: "Keep Me", BirthDate: "1960-01-01"})
	dup := a.addPatient(t, store.Patient{Name: "Keep Me Twice", BirthDate: "1960-01-01"})
	a.draftNote(t, dup.ID)
	syncAll(t, a, b, c)
	// Apart, A and B name the same clinician for the same chart: two rows
	// for one grant, one wins everywhere.
	for _, n := range []*testNode{a, b} {
		n.do(t, func(tx *store.Tx) error {
			if err := tx.SetPatientRestricted(keep.ID, true); err != nil {
				return err
			}
			return tx.SetPatientAccess(keep.ID, n.admin.ID, n.admin.ID, true)
		})
		later()
	}
	c.do(t, func(tx *store.Tx) error { _, err := tx.MergePatients(keep.ID, dup.ID); return err })
	syncAll(t, a, b, c)
	converged(t, a, b, c)
	chainsVerify(t, a, b, c)
	for _, n := range []*testNode{a, b, c} {
		n.do(t, func(tx *store.Tx) error {
			if ok, err := tx.MayOpenRestricted(keep.ID, n.admin.ID); err != nil || !ok {
				t.Errorf("%s: the grant is lost (%v)", n.name, err)
			}
			if into, _ := tx.PatientMergedInto(dup.ID); into != keep.ID {
				t.Errorf("%s: the duplicate is not merged into the one kept", n.name)
			}
			if th, err := tx.Notes(keep.ID); err != nil || len(th) != 1 {
				t.Errorf("%s: the duplicate's note did not move (%d threads, %v)", n.name, len(th), err)
			}
			return nil
		})
	}
}

// A workstation whose clock runs a year ahead stamps its changes a year
// ahead. A peer refuses such a segment (it would win every conflict for a
// year), its own clock does not follow the stamps, and the segment is
// tried again by itself once the peer's clock has come close enough.
func TestChangesStampedFarAheadWaitForTheClock(t *testing.T) {
	a, b, _ := threeNodes(t)
	p := a.addPatient(t, store.Patient{Name: "Ahead Of Time", BirthDate: "1990-09-09"})
	name := a.export(t).Files[0]
	key, err := a.r.segmentKey(bg)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(a.r.Outbox(), name))
	if err != nil {
		t.Fatal(err)
	}
	seg, err := OpenSegment(data, a.db.Self().PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	const year = 365 * 24 * time.Hour
	for i := range seg.Body.Changes {
		seg.Body.Changes[i].HLC += uint64(year.Milliseconds()) << 16
	}
	ahead, err := seal(seg.Header, encodeBody(seg.Body), key, a.db.SignAsNode)
	if err != nil {
		t.Fatal(err)
	}
	in := b.r.Inbox(a.id())
	if err := os.WriteFile(filepath.Join(in, name), ahead, 0o600); err != nil {
		t.Fatal(err)
	}
	before := b.hash(t)
	res, err := b.r.ImportFrom(bg, a.id())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Quarantined) != 1 || res.Quarantined[0].Kind != KindClockAhead ||
		!strings.Contains(res.Quarantined[0].Reason, "clock runs ahead") || !strings.Contains(res.Quarantined[0].Reason, "tried again by itself") {
		t.Fatalf("import: %+v, want one %s quarantine", res, KindClockAhead)
	}
	if got := b.hash(t); got["patients"] != before["patients"] || got["change_log"] != before["change_log"] {
		t.Error("something of the segment stamped ahead was applied")
	}
	// B's own next write is stamped by B's clock, not a year ahead.
	b.addPatient(t, store.Patient{Name: "On Time", BirthDate: "1991-01-01"})
	var newest uint64
	b.db.ReplicaRead(bg, func(rd *store.ReplicaReader) error {
		return rd.LocalChanges(0, 1<<62, func(c store.Change) error { newest = max(newest, c.HLC); return nil })
	})
	if newest == 0 || store.HLCTime(newest).After(time.Now().Add(time.Minute)) {
		t.Errorf("B's newest write is stamped %v", store.HLCTime(newest))
	}
	// Nothing changes while B's clock is still far behind the stamps.
	if res, err := b.r.ImportFrom(bg, a.id()); err != nil || len(res.Applied)+len(res.Quarantined) != 0 {
		t.Fatalf("tried again too early: %+v, %v", res, err)
	}
	// A year later (B's clock), the segment applies by itself.
	b.r.Now = func() time.Time { return time.Now().Add(year) }
	res, err = b.r.ImportFrom(bg, a.id())
	if err != nil || len(res.Applied) != 1 || len(res.Quarantined) != 0 {
		t.Fatalf("once the clock caught up: %+v, %v", res, err)
	}
	if got := b.patient(t, p.ID); got.Name != p.Name {
		t.Errorf("B holds %q", got.Name)
	}
	if qs := b.quarantined(t); len(qs) != 0 {
		t.Errorf("still quarantined: %+v", qs)
	}
	// A new workstation whose clock is right does not start from B's
	// snapshot, which now holds those stamps: its clock would follow them.
	j := newEmptyNode(t, "J")
	ck, err := b.db.ClinicKey(bg)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.db.SetClinicKey(bg, ck); err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if _, err := b.r.WriteSnapshot(bg, &snap); err != nil {
		t.Fatal(err)
	}
	if _, err := j.r.InstallSnapshot(bg, &snap, b.db.Self().PublicKey); err == nil || !strings.Contains(err.Error(), "set the clock of the workstation that made it") {
		t.Fatalf("snapshot stamped a year ahead: %v", err)
	}
	if h := j.hash(t); h["patients"] == b.hash(t)["patients"] {
		t.Error("the refused snapshot was installed")
	}
}
