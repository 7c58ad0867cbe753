package audit_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"ward/store/audit"
)

var formats = []audit.Format{audit.JSONL, audit.CSV, audit.FHIR}

// exportDB is chainDB plus entries that stress the formats, and the
// exporting workstation (node A) as signer.
func exportDB(t testing.TB, n int) (*sql.DB, audit.Keys, audit.Signer) {
	t.Helper()
	db, keys := chainDB(t, n)
	clk := &fakeClock{t: t0.Add(time.Hour)}
	w := &audit.Writer{Node: nodeA, Key: newKey(0xa), Now: clk.Now, CheckpointEvery: 10}
	ctx := context.Background()
	for _, ev := range []audit.Event{
		{User: "=cmd|' /C calc'!A0", Action: "patient.read", Patient: "+1-555-0100", Outcome: audit.OutcomeDenied,
			Detail: "@SUM(1+1), \"quoted\"; tab\there\nsecond line"},
		{User: "u\u00a0nbsp", Action: "note.sign", Patient: "p\u2028x", Outcome: audit.OutcomeSuccess,
			Detail: "\u00a0leading nbsp, form\ffeed", Grant: "-grant"},
		{Action: "settings.update", Outcome: audit.OutcomeFailure, Detail: "'already quoted"},
	} {
		if _, err := w.Append(ctx, db, ev); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Checkpoint(ctx, db); err != nil {
		t.Fatal(err)
	}
	return db, keys, audit.Signer{Node: nodeA, Key: newKey(0xa)}
}

func export(t testing.TB, db *sql.DB, f audit.Format, flt audit.Filter, s audit.Signer, keys audit.Keys) (file, manifest []byte, m audit.Manifest) {
	t.Helper()
	var out, mb bytes.Buffer
	m, err := audit.Export(context.Background(), db, &out, f, flt, s, keys)
	if err != nil {
		t.Fatalf("export %s: %v", f, err)
	}
	if err := audit.WriteManifest(&mb, m); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), mb.Bytes(), m
}

func verifyExport(t testing.TB, file, manifest []byte) audit.ExportReport {
	t.Helper()
	r, err := audit.VerifyExport(bytes.NewReader(file), bytes.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func kinds(ps []audit.ExportProblem) []audit.ProblemKind {
	var k []audit.ProblemKind
	for _, p := range ps {
		k = append(k, p.Kind)
	}
	return k
}

func TestExportRoundTrip(t *testing.T) {
	db, keys, signer := exportDB(t, 23)
	total := countRows(t, db, `SELECT count(*) FROM audit_entries`)
	for _, f := range formats {
		t.Run(string(f), func(t *testing.T) {
			file, manifest, m := export(t, db, f, audit.Filter{}, signer, keys)
			r := verifyExport(t, file, manifest)
			if !r.OK() {
				t.Fatalf("intact export: %v", r.Problems)
			}
			if r.Entries != uint64(total) || m.Entries != uint64(total) || r.Format != f || r.Exporter != nodeA {
				t.Fatalf("report %+v, manifest entries %d, want %d", r, m.Entries, total)
			}
			if r.ExporterFingerprint != audit.Fingerprint(pub(signer.Key)) || len(r.ExporterFingerprint) != 16 {
				t.Fatalf("exporter fingerprint %q", r.ExporterFingerprint)
			}
			if len(r.Chains) != 2 || r.Chains[0].Node != nodeA || r.Chains[1].Node != nodeB {
				t.Fatalf("chains %+v", r.Chains)
			}
			a := r.Chains[0]
			if a.FirstSeq != 1 || a.LastSeq != 26 || a.HeadSeq != 26 || a.Checkpoints != 4 || a.Fingerprint != audit.Fingerprint(keys[nodeA]) {
				t.Fatalf("chain A %+v", a)
			}
			if f == audit.FHIR {
				validateFHIR(t, file)
			}
			// The manifest reads back as it was written.
			back, err := audit.ReadManifest(bytes.NewReader(manifest))
			if err != nil {
				t.Fatal(err)
			}
			var again bytes.Buffer
			audit.WriteManifest(&again, back)
			if !bytes.Equal(again.Bytes(), manifest) {
				t.Fatalf("manifest does not round-trip:\n%s\n%s", manifest, again.Bytes())
			}
		})
	}
}

func TestExportCSVFormulaGuard(t *testing.T) {
	db, keys, signer := exportDB(t, 3)
	file, _, _ := export(t, db, audit.CSV, audit.Filter{Patient: "+1-555-0100"}, signer, keys)
	recs, err := csv.NewReader(bytes.NewReader(file)).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("%v, %d records", err, len(recs))
	}
	for i, cell := range recs[1] {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Errorf("cell %d starts with %q: a spreadsheet would run it", i, cell[0])
		}
	}
	if !bytes.HasSuffix(file, []byte("\r\n")) {
		t.Error("records do not end in CRLF (RFC 4180)")
	}
}

