package audit_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ward/store/audit"
)

// Export test vectors in testdata/, age style: good.* must verify clean, and
// each fail_<what>.<ext> must fail with exactly the problems listed here. A
// vector is checked against <file>.manifest.json when that exists, else
// against good.<ext>.manifest.json. They were written by
// TestWriteExportVectors (WARD_WRITE_AUDIT_VECTORS=1) and are kept as they
// are: if one stops passing, the export format changed.
var exportVectors = []struct {
	file  string
	kinds []audit.ProblemKind
	line  int // line of the first line-located problem, 0 if none
}{
	{"good.jsonl", nil, 0},
	{"good.csv", nil, 0},
	{"good.fhir.json", nil, 0},
	{"fail_edited_user.jsonl", []audit.ProblemKind{audit.DigestMismatch, audit.HashMismatch}, 3},
	{"fail_deleted_line.jsonl", []audit.ProblemKind{audit.DigestMismatch, audit.MissingEntry}, 0},
	{"fail_swapped_lines.jsonl", []audit.ProblemKind{audit.DigestMismatch, audit.Reorder}, 3},
	{"fail_broken_link.jsonl", []audit.ProblemKind{audit.DigestMismatch, audit.BrokenLink, audit.BrokenLink}, 5},
	{"fail_respelled_time.jsonl", []audit.ProblemKind{audit.DigestMismatch, audit.AlteredEntry}, 2},
	{"fail_truncated.jsonl", []audit.ProblemKind{audit.DigestMismatch, audit.MalformedEntry, audit.MissingEntry, audit.MissingEntry}, 7},
	{"fail_manifest_signature.jsonl", []audit.ProblemKind{audit.BadManifestSignature}, 0},
	{"fail_checkpoint_signature.jsonl", []audit.ProblemKind{audit.BadSignature}, 0},
	{"fail_unknown_format.jsonl", []audit.ProblemKind{audit.UnknownFormat}, 0},
	{"fail_unknown_version.jsonl", []audit.ProblemKind{audit.UnknownVersion}, 0},
	{"fail_edited_user.csv", []audit.ProblemKind{audit.DigestMismatch, audit.HashMismatch}, 4},
	{"fail_edited_outcome.fhir.json", []audit.ProblemKind{audit.DigestMismatch, audit.HashMismatch}, 3},
	{"fail_edited_coding.fhir.json", []audit.ProblemKind{audit.DigestMismatch, audit.AlteredEntry}, 2},
}

func vectorPaths(file string) (string, string) {
	m := filepath.Join("testdata", file+".manifest.json")
	if _, err := os.Stat(m); err != nil {
		ext := file[strings.IndexByte(file, '.'):]
		m = filepath.Join("testdata", "good"+ext+".manifest.json")
	}
	return filepath.Join("testdata", file), m
}

func readVector(t testing.TB, file string) (data, manifest []byte) {
	t.Helper()
	fp, mp := vectorPaths(file)
	data, err := os.ReadFile(fp)
	if err != nil {
		t.Fatal(err)
	}
	manifest, err = os.ReadFile(mp)
	if err != nil {
		t.Fatal(err)
	}
	return data, manifest
}

func TestExportVectors(t *testing.T) {
	for _, v := range exportVectors {
		t.Run(v.file, func(t *testing.T) {
			data, manifest := readVector(t, v.file)
			r := verifyExport(t, data, manifest)
			if got := kinds(r.Problems); !slices.Equal(got, v.kinds) {
				t.Fatalf("problems %v, want %v", r.Problems, v.kinds)
			}
			for _, p := range r.Problems {
				if p.Line != 0 {
					if p.Line != v.line {
						t.Fatalf("first located problem %v, want line %d", p, v.line)
					}
					break
				}
			}
			if strings.HasPrefix(v.file, "good") && r.ExporterFingerprint != audit.Fingerprint(pub(newKey(0xa))) {
				t.Fatalf("exporter fingerprint %s", r.ExporterFingerprint)
			}
			if strings.HasSuffix(v.file, ".fhir.json") && strings.HasPrefix(v.file, "good") {
				validateFHIR(t, data)
			}
		})
	}
}

