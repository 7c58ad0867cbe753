package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Format is an export file format.
type Format string

const (
	JSONL Format = "jsonl" // one JSON object per line
	CSV   Format = "csv"   // RFC 4180, header row, CRLF
	FHIR  Format = "fhir"  // FHIR R4 Bundle (collection) of AuditEvent, one entry per line
)

func (f Format) valid() bool { return f == JSONL || f == CSV || f == FHIR }

// Filter selects entries to export. Zero values select everything: From is
// inclusive, To exclusive.
type Filter struct {
	From, To time.Time
	User     string
	Patient  string
}

func (f Filter) match(e *Entry) bool {
	return (f.From.IsZero() || !e.Time.Before(f.From)) && (f.To.IsZero() || e.Time.Before(f.To)) &&
		(f.User == "" || e.User == f.User) && (f.Patient == "" || e.Patient == f.Patient)
}

// Signer is the exporting workstation: it signs the manifest.
type Signer struct {
	Node string
	Key  ed25519.PrivateKey
}

// exported is an entry as it appears in an export: with the hash of the
// entry before it, so each entry's hash can be recomputed without the
// database.
type exported struct {
	Entry
	Prev [32]byte
}

// Export writes the entries matching flt, ordered by node then seq, to w in
// format f, and returns the signed manifest describing the file (write it
// beside the file with WriteManifest). keys must hold the public key of every
// exported chain; the manifest carries them for the verifier.
//
// Export reads the chain heads first and exports nothing beyond them, so the
// manifest and the file describe one moment. It checks that every exported
// entry hashes to its stored hash; it does not verify whole chains (run Verify
// for that). On error, what was written to w must be discarded.
func Export(ctx context.Context, db DBTX, w io.Writer, f Format, flt Filter, signer Signer, keys Keys) (Manifest, error) {
	if !f.valid() {
		return Manifest{}, fmt.Errorf("audit: unknown export format %q", string(f))
	}
	if err := checkNode(signer.Node); err != nil {
		return Manifest{}, fmt.Errorf("audit: exporting node: %w", err)
	}
	if len(signer.Key) != ed25519.PrivateKeySize {
		return Manifest{}, errors.New("audit: exporting node has no valid Ed25519 signing key")
	}
	nodes, err := chainNodes(ctx, db)
	if err != nil {
		return Manifest{}, err
	}
	// Checkpoints before heads before entries: whatever commits meanwhile,
	// every checkpoint read is at or below the head read.
	cps := map[string][]Checkpoint{}
	for _, n := range nodes {
		if cps[n], err = loadCheckpoints(ctx, db, n, 0, 1<<63-1); err != nil {
			return Manifest{}, err
		}
	}
	heads := map[string]head{}
	for _, n := range nodes {
		if heads[n], err = readHead(ctx, db, n); err != nil {
			return Manifest{}, err
		}
	}

	m := Manifest{
		Version: ManifestVersion, Format: f, Filter: flt.normalized(), Created: time.Now().UTC().Round(0),
		Exporter: signer.Node, ExporterKey: signer.Key.Public().(ed25519.PublicKey), Chains: []ManifestChain{},
	}
	digest := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, digest), 64<<10)
	enc, err := newEncoder(f, bw, m.Created)
	if err != nil {
		return Manifest{}, err
	}

	q, args := exportQuery(flt)
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return Manifest{}, fmt.Errorf("audit: export: %w", err)
	}
	defer rows.Close()
	var chain *ManifestChain
	for rows.Next() {
		var (
			x             exported
			seq, at       int64
			hash, prevRaw []byte
		)
		if err := rows.Scan(&x.Node, &seq, &at, &x.User, &x.Action, &x.Patient, &x.Outcome, &x.Detail, &x.Grant, &hash, &prevRaw); err != nil {
			return Manifest{}, fmt.Errorf("audit: export: %w", err)
		}
		h, ok := heads[x.Node]
		if !ok || seq < 1 || uint64(seq) > h.seq {
			continue // appended after the heads were read
		}
		x.Seq, x.Time = uint64(seq), time.Unix(0, at).UTC()
		if x.Seq > 1 {
			if len(prevRaw) != 32 {
				return Manifest{}, fmt.Errorf("audit: export: chain %q has no valid entry at seq %d; run audit verify", x.Node, x.Seq-1)
			}
			x.Prev = [32]byte(prevRaw)
		}
		if len(hash) != 32 || ChainHash(x.Prev, x.Entry) != [32]byte(hash) {
			return Manifest{}, fmt.Errorf("audit: export: chain %q is damaged at seq %d; run audit verify", x.Node, x.Seq)
		}
		x.Hash = [32]byte(hash)
		if chain == nil || chain.Node != x.Node {
			pub := keys[x.Node]
			if len(pub) != ed25519.PublicKeySize {
				return Manifest{}, fmt.Errorf("audit: export: no public key is known for chain %q", x.Node)
			}
			m.Chains = append(m.Chains, ManifestChain{Node: x.Node, PublicKey: pub, FirstSeq: x.Seq, HeadSeq: h.seq, Head: h.hash})
			chain = &m.Chains[len(m.Chains)-1]
		}
		chain.add(x.Seq)
		m.Entries++
		if err := enc.write(&x); err != nil {
			return Manifest{}, fmt.Errorf("audit: export chain %q seq %d: %w", x.Node, x.Seq, err)
		}
	}
	if err := rows.Err(); err != nil {
		return Manifest{}, fmt.Errorf("audit: export: %w", err)
	}
	if err := enc.close(); err != nil {
		return Manifest{}, fmt.Errorf("audit: export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return Manifest{}, fmt.Errorf("audit: export: %w", err)
	}
	copy(m.SHA256[:], digest.Sum(nil))

	for i := range m.Chains {
		c := &m.Chains[i]
		// Checkpoints inside the range can be checked entry by entry; the
		// newest one beyond it signs how far the chain reached.
		all := cps[c.Node]
		for j, cp := range all {
			if cp.Seq >= c.FirstSeq && cp.Seq <= c.LastSeq || cp.Seq > c.LastSeq && j == len(all)-1 {
				c.Checkpoints = append(c.Checkpoints, cp)
			}
		}
	}
	if err := m.sign(signer.Key); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// exportQuery selects entries matching flt with the hash of the entry before
// each. Only the set filters become conditions, so SQLite can use the
// matching index (audit_by_time, audit_by_user, audit_by_patient).
func exportQuery(flt Filter) (string, []any) {
	where, args := exportFilter(flt)
	q := `SELECT e.node, e.seq, e.at, e.user_id, e.action, e.patient_id, e.outcome, e.detail, e.grant_id, e.hash,
		(SELECT p.hash FROM audit_entries p WHERE p.node = e.node AND p.seq = e.seq - 1)
		FROM audit_entries e`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return q + " ORDER BY e.node, e.seq", args
}

// exportFilter is flt as SQL conditions on audit_entries e.
func exportFilter(flt Filter) (where []string, args []any) {
	if !flt.From.IsZero() {
		where, args = append(where, "e.at >= ?"), append(args, timeBound(flt.From))
	}
	if !flt.To.IsZero() {
		where, args = append(where, "e.at < ?"), append(args, timeBound(flt.To))
	}
	if flt.User != "" {
		where, args = append(where, "e.user_id = ?"), append(args, flt.User)
	}
	if flt.Patient != "" {
		where, args = append(where, "e.patient_id = ?"), append(args, flt.Patient)
	}
	return where, args
}

func timeBound(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return minTime.UnixNano()
	case t.After(maxTime):
		return maxTime.UnixNano()
	}
	return t.UnixNano()
}