func TestExportFilters(t *testing.T) {
	db, keys, signer := exportDB(t, 30)
	var all []audit.Entry
	rows, _ := db.Query(`SELECT node, seq, at, user_id, patient_id FROM audit_entries ORDER BY node, seq`)
	for rows.Next() {
		var e audit.Entry
		var at int64
		rows.Scan(&e.Node, &e.Seq, &at, &e.User, &e.Patient)
		e.Time = time.Unix(0, at)
		all = append(all, e)
	}
	rows.Close()
	for _, flt := range []audit.Filter{
		{User: sampleUsers[1]},
		{Patient: samplePatients[0]},
		{From: t0.Add(10 * time.Second), To: t0.Add(40 * time.Second)},
		{From: t0.Add(25 * time.Second), User: sampleUsers[0], Patient: samplePatients[1]},
		{User: "nobody"},
	} {
		var want []string
		for _, e := range all {
			if (flt.From.IsZero() || !e.Time.Before(flt.From)) && (flt.To.IsZero() || e.Time.Before(flt.To)) &&
				(flt.User == "" || e.User == flt.User) && (flt.Patient == "" || e.Patient == flt.Patient) {
				want = append(want, fmt.Sprintf("%s/%d", e.Node, e.Seq))
			}
		}
		for _, f := range formats {
			file, manifest, m := export(t, db, f, flt, signer, keys)
			r := verifyExport(t, file, manifest)
			if !r.OK() {
				t.Fatalf("%s %+v: %v", f, flt, r.Problems)
			}
			var got []string
			for _, c := range m.Chains {
				for _, rg := range c.Ranges {
					for s := rg[0]; s <= rg[1]; s++ {
						got = append(got, fmt.Sprintf("%s/%d", c.Node, s))
					}
				}
			}
			if !slices.Equal(got, want) || r.Entries != uint64(len(want)) {
				t.Fatalf("%s %+v: exported %v, want %v", f, flt, got, want)
			}
			if f == audit.FHIR {
				validateFHIR(t, file)
			}
		}
	}
}

func TestExportRefuses(t *testing.T) {
	db, keys, signer := exportDB(t, 3)
	ctx := context.Background()
	var out bytes.Buffer
	if _, err := audit.Export(ctx, db, &out, "xml", audit.Filter{}, signer, keys); err == nil {
		t.Error("unknown format accepted")
	}
	if _, err := audit.Export(ctx, db, &out, audit.JSONL, audit.Filter{}, signer, audit.Keys{nodeA: keys[nodeA]}); err == nil {
		t.Error("export without the public key of a chain")
	}
	if _, err := audit.Export(ctx, db, &out, audit.JSONL, audit.Filter{}, audit.Signer{Node: nodeA}, keys); err == nil {
		t.Error("export without a signing key")
	}
	mustExec(t, db, `UPDATE audit_entries SET detail = 'x' WHERE node = ? AND seq = 2`, nodeB)
	if _, err := audit.Export(ctx, db, &out, audit.JSONL, audit.Filter{}, signer, keys); err == nil || !strings.Contains(err.Error(), "seq 2") {
		t.Errorf("export of a damaged entry: %v", err)
	}
}