// TestWriteExportVectors regenerates testdata/good.* and fail_*. Only for a
// new format version: WARD_WRITE_AUDIT_VECTORS=1 go test -run WriteExportVectors
func TestWriteExportVectors(t *testing.T) {
	if os.Getenv("WARD_WRITE_AUDIT_VECTORS") != "1" {
		t.Skip("set WARD_WRITE_AUDIT_VECTORS=1 to rewrite the export vectors")
	}
	db, keys, signer := exportDB(t, 12)
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	good := map[audit.Format][]byte{}
	var goodManifest audit.Manifest
	for f, name := range map[audit.Format]string{audit.JSONL: "good.jsonl", audit.CSV: "good.csv", audit.FHIR: "good.fhir.json"} {
		file, manifest, m := export(t, db, f, audit.Filter{}, signer, keys)
		write(name, file)
		write(name+".manifest.json", manifest)
		good[f] = file
		if f == audit.JSONL {
			goodManifest = m
		}
	}
	j := good[audit.JSONL]
	lines := func() []string { return strings.Split(string(j), "\n") }
	join := func(ls []string) []byte { return []byte(strings.Join(ls, "\n")) }

	write("fail_edited_user.jsonl", editLine(t, j, 3, sampleUsers[2], "mallory"))
	write("fail_deleted_line.jsonl", deleteLine(j, 4))
	ls := lines()
	ls[1], ls[2] = ls[2], ls[1]
	write("fail_swapped_lines.jsonl", join(ls))

	// Line 5 gets another prev and a hash recomputed to match: the entry is
	// consistent in itself, but no longer links to line 4, nor line 6 to it.
	var l3, l5 struct{ Hash, Prev string }
	json.Unmarshal([]byte(lines()[2]), &l3)
	json.Unmarshal([]byte(lines()[4]), &l5)
	var x struct {
		Node, Time, User, Action, Patient, Outcome, Detail, Grant, Hash, Prev string
		Seq                                                                   uint64
	}
	json.Unmarshal([]byte(lines()[4]), &x)
	e := audit.Entry{Node: x.Node, Seq: x.Seq, User: x.User, Action: x.Action, Patient: x.Patient, Outcome: x.Outcome, Detail: x.Detail, Grant: x.Grant}
	e.Time, _ = timeParse(x.Time)
	var prev [32]byte
	copy(prev[:], mustHex(t, l3.Hash))
	h := audit.ChainHash(prev, e)
	broken := editLine(t, j, 5, l5.Prev, l3.Hash)
	write("fail_broken_link.jsonl", editLine(t, broken, 5, l5.Hash, hexString(h[:])))

	write("fail_respelled_time.jsonl", editLine(t, j, 2, `Z","user"`, `+00:00","user"`))
	cut := bytes.Index(j, []byte(lines()[6]))
	write("fail_truncated.jsonl", j[:cut+40])

	gm, _ := os.ReadFile("testdata/good.jsonl.manifest.json")
	for _, name := range []string{"fail_manifest_signature", "fail_checkpoint_signature", "fail_unknown_format", "fail_unknown_version"} {
		write(name+".jsonl", j)
	}
	write("fail_manifest_signature.jsonl.manifest.json", bytes.Replace(gm, []byte(`"created": "20`), []byte(`"created": "19`), 1))
	write("fail_unknown_version.jsonl.manifest.json", bytes.Replace(gm, []byte(audit.ManifestVersion), []byte("ward-audit-export/v9"), 1))
	resigned := func(edit func(m *audit.Manifest)) []byte {
		m := goodManifest
		m.Chains = slices.Clone(m.Chains)
		for i := range m.Chains {
			m.Chains[i].Checkpoints = slices.Clone(m.Chains[i].Checkpoints)
		}
		edit(&m)
		if err := audit.ResignManifest(&m, signer.Key); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		audit.WriteManifest(&b, m)
		return b.Bytes()
	}
	write("fail_checkpoint_signature.jsonl.manifest.json", resigned(func(m *audit.Manifest) {
		sig := slices.Clone(m.Chains[1].Checkpoints[0].Signature)
		sig[10] ^= 0x40
		m.Chains[1].Checkpoints[0].Signature = sig
	}))
	write("fail_unknown_format.jsonl.manifest.json", resigned(func(m *audit.Manifest) { m.Format = "xml" }))

	write("fail_edited_user.csv", editLine(t, good[audit.CSV], 4, sampleUsers[2], "mallory"))
	write("fail_edited_outcome.fhir.json", editLine(t, good[audit.FHIR], 3, `"outcome":"0"`, `"outcome":"8"`))
	write("fail_edited_coding.fhir.json", editLine(t, good[audit.FHIR], 2, `"display":"Patient Record"`, `"display":"Patient Chart"`))
}

// FuzzVerifyExport: no export file and manifest, however broken, makes
// VerifyExport panic or fail with anything but a report.
func FuzzVerifyExport(f *testing.F) {
	for _, v := range exportVectors {
		data, manifest := readVector(f, v.file)
		f.Add(data, manifest)
	}
	f.Add([]byte{}, []byte{})
	f.Add([]byte("\n\n"), []byte(`{"version":"ward-audit-export/v1"}`))
	f.Fuzz(func(t *testing.T, data, manifest []byte) {
		r, err := audit.VerifyExport(bytes.NewReader(data), bytes.NewReader(manifest))
		if err != nil {
			t.Fatalf("error from in-memory readers: %v", err)
		}
		for _, p := range r.Problems {
			_ = p.Error()
		}
		if m, err := audit.ReadManifest(bytes.NewReader(manifest)); err == nil {
			var b bytes.Buffer
			if err := audit.WriteManifest(&b, m); err != nil {
				t.Fatal(err)
			}
		}
	})
}