// add records seq as exported; seqs arrive in increasing order.
func (c *ManifestChain) add(seq uint64) {
	if n := len(c.Ranges); n > 0 && c.Ranges[n-1][1]+1 == seq {
		c.Ranges[n-1][1] = seq
	} else {
		c.Ranges = append(c.Ranges, [2]uint64{seq, seq})
	}
	c.LastSeq = seq
	c.Entries++
}

// encoder writes one export format.
type encoder interface {
	write(x *exported) error
	close() error
}

func newEncoder(f Format, w io.Writer, created time.Time) (encoder, error) {
	switch f {
	case JSONL:
		return &jsonlEncoder{w: w}, nil
	case CSV:
		e := &csvEncoder{w: csv.NewWriter(w)}
		e.w.UseCRLF = true
		return e, e.w.Write(csvHeader)
	case FHIR:
		return newFHIREncoder(w, created)
	}
	return nil, fmt.Errorf("audit: unknown export format %q", string(f))
}

// jsonlLine is one JSON Lines record; field order is part of the format.
type jsonlLine struct {
	Node    string `json:"node"`
	Seq     uint64 `json:"seq"`
	Time    string `json:"time"`
	User    string `json:"user"`
	Action  string `json:"action"`
	Patient string `json:"patient"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail"`
	Grant   string `json:"grant"`
	Hash    string `json:"hash"`
	Prev    string `json:"prev"`
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// parseTime reads what formatTime wrote; the re-encoding check in
// VerifyExport rejects any other spelling of the same instant.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, errors.New("bad time")
	}
	return t.UTC(), nil
}