// lineOf finds the line of the export holding entry seq of node.
func lineOf(t testing.TB, f audit.Format, file []byte, node string, seq uint64) int {
	t.Helper()
	marker := map[audit.Format]string{
		audit.JSONL: fmt.Sprintf(`{"node":%q,"seq":%d,`, node, seq),
		audit.CSV:   fmt.Sprintf("%s,%d,", node, seq),
		audit.FHIR:  fmt.Sprintf(`"value":"%s/%d"`, node, seq),
	}[f]
	for i, l := range strings.Split(string(file), "\n") {
		if strings.Contains(l, marker) {
			return i + 1
		}
	}
	t.Fatalf("%s: entry %s/%d not found", f, node, seq)
	return 0
}

// editLine replaces the first old on line n.
func editLine(t testing.TB, file []byte, n int, old, new string) []byte {
	t.Helper()
	lines := strings.Split(string(file), "\n")
	if !strings.Contains(lines[n-1], old) {
		t.Fatalf("line %d has no %q: %s", n, old, lines[n-1])
	}
	lines[n-1] = strings.Replace(lines[n-1], old, new, 1)
	return []byte(strings.Join(lines, "\n"))
}

func deleteLine(file []byte, n int) []byte {
	lines := strings.Split(string(file), "\n")
	return []byte(strings.Join(slices.Delete(lines, n-1, n), "\n"))
}

// TestExportTamper: each edit of an export is detected, and named: the file
// digest, and the line, chain and seq of the entry that no longer verifies.
func TestExportTamper(t *testing.T) {
	db, keys, signer := exportDB(t, 23)
	for _, f := range formats {
		file, manifest, _ := export(t, db, f, audit.Filter{}, signer, keys)
		l3 := lineOf(t, f, file, nodeA, 3)
		l4 := lineOf(t, f, file, nodeA, 4)
		l5 := lineOf(t, f, file, nodeA, 5)
		lb := lineOf(t, f, file, nodeB, 10)
		for _, tc := range []struct {
			name  string
			edit  func() []byte
			kinds []audit.ProblemKind
			line  int
			seq   uint64
		}{
			{"edit user", func() []byte { return editLine(t, file, l3, sampleUsers[2], "mallory") },
				[]audit.ProblemKind{audit.DigestMismatch, audit.HashMismatch}, l3, 3},
			{"edit outcome", func() []byte {
				old := map[audit.Format]string{audit.JSONL: `"success"`, audit.CSV: ",success,", audit.FHIR: `"outcome":"0"`}[f]
				new := map[audit.Format]string{audit.JSONL: `"failure"`, audit.CSV: ",failure,", audit.FHIR: `"outcome":"8"`}[f]
				return editLine(t, file, l4, old, new)
			}, []audit.ProblemKind{audit.DigestMismatch, audit.HashMismatch}, l4, 4},
			{"edit a hash digit", func() []byte {
				h := hashOf(t, db, nodeB, 10)
				// In FHIR the hash is also the resource id; edit the detail.
				old := map[audit.Format]string{audit.JSONL: h[:8], audit.CSV: h[:8], audit.FHIR: `"valueString":"` + h[:8]}[f]
				return editLine(t, file, lb, old, strings.Replace(old, h[:8], "00000000", 1))
			}, []audit.ProblemKind{audit.DigestMismatch, audit.HashMismatch}, lb, 10},
			{"delete an entry", func() []byte { return deleteLine(file, l4) }, []audit.ProblemKind{audit.DigestMismatch, audit.MissingEntry}, 0, 4},
			{"swap two entries", func() []byte {
				lines := strings.Split(string(file), "\n")
				lines[l3-1], lines[l4-1] = lines[l4-1], lines[l3-1]
				return []byte(strings.Join(lines, "\n"))
			}, []audit.ProblemKind{audit.DigestMismatch, audit.Reorder}, l4, 3},
			{"append a copy of an entry", func() []byte {
				lines := strings.Split(string(file), "\n")
				lines = slices.Insert(lines, l5, lines[l5-1])
				return []byte(strings.Join(lines, "\n"))
			}, []audit.ProblemKind{audit.DigestMismatch, audit.Reorder}, l5 + 1, 5},
		} {
			t.Run(string(f)+"/"+tc.name, func(t *testing.T) {
				r := verifyExport(t, tc.edit(), manifest)
				got := kinds(r.Problems)
				if len(got) < 2 || !slices.Equal(got[:2], tc.kinds) {
					t.Fatalf("problems %v, want %v first", r.Problems, tc.kinds)
				}
				p := r.Problems[1]
				if p.Line != tc.line || p.Node != nodeA && p.Node != nodeB || p.Seq != tc.seq {
					t.Fatalf("located %v (line %d seq %d), want line %d seq %d", p, p.Line, p.Seq, tc.line, tc.seq)
				}
				t.Log(r.Problems)
			})
		}
		// Outside the hashed fields: the FHIR coding, the time's spelling.
		if f == audit.FHIR {
			l1 := lineOf(t, f, file, nodeA, 1) // patient.read
			for _, edit := range [][2]string{
				{`"display":"Patient Record"`, `"display":"Nothing"`},
				{`"id":"`, `"id":"0`},
			} {
				r := verifyExport(t, editLine(t, file, l1, edit[0], edit[1]), manifest)
				if got := kinds(r.Problems); !slices.Equal(got, []audit.ProblemKind{audit.DigestMismatch, audit.AlteredEntry}) || r.Problems[1].Line != l1 {
					t.Fatalf("edited %s: %v", edit[0], r.Problems)
				}
			}
		}
		if f == audit.JSONL {
			r := verifyExport(t, editLine(t, file, l3, `Z","user"`, `+00:00","user"`), manifest)
			if got := kinds(r.Problems); !slices.Equal(got, []audit.ProblemKind{audit.DigestMismatch, audit.AlteredEntry}) {
				t.Fatalf("respelled time: %v", r.Problems)
			}
		}
	}
}

