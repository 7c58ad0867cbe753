package sync

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ward/store"
	"ward/store/audit"
)

// Named test vectors of the segment format (testdata/*.wseg): one good
// segment and one file per way to be wrong, made from fixed test keys so a
// second implementation can check itself against them (docs/formats.md).
// `go test ./sync -run TestSegmentVectors -update` writes them again.

var update = flag.Bool("update", false, "rewrite the testdata vectors")

// vectorKeys are the fixed keys of the vectors. Test keys only.
func vectorKeys() (priv ed25519.PrivateKey, clinicKey []byte) {
	seed := sha256.Sum256([]byte("ward test vector node key"))
	ck := sha256.Sum256([]byte("ward test vector clinic key"))
	return ed25519.NewKeyFromSeed(seed[:]), ck[:]
}

func vectorSegment(t testing.TB) (Header, Body) {
	priv, _ := vectorKeys()
	node := store.NodeID(priv.Public().(ed25519.PublicKey))
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	h := Header{Origin: node, Segment: 1, ChangeFirst: 1, ChangeLast: 3, AuditFirst: 1, AuditLast: 2, Created: at}
	for i := range h.Nonce {
		h.Nonce[i] = byte(i)
	}
	b := Body{Changes: []store.Change{
		{Origin: node, OriginSeq: 1, HLC: 0x0190000000000001, Table: "settings", RowID: "clinic.name", Op: "upsert",
			Data: `{"key":"clinic.name","value":"Vector Clinic"}`,
			Row:  `{"key":"clinic.name","value":"Vector Clinic","origin":"` + node + `","hlc":112589990684262401,"deleted":0}`},
		{Origin: node, OriginSeq: 3, HLC: 0x0190000000000002, Table: "settings", RowID: "clinic.hours", Op: "upsert",
			Data: `{"key":"clinic.hours","value":"8-18"}`,
			Row:  `{"key":"clinic.hours","value":"8-18","origin":"` + node + `","hlc":112589990684262402,"deleted":0}`},
	}}
	var prev [32]byte
	for i, act := range []string{"clinic.init", "clinic.settings"} {
		e := audit.Entry{Node: node, Seq: uint64(i + 1), Time: at, User: "vector-user", Action: act, Outcome: audit.OutcomeSuccess}
		e.Hash = audit.ChainHash(prev, e)
		prev = e.Hash
		b.Audit = append(b.Audit, e)
	}
	cp := audit.Checkpoint{Node: node, Seq: 2, Head: prev, Time: at}
	cp.Signature = ed25519.Sign(priv, cp.Message())
	b.Checkpoints = []audit.Checkpoint{cp}
	return h, b
}

