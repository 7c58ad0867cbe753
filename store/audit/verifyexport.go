package audit

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// Kinds of problem only an export can have (VerifyExport also reports
// HashMismatch, Reorder, BadSignature, CheckpointMismatch).
const (
	UnknownVersion       ProblemKind = "unknown version"        // the manifest is not ward-audit-export/v1
	UnknownFormat        ProblemKind = "unknown format"         // the manifest names no known format
	BadManifest          ProblemKind = "bad manifest"           // the manifest cannot be read
	BadManifestSignature ProblemKind = "bad manifest signature" // the exporter's signature does not verify
	DigestMismatch       ProblemKind = "digest mismatch"        // the file is not the one the manifest signs
	MalformedEntry       ProblemKind = "malformed entry"        // a line cannot be read as an entry
	AlteredEntry         ProblemKind = "altered entry"          // hash intact, but not as Export wrote it
	BrokenLink           ProblemKind = "broken link"            // prev differs from the hash of the entry before
	MissingEntry         ProblemKind = "missing entry"          // in the manifest's ranges, not in the file
	UnexpectedEntry      ProblemKind = "unexpected entry"       // in the file, not in the manifest
	HeadMismatch         ProblemKind = "head mismatch"          // the entry at the head seq is not the head
	OutsideFilter        ProblemKind = "outside filter"         // the entry does not match the manifest's filter
)

// ExportProblem is one thing wrong with an export or its manifest.
type ExportProblem struct {
	Kind   ProblemKind
	Line   int    // line of the export file, from 1; 0 when not about one line
	Node   string // chain, when known
	Seq    uint64 // entry, when known (with Node)
	Detail string
}

