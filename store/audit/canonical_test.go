package audit_test

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"time"

	"ward/store/audit"
)

// goldenEntries are the entries of testdata/canonical_v1.json, spelled out
// here too, so that neither the file nor the code can change alone.
var goldenEntries = []audit.Entry{
	{Node: "0193a1c3-aaaa-7bbb-8ccc-000000000001", Seq: 1, Time: time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC),
		User: "0193a1c4-7b2e-7c1a-9f00-5e1d2c3b4a01", Action: "user.signin", Outcome: audit.OutcomeSuccess},
	{Node: "0193a1c3-aaaa-7bbb-8ccc-000000000001", Seq: 42, Time: time.Date(2025, 3, 14, 9, 27, 0, 0, time.UTC),
		User: "0193a1c4-7b2e-7c1a-9f00-5e1d2c3b4a01", Action: "emergency.start", Patient: "0193a1c5-0000-7000-8000-00000000aa01",
		Outcome: audit.OutcomeSuccess, Detail: "Ärztin: bewusstlos,\n\"no\" chart", Grant: "0193a1c6-1111-7000-8000-0000000000f1"},
	{Node: "n", Seq: 7, Time: time.Unix(0, -1), Action: "x", Outcome: audit.OutcomeDenied},
}

type goldenFile struct {
	Vectors []struct {
		Name  string `json:"name"`
		Entry struct {
			Node         string `json:"node"`
			Seq          uint64 `json:"seq"`
			Time         string `json:"time"`
			TimeUnixNano int64  `json:"time_unix_nano"`
			User         string `json:"user"`
			Action       string `json:"action"`
			Patient      string `json:"patient"`
			Outcome      string `json:"outcome"`
			Detail       string `json:"detail"`
			Grant        string `json:"grant"`
		} `json:"entry"`
		Prev      string `json:"prev"`
		Canonical string `json:"canonical"`
		Hash      string `json:"hash"`
	} `json:"vectors"`
}

// TestCanonicalGolden pins the canonical encoding v1 and the chain hash to
// bytes computed by a second, independent implementation. If this fails, the
// format changed: old chains would stop verifying. Make a version 2 instead.
func TestCanonicalGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/canonical_v1.json")
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Vectors) != len(goldenEntries) {
		t.Fatalf("%d vectors in the file, %d in the test", len(g.Vectors), len(goldenEntries))
	}
	for i, v := range g.Vectors {
		e := goldenEntries[i]
		fe := v.Entry
		ft, err := time.Parse(time.RFC3339Nano, fe.Time)
		if err != nil || !ft.Equal(e.Time) || fe.TimeUnixNano != e.Time.UnixNano() {
			t.Fatalf("vector %d: time %s / %d does not match the test's entry", i, fe.Time, fe.TimeUnixNano)
		}
		if (audit.Entry{Node: fe.Node, Seq: fe.Seq, Time: e.Time, User: fe.User, Action: fe.Action, Patient: fe.Patient,
			Outcome: fe.Outcome, Detail: fe.Detail, Grant: fe.Grant}) != e {
			t.Fatalf("vector %d: the file's entry differs from the test's", i)
		}
		if got := hex.EncodeToString(audit.Canonical(e)); got != v.Canonical {
			t.Errorf("vector %d (%s): canonical\n got %s\nwant %s", i, v.Name, got, v.Canonical)
		}
		prev, err := hex.DecodeString(v.Prev)
		if err != nil || len(prev) != 32 {
			t.Fatalf("vector %d: bad prev", i)
		}
		if got := audit.ChainHash([32]byte(prev), e); hex.EncodeToString(got[:]) != v.Hash {
			t.Errorf("vector %d (%s): hash %x, want %s", i, v.Name, got, v.Hash)
		}
	}
}

// TestCanonicalLayout spells out the layout of a small entry byte by byte,
// as docs/formats.md does.
func TestCanonicalLayout(t *testing.T) {
	e := audit.Entry{Node: "n1", Seq: 258, Time: time.Unix(0, 0x0102030405060708), User: "u", Action: "a.b",
		Patient: "", Outcome: "success", Detail: "", Grant: "g"}
	want := "01" + // version
		"00000002" + "6e31" + // node "n1"
		"0000000000000102" + // seq 258
		"0102030405060708" + // time, unix ns
		"00000001" + "75" + // user "u"
		"00000003" + "612e62" + // action "a.b"
		"00000000" + // patient ""
		"00000007" + "73756363657373" + // outcome "success"
		"00000000" + // detail ""
		"00000001" + "67" // grant "g"
	if got := hex.EncodeToString(audit.Canonical(e)); got != want {
		t.Fatalf("canonical\n got %s\nwant %s", got, want)
	}
}

// TestCanonicalUnambiguous: moving bytes between adjacent fields changes the
// encoding (the length prefixes are what make the hash cover the fields, not
// just their concatenation).
func TestCanonicalUnambiguous(t *testing.T) {
	a := audit.Entry{Node: "n", Seq: 1, Time: time.Unix(1, 0), User: "ab", Action: "c", Outcome: "success"}
	b := a
	b.User, b.Action = "a", "bc"
	if string(audit.Canonical(a)) == string(audit.Canonical(b)) {
		t.Fatal("two different entries encode the same")
	}
}