func sealVector(t testing.TB, h Header, b Body, key []byte, priv ed25519.PrivateKey) []byte {
	f, err := seal(h, encodeBody(b), key, func(m []byte) ([]byte, error) { return ed25519.Sign(priv, m), nil })
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// vectors are the files and what a reader must say about each.
func vectors(t testing.TB) []struct {
	name string
	data []byte
	want error // nil, errBadSignature, errUndecryptable or a *FormatError
} {
	priv, ck := vectorKeys()
	key, _ := store.DeriveSubkey(ck, store.SubkeySegment)
	h, b := vectorSegment(t)
	good := sealVector(t, h, b, key, priv)
	mut := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	otherKey := bytes.Repeat([]byte{9}, 32)
	otherSeed := sha256.Sum256([]byte("another node"))
	outOfRange := b
	outOfRange.Changes = append([]store.Change{{Origin: h.Origin, OriginSeq: 9, HLC: 1, Table: "settings", RowID: "x", Op: "upsert"}}, b.Changes...)
	missingEntry := b
	missingEntry.Audit = b.Audit[:1]
	fe := &FormatError{}
	return []struct {
		name string
		data []byte
		want error
	}{
		{"good_1.wseg", good, nil},
		{"fail_bad_signature.wseg", mut(func(f []byte) []byte { f[len(f)-sigSize-20] ^= 1; return f }), errBadSignature},
		{"fail_header_edited.wseg", mut(func(f []byte) []byte { f[len(Magic)+2+len(h.Origin)+5*8+7]++; return f }), errBadSignature},
		{"fail_signed_by_other_node.wseg", sealVector(t, h, b, key, ed25519.NewKeyFromSeed(otherSeed[:])), errBadSignature},
		{"fail_wrong_clinic_key.wseg", sealVector(t, h, b, otherKey, priv), errUndecryptable},
		{"fail_truncated.wseg", good[:len(good)-1], fe},
		{"fail_trailing_bytes.wseg", append(append([]byte(nil), good...), 0), fe},
		{"fail_bad_magic.wseg", mut(func(f []byte) []byte { f[len(Magic)-3] = '2'; return f }), fe},
		{"fail_change_out_of_range.wseg", sealVector(t, h, outOfRange, key, priv), fe},
		{"fail_missing_audit_entry.wseg", sealVector(t, h, missingEntry, key, priv), fe},
	}
}

func TestSegmentVectors(t *testing.T) {
	priv, ck := vectorKeys()
	key, _ := store.DeriveSubkey(ck, store.SubkeySegment)
	pub := priv.Public().(ed25519.PublicKey)
	for _, v := range vectors(t) {
		path := filepath.Join("testdata", v.name)
		if *update {
			if err := os.WriteFile(path, v.data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		file, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to write the vectors)", err)
		}
		if !bytes.Equal(file, v.data) {
			// DEFLATE's output may change with Go; what matters is that
			// the vector still reads as it should (below).
			t.Logf("%s: the writer now makes other bytes for this vector", v.name)
		}
		seg, err := OpenSegment(file, pub, key)
		var fe *FormatError
		switch {
		case v.want == nil && err != nil:
			t.Errorf("%s: %v", v.name, err)
		case v.want == nil:
			_, b := vectorSegment(t)
			if len(seg.Body.Changes) != 2 || len(seg.Body.Audit) != 2 || len(seg.Body.Checkpoints) != 1 ||
				seg.Body.Changes[1] != b.Changes[1] || seg.Body.Audit[1] != b.Audit[1] {
				t.Errorf("%s decodes to %+v", v.name, seg.Body)
			}
		case errors.As(v.want, &fe):
			if !errors.As(err, &fe) {
				t.Errorf("%s: %v, want a format error", v.name, err)
			}
		case !errors.Is(err, v.want):
			t.Errorf("%s: %v, want %v", v.name, err, v.want)
		}
	}
}

// FuzzOpenSegment: whatever a hostile peer puts in a folder, the reader
// returns an error or a segment that matches its header, and never panics.
func FuzzOpenSegment(f *testing.F) {
	for _, v := range vectors(f) {
		f.Add(v.data)
	}
	priv, ck := vectorKeys()
	key, _ := store.DeriveSubkey(ck, store.SubkeySegment)
	pub := priv.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, _, _, _, err := ParseHeader(data); err != nil {
			return
		}
		seg, err := OpenSegment(data, pub, key)
		if err != nil {
			return
		}
		if uint64(len(seg.Body.Audit)) != seg.Header.AuditLast+1-seg.Header.AuditFirst {
			t.Fatalf("a segment opened with audit entries its header does not announce")
		}
	})
}

// FuzzDecodeBody reaches the record parser behind the seal: a peer holding
// the clinic key and its node key can still write any body.
func FuzzDecodeBody(f *testing.F) {
	h, b := vectorSegment(f)
	f.Add(encodeBody(b))
	f.Add([]byte{recChange})
	f.Add([]byte{recAudit, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, plain []byte) {
		got, err := decodeBody(h, plain)
		if err != nil {
			return
		}
		for _, c := range got.Changes {
			if c.OriginSeq < h.ChangeFirst || c.OriginSeq > h.ChangeLast || c.Origin != h.Origin {
				t.Fatalf("a change outside the header's range was accepted: %+v", c)
			}
		}
	})
}