func (p ExportProblem) Error() string {
	s := "audit export"
	if p.Line > 0 {
		s += fmt.Sprintf(" line %d", p.Line)
	}
	if p.Node != "" {
		s += fmt.Sprintf(" (chain %q seq %d)", p.Node, p.Seq)
	}
	s += ": " + string(p.Kind)
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

// ExportReport is what VerifyExport found. The fingerprints are for people:
// compare them with the ones the clinic keeps for its workstations, since a
// manifest vouches only for itself.
type ExportReport struct {
	Format              Format
	Created             time.Time
	Filter              Filter
	Exporter            string
	ExporterFingerprint string
	Entries             uint64 // entries read from the file
	Chains              []ExportChainReport
	Problems            []ExportProblem // in order: manifest, file digest, entries, what is missing
	MoreProblems        int             // problems found beyond maxExportProblems
}

// ExportChainReport sums up one chain of an export.
type ExportChainReport struct {
	Node        string
	Fingerprint string
	FirstSeq    uint64
	LastSeq     uint64
	Entries     uint64 // in the manifest
	HeadSeq     uint64
	Checkpoints int // checkpoints in the manifest with a good signature
}

// OK reports whether the export and its manifest are intact.
func (r ExportReport) OK() bool { return len(r.Problems) == 0 }

const maxExportProblems = 100

// maxLine bounds one line of a JSONL or FHIR export (an entry is at most
// ≈ 90 KiB: 64 KiB of detail, base64 in FHIR, plus ids).
const maxLine = 1 << 20

// VerifyExport checks an export file against its manifest without any
// database: the manifest signature, the checkpoint signatures, the file's
// SHA-256, and every entry (its own hash, its link to the entry before, the
// checkpoints and head it must equal, the manifest's ranges and filter). A
// changed file is reported as a digest mismatch and, where the change can be
// located, also as a problem of the line it is on.
//
// The error is only for failing to read; everything wrong with the content
// is in the report.
func VerifyExport(exportFile, manifestFile io.Reader) (ExportReport, error) {
	var r ExportReport
	raw, err := io.ReadAll(io.LimitReader(manifestFile, maxManifestSize+1))
	if err != nil {
		return r, err
	}
	m, msg, err := parseManifest(raw)
	if err != nil {
		kind := BadManifest
		if errors.Is(err, errManifestVersion) {
			kind = UnknownVersion
		}
		r.Problems = append(r.Problems, ExportProblem{Kind: kind, Detail: err.Error()})
		return r, nil
	}
	r.Format, r.Created, r.Filter, r.Exporter = m.Format, m.Created, m.Filter, m.Exporter
	r.ExporterFingerprint = Fingerprint(m.ExporterKey)
	v := &exportVerifier{r: &r, m: &m, chains: map[string]*exportChain{}}
	if !m.Format.valid() {
		v.problem(ExportProblem{Kind: UnknownFormat, Detail: "the manifest names no known format"})
		return r, nil
	}
	if !ed25519.Verify(m.ExporterKey, msg, m.Signature) {
		v.problem(ExportProblem{Kind: BadManifestSignature, Detail: "the manifest is not signed by the exporter key it names"})
	}
	for i := range m.Chains {
		v.addChain(&m.Chains[i])
	}
	manifestProblems := len(r.Problems)

	digest := sha256.New()
	tee := io.TeeReader(exportFile, digest)
	switch m.Format {
	case JSONL:
		err = v.readJSONL(tee)
	case CSV:
		err = v.readCSV(tee)
	case FHIR:
		err = v.readFHIR(tee)
	}
	if err == nil {
		_, err = io.Copy(io.Discard, tee) // the digest covers the whole file
	}
	if err != nil {
		return r, err
	}
	for _, c := range v.order {
		v.missing(c)
	}
	if [32]byte(digest.Sum(nil)) != m.SHA256 {
		// Most fundamental of the file's problems: it goes first, before the
		// line problems that say where the change is.
		r.Problems = slices.Insert(r.Problems, manifestProblems, ExportProblem{Kind: DigestMismatch,
			Detail: "the file's SHA-256 is not the one the manifest signs: the file was changed"})
		if len(r.Problems) > maxExportProblems {
			r.Problems = r.Problems[:maxExportProblems]
			r.MoreProblems++
		}
	}
	return r, nil
}

type exportVerifier struct {
	r      *ExportReport
	m      *Manifest
	chains map[string]*exportChain
	order  []*exportChain

	filterReported bool
}

type exportChain struct {
	mc       *ManifestChain
	cps      map[uint64][32]byte // heads of well-signed checkpoints
	seen     []uint64            // seqs read, for the missing-entry check
	haveLast bool
	lastSeq  uint64
	lastHash [32]byte
}

func (v *exportVerifier) problem(p ExportProblem) {
	if len(v.r.Problems) >= maxExportProblems {
		v.r.MoreProblems++
		return
	}
	v.r.Problems = append(v.r.Problems, p)
}

func (v *exportVerifier) addChain(mc *ManifestChain) {
	c := &exportChain{mc: mc, cps: map[uint64][32]byte{}}
	cr := ExportChainReport{Node: mc.Node, Fingerprint: Fingerprint(mc.PublicKey), FirstSeq: mc.FirstSeq,
		LastSeq: mc.LastSeq, Entries: mc.Entries, HeadSeq: mc.HeadSeq}
	for _, cp := range mc.Checkpoints {
		if !cp.Valid(mc.PublicKey) {
			v.problem(ExportProblem{Kind: BadSignature, Node: mc.Node, Seq: cp.Seq,
				Detail: "the manifest's checkpoint is not signed by the chain's key"})
			continue
		}
		cr.Checkpoints++
		c.cps[cp.Seq] = cp.Head
		if cp.Seq == mc.HeadSeq && cp.Head != mc.Head || cp.Seq > mc.HeadSeq {
			v.problem(ExportProblem{Kind: CheckpointMismatch, Node: mc.Node, Seq: cp.Seq,
				Detail: "a signed checkpoint contradicts the chain head in the manifest"})
		}
	}
	v.chains[mc.Node] = c
	v.order = append(v.order, c)
	v.r.Chains = append(v.r.Chains, cr)
}

// entry checks one entry read from line. canonical says whether the line is
// byte for byte what Export writes for the entry read from it.
func (v *exportVerifier) entry(line int, x *exported, canonical bool) {
	v.r.Entries++
	p := ExportProblem{Line: line, Node: x.Node, Seq: x.Seq}
	fail := func(k ProblemKind, detail string) {
		p.Kind, p.Detail = k, detail
		v.problem(p)
	}
	c := v.chains[x.Node]
	if c == nil {
		fail(UnexpectedEntry, "the manifest has no such chain")
		return
	}
	last, lastSeq, haveLast := c.lastHash, c.lastSeq, c.haveLast
	c.lastHash, c.lastSeq, c.haveLast = x.Hash, x.Seq, true
	if !inRanges(c.mc.Ranges, x.Seq) {
		fail(UnexpectedEntry, "the manifest does not list this entry")
		return
	}
	c.seen = append(c.seen, x.Seq)
	switch {
	case ChainHash(x.Prev, x.Entry) != x.Hash:
		fail(HashMismatch, "the entry does not hash to its hash: a field was changed")
	case !canonical:
		fail(AlteredEntry, "the line is not written the way Export writes this entry")
	case haveLast && x.Seq <= lastSeq:
		fail(Reorder, fmt.Sprintf("seq %d comes after seq %d", x.Seq, lastSeq))
	case x.Seq == 1 && x.Prev != [32]byte{}:
		fail(BrokenLink, "the first entry of a chain must have a zero prev")
	case haveLast && x.Seq == lastSeq+1 && x.Prev != last:
		fail(BrokenLink, fmt.Sprintf("prev is not the hash of seq %d", lastSeq))
	case c.cps[x.Seq] != [32]byte{} && c.cps[x.Seq] != x.Hash:
		fail(CheckpointMismatch, "the hash differs from the signed checkpoint at this seq")
	case x.Seq == c.mc.HeadSeq && x.Hash != c.mc.Head:
		fail(HeadMismatch, "the hash differs from the chain head in the manifest")
	case !v.m.Filter.match(&x.Entry) && !v.filterReported:
		// Once: if one entry is outside, the manifest's filter is likely
		// wrong for them all.
		v.filterReported = true
		fail(OutsideFilter, "the entry does not match the export's filter")
	}
}

// missing reports the first seq of each run the manifest lists but the file
// does not hold.
func (v *exportVerifier) missing(c *exportChain) {
	slices.Sort(c.seen)
	seen := slices.Compact(c.seen)
	i := 0
	for _, rg := range c.mc.Ranges {
		for s := rg[0]; s <= rg[1]; {
			for i < len(seen) && seen[i] < s {
				i++
			}
			if i < len(seen) && seen[i] == s {
				s++
				continue
			}
			end := rg[1]
			if i < len(seen) && seen[i] <= rg[1] {
				end = seen[i] - 1
			}
			v.problem(ExportProblem{Kind: MissingEntry, Node: c.mc.Node, Seq: s,
				Detail: fmt.Sprintf("seqs %d to %d are in the manifest but not in the file", s, end)})
			if end == rg[1] {
				break
			}
			s = end + 1
		}
	}
}

func inRanges(rs [][2]uint64, seq uint64) bool {
	i, _ := slices.BinarySearchFunc(rs, seq, func(r [2]uint64, s uint64) int {
		switch {
		case r[1] < s:
			return -1
		case r[0] > s:
			return 1
		}
		return 0
	})
	return i < len(rs) && rs[i][0] <= seq && seq <= rs[i][1]
}

// eachLine calls fn with every line of r (without its newline; complete is
// false for a last line without one, or a line cut at maxLine).
func eachLine(r io.Reader, fn func(n int, line []byte, complete bool)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte // a line longer than br's buffer, so far
	for n := 1; ; {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long) <= maxLine {
				long = append(long, chunk...)
			}
			continue
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		switch {
		case len(line) > maxLine:
			fn(n, line[:maxLine], false)
		case err == nil:
			fn(n, line[:len(line)-1], true)
		case len(line) > 0:
			fn(n, line, false)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		n++
	}
}

func (v *exportVerifier) malformed(line int, detail string) {
	v.problem(ExportProblem{Kind: MalformedEntry, Line: line, Detail: detail})
}

func (v *exportVerifier) readJSONL(r io.Reader) error {
	return eachLine(r, func(n int, line []byte, complete bool) {
		var j jsonlLine
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&j); err != nil || dec.More() {
			v.malformed(n, "not a JSON object with the fields of an entry")
			return
		}
		x := exported{Entry: Entry{Node: j.Node, Seq: j.Seq, User: j.User, Action: j.Action, Patient: j.Patient,
			Outcome: j.Outcome, Detail: j.Detail, Grant: j.Grant}}
		var err error
		if x.Time, err = parseTime(j.Time); err != nil || decodeHash(&x.Hash, j.Hash) != nil || decodeHash(&x.Prev, j.Prev) != nil {
			v.malformed(n, "bad time, hash or prev")
			return
		}
		enc, err := encodeJSONL(&x)
		v.entry(n, &x, err == nil && complete && bytes.Equal(enc[:len(enc)-1], line))
	})
}