func hashOf(t testing.TB, db *sql.DB, node string, seq uint64) string {
	var h []byte
	if err := db.QueryRow(`SELECT hash FROM audit_entries WHERE node = ? AND seq = ?`, node, seq).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h)
}

// TestExportByteFlips: changing any one byte of an export is detected; in
// JSON Lines and FHIR it is also located on its line.
func TestExportByteFlips(t *testing.T) {
	db, keys, signer := exportDB(t, 2)
	// The last entry of chain B and the three odd ones (quoting, base64).
	flt := audit.Filter{From: t0.Add(3 * time.Second)}
	for _, f := range formats {
		file, manifest, _ := export(t, db, f, flt, signer, keys)
		located := 0
		for i := range file {
			// Alternate a low bit and the ASCII case bit.
			x := []byte{0x01, 0x20}[i%2]
			edited := bytes.Clone(file)
			edited[i] ^= x
			r := verifyExport(t, edited, manifest)
			if len(r.Problems) == 0 || r.Problems[0].Kind != audit.DigestMismatch {
				t.Fatalf("%s: byte %d ^ %#x: %v", f, i, x, r.Problems)
			}
			if len(r.Problems) > 1 {
				located++
			} else if f != audit.CSV {
				t.Fatalf("%s: byte %d (%q) ^ %#x: not located", f, i, file[i], x)
			}
		}
		t.Logf("%s: %d bytes, %d of %d flips located on a line", f, len(file), located, len(file))
	}
}