// marshal is json.Marshal without HTML escaping (<, >, & stay as they are in
// the data) and without the trailing newline.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func encodeJSONL(x *exported) ([]byte, error) {
	b, err := marshal(jsonlLine{
		Node: x.Node, Seq: x.Seq, Time: formatTime(x.Time), User: x.User, Action: x.Action, Patient: x.Patient,
		Outcome: x.Outcome, Detail: x.Detail, Grant: x.Grant, Hash: hex.EncodeToString(x.Hash[:]), Prev: hex.EncodeToString(x.Prev[:]),
	})
	return append(b, '\n'), err
}

type jsonlEncoder struct{ w io.Writer }

func (e *jsonlEncoder) write(x *exported) error {
	b, err := encodeJSONL(x)
	if err != nil {
		return err
	}
	_, err = e.w.Write(b)
	return err
}

func (e *jsonlEncoder) close() error { return nil }

var csvHeader = []string{"node", "seq", "time", "user", "action", "patient", "outcome", "detail", "grant", "hash", "prev"}

// csvCell guards against formula injection: a spreadsheet runs a cell that
// starts with = + - @ (or TAB/CR, OWASP). Such a cell, and one starting with
// the quote itself so the rule stays reversible, gets one leading '. A reader
// removes exactly one leading ' from every cell (csvValue).
func csvCell(v string) string {
	if v != "" && strings.IndexByte("=+-@\t\r'", v[0]) >= 0 {
		return "'" + v
	}
	return v
}

func csvValue(cell string) string { return strings.TrimPrefix(cell, "'") }

func csvRecord(x *exported) []string {
	return []string{
		csvCell(x.Node), strconv.FormatUint(x.Seq, 10), formatTime(x.Time), csvCell(x.User), csvCell(x.Action),
		csvCell(x.Patient), csvCell(x.Outcome), csvCell(x.Detail), csvCell(x.Grant),
		hex.EncodeToString(x.Hash[:]), hex.EncodeToString(x.Prev[:]),
	}
}

type csvEncoder struct{ w *csv.Writer }

func (e *csvEncoder) write(x *exported) error {
	// encoding/csv cannot carry a CR inside a field (it writes CRLF for LF
	// and drops CR). Append never stores one; a replicated or edited entry
	// might.
	for _, v := range []string{x.Node, x.User, x.Action, x.Patient, x.Outcome, x.Detail, x.Grant} {
		if strings.IndexByte(v, '\r') >= 0 {
			return errors.New("a field holds a carriage return, which CSV cannot carry; export as jsonl")
		}
	}
	return e.w.Write(csvRecord(x))
}

func (e *csvEncoder) close() error {
	e.w.Flush()
	return e.w.Error()
}