func (v *exportVerifier) readCSV(r io.Reader) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(csvHeader)
	cr.ReuseRecord = true
	for n := 0; ; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		line, _ := cr.FieldPos(0)
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			// encoding/csv cannot reliably resynchronize after a broken
			// quote: stop here; the digest check covers the rest.
			v.malformed(perr.StartLine, "not a CSV record of 11 fields")
			return nil
		}
		if err != nil {
			return err
		}
		if n == 0 {
			if !slices.Equal(rec, csvHeader) {
				v.malformed(line, "the header row is not "+fmt.Sprint(csvHeader))
			}
			continue
		}
		x := exported{Entry: Entry{Node: csvValue(rec[0]), User: csvValue(rec[3]), Action: csvValue(rec[4]),
			Patient: csvValue(rec[5]), Outcome: csvValue(rec[6]), Detail: csvValue(rec[7]), Grant: csvValue(rec[8])}}
		var err1, err2 error
		x.Seq, err1 = strconv.ParseUint(rec[1], 10, 64)
		x.Time, err2 = parseTime(rec[2])
		if err1 != nil || err2 != nil || decodeHash(&x.Hash, rec[9]) != nil || decodeHash(&x.Prev, rec[10]) != nil {
			v.malformed(line, "bad seq, time, hash or prev")
			continue
		}
		v.entry(line, &x, slices.Equal(csvRecord(&x), rec))
	}
}