// TestExportManifestTamper: the manifest is signed; edits, a foreign key and
// validly signed nonsense are all named.
func TestExportManifestTamper(t *testing.T) {
	db, keys, signer := exportDB(t, 23)
	file, manifest, m := export(t, db, audit.JSONL, audit.Filter{}, signer, keys)
	resign := func(edit func(m *audit.Manifest)) []byte {
		c := m
		c.Chains = slices.Clone(m.Chains)
		for i := range c.Chains {
			c.Chains[i].Checkpoints = slices.Clone(c.Chains[i].Checkpoints)
		}
		edit(&c)
		if err := audit.ResignManifest(&c, signer.Key); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		audit.WriteManifest(&b, c)
		return b.Bytes()
	}
	for _, tc := range []struct {
		name     string
		manifest []byte
		kinds    []audit.ProblemKind
	}{
		{"edited created time", bytes.Replace(manifest, []byte(`"created": "20`), []byte(`"created": "19`), 1),
			[]audit.ProblemKind{audit.BadManifestSignature}},
		{"edited head", bytes.Replace(manifest, []byte(`"seq": 26`), []byte(`"seq": 27`), 1),
			[]audit.ProblemKind{audit.BadManifestSignature}},
		{"edited filter", bytes.Replace(manifest, []byte(`"filter": {}`), []byte(`"filter": {"user": "x"}`), 1),
			[]audit.ProblemKind{audit.BadManifestSignature, audit.OutsideFilter}},
		{"signed by another key", func() []byte {
			c := m
			audit.ResignManifest(&c, newKey(0xc))
			var b bytes.Buffer
			audit.WriteManifest(&b, c)
			return b.Bytes()
		}(), []audit.ProblemKind{audit.BadManifestSignature}},
		{"bad checkpoint signature", resign(func(m *audit.Manifest) { m.Chains[0].Checkpoints[1].Signature[0] ^= 1 }),
			[]audit.ProblemKind{audit.BadSignature}},
		{"checkpoint of another head", resign(func(m *audit.Manifest) {
			// A valid signature over a wrong head, as a forked node would make.
			cp := &m.Chains[0].Checkpoints[1]
			cp.Head[0] ^= 1
			cp.Signature = signFor(newKey(0xa), *cp)
		}), []audit.ProblemKind{audit.CheckpointMismatch}},
		{"unknown format", resign(func(m *audit.Manifest) { m.Format = "xml" }), []audit.ProblemKind{audit.UnknownFormat}},
		{"unknown version", bytes.Replace(manifest, []byte(audit.ManifestVersion), []byte("ward-audit-export/v2"), 1),
			[]audit.ProblemKind{audit.UnknownVersion}},
		{"not JSON", []byte("hello"), []audit.ProblemKind{audit.BadManifest}},
		{"duplicate member", bytes.Replace(manifest, []byte(`"entries"`), []byte(`"entries": 1, "entries"`), 1),
			[]audit.ProblemKind{audit.BadManifest}},
		{"unknown member", bytes.Replace(manifest, []byte(`"entries"`), []byte(`"extra": 1, "entries"`), 1),
			[]audit.ProblemKind{audit.BadManifest}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := verifyExport(t, file, tc.manifest)
			if got := kinds(r.Problems); !slices.Equal(got, tc.kinds) {
				t.Fatalf("problems %v, want %v", r.Problems, tc.kinds)
			}
			t.Log(r.Problems)
		})
	}
}

// signFor signs cp as Writer does (the message is Checkpoint.Message).
func signFor(key []byte, cp audit.Checkpoint) []byte {
	return edSign(key, cp.Message())
}

func TestManifestReadErrors(t *testing.T) {
	for _, in := range []string{"", "{}", `{"version":"ward-audit-export/v1"}`, `[]`, `{"version":"ward-audit-export/v1","entries":1.5}`} {
		if _, err := audit.ReadManifest(strings.NewReader(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// TestExportEmpty: an export with no entries is still a valid, verifiable
// file in every format.
func TestExportEmpty(t *testing.T) {
	db, keys, signer := exportDB(t, 3)
	for _, f := range formats {
		file, manifest, m := export(t, db, f, audit.Filter{User: "nobody"}, signer, keys)
		if r := verifyExport(t, file, manifest); !r.OK() || m.Entries != 0 || len(m.Chains) != 0 {
			t.Fatalf("%s: %v", f, r.Problems)
		}
		if f == audit.FHIR {
			validateFHIR(t, file)
		}
	}
}