func (v *exportVerifier) readFHIR(r io.Reader) error {
	header := fhirHeader(v.m.Created)
	var (
		state      = 0 // 0: header next, 1: entries, 2: after "]}", 3: nothing more allowed
		lastComma  = true
		lastLine   int
		reportedAt = -1
	)
	bad := func(n int, detail string) {
		if reportedAt != n {
			v.malformed(n, detail)
			reportedAt = n
		}
	}
	err := eachLine(r, func(n int, line []byte, complete bool) {
		lastLine = n
		if !complete {
			bad(n, "the line has no newline at its end, or is too long")
		}
		switch state {
		case 0:
			switch string(line) {
			case header + fhirOpen:
				state = 1
			case header + "}":
				state = 3
			default:
				bad(n, "not the Bundle header Export writes")
				state = 1
			}
		case 1:
			if string(line) == fhirClose {
				if lastComma {
					bad(n, "the entry array ends after a comma")
				}
				state = 3
				return
			}
			if !lastComma {
				bad(n-1, "an entry line without a comma is not the last")
			}
			body, comma := bytes.CutSuffix(line, []byte(","))
			lastComma = comma
			x, err := fromFHIR(body)
			if err != nil {
				bad(n, "not an AuditEvent entry as Export writes it: "+err.Error())
				return
			}
			enc, err := encodeFHIREntry(&x)
			v.entry(n, &x, err == nil && bytes.Equal(enc, body))
		default:
			bad(n, "data after the end of the Bundle")
		}
	})
	if err == nil && state != 3 && lastLine > 0 {
		bad(lastLine, "the Bundle does not end with ]}")
	}
	if err == nil && lastLine == 0 {
		bad(1, "the file is empty")
	}
	return err
}
