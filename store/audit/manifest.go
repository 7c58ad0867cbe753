package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// ManifestVersion is the "version" of every manifest this package writes.
const ManifestVersion = "ward-audit-export/v1"

// manifestDomain starts the message the manifest signature covers, so a node
// key signature over a manifest is never one over a checkpoint or segment.
const manifestDomain = "ward-audit-manifest/v1\n"

// maxManifestSize bounds what VerifyExport reads as a manifest. Ranges make
// a manifest grow with the export (≈ 20 bytes per non-adjacent entry).
const maxManifestSize = 256 << 20

// Manifest describes an export file; it is written beside it as
// FILE.manifest.json (docs/formats.md, "Audit export and manifest").
type Manifest struct {
	Version     string
	Format      Format
	Filter      Filter
	Created     time.Time
	Exporter    string            // node id of the exporting workstation
	ExporterKey ed25519.PublicKey // its key; signs the manifest
	Entries     uint64
	SHA256      [32]byte // of the export file's bytes
	Chains      []ManifestChain
	Signature   []byte
}

// ManifestChain describes the exported entries of one chain.
type ManifestChain struct {
	Node        string
	PublicKey   ed25519.PublicKey
	FirstSeq    uint64
	LastSeq     uint64
	Entries     uint64
	Ranges      [][2]uint64 // exported seqs, as sorted inclusive ranges
	HeadSeq     uint64      // the chain's head when exported
	Head        [32]byte
	Checkpoints []Checkpoint // those in [FirstSeq, LastSeq], and the newest beyond
}

// Wire form. Members appear in this order; hashes are lowercase hex, keys
// and signatures standard base64, times RFC 3339 UTC.
type manifestJSON struct {
	Version   string      `json:"version"`
	Format    string      `json:"format"`
	Filter    filterJSON  `json:"filter"`
	Created   string      `json:"created"`
	Exporter  nodeKeyJSON `json:"exporter"`
	Entries   uint64      `json:"entries"`
	SHA256    string      `json:"sha256"`
	Chains    []chainJSON `json:"chains"`
	Signature string      `json:"signature,omitempty"`
}

type filterJSON struct {
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	User    string `json:"user,omitempty"`
	Patient string `json:"patient,omitempty"`
}

type nodeKeyJSON struct {
	Node      string `json:"node"`
	PublicKey string `json:"public_key"`
}

type chainJSON struct {
	Node        string           `json:"node"`
	PublicKey   string           `json:"public_key"`
	FirstSeq    uint64           `json:"first_seq"`
	LastSeq     uint64           `json:"last_seq"`
	Entries     uint64           `json:"entries"`
	Ranges      [][2]uint64      `json:"ranges"`
	Head        headJSON         `json:"head"`
	Checkpoints []checkpointJSON `json:"checkpoints"`
}

type headJSON struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

type checkpointJSON struct {
	Seq       uint64 `json:"seq"`
	Head      string `json:"head"`
	Time      string `json:"time"`
	Signature string `json:"signature"`
}

// normalized drops what a manifest cannot carry: monotonic clock readings and
// time zones.
func (f Filter) normalized() Filter {
	if !f.From.IsZero() {
		f.From = f.From.UTC().Round(0)
	}
	if !f.To.IsZero() {
		f.To = f.To.UTC().Round(0)
	}
	return f
}

func (m *Manifest) wire() manifestJSON {
	w := manifestJSON{
		Version: m.Version, Format: string(m.Format), Created: formatTime(m.Created),
		Filter:   filterJSON{User: m.Filter.User, Patient: m.Filter.Patient},
		Exporter: nodeKeyJSON{Node: m.Exporter, PublicKey: base64.StdEncoding.EncodeToString(m.ExporterKey)},
		Entries:  m.Entries, SHA256: hex.EncodeToString(m.SHA256[:]), Chains: []chainJSON{},
		Signature: base64.StdEncoding.EncodeToString(m.Signature),
	}
	if !m.Filter.From.IsZero() {
		w.Filter.From = formatTime(m.Filter.From)
	}
	if !m.Filter.To.IsZero() {
		w.Filter.To = formatTime(m.Filter.To)
	}
	for _, c := range m.Chains {
		cj := chainJSON{
			Node: c.Node, PublicKey: base64.StdEncoding.EncodeToString(c.PublicKey),
			FirstSeq: c.FirstSeq, LastSeq: c.LastSeq, Entries: c.Entries, Ranges: c.Ranges,
			Head:        headJSON{Seq: c.HeadSeq, Hash: hex.EncodeToString(c.Head[:])},
			Checkpoints: []checkpointJSON{},
		}
		if cj.Ranges == nil {
			cj.Ranges = [][2]uint64{}
		}
		for _, cp := range c.Checkpoints {
			cj.Checkpoints = append(cj.Checkpoints, checkpointJSON{
				Seq: cp.Seq, Head: hex.EncodeToString(cp.Head[:]), Time: formatTime(cp.Time),
				Signature: base64.StdEncoding.EncodeToString(cp.Signature),
			})
		}
		w.Chains = append(w.Chains, cj)
	}
	return w
}

// signedBytes is the message the manifest signature covers:
// manifestDomain || JCS(manifest without its "signature" member).
func signedBytes(raw []byte) ([]byte, error) {
	c, err := canonicalJSON(raw, "signature")
	if err != nil {
		return nil, err
	}
	return append([]byte(manifestDomain), c...), nil
}

func (m *Manifest) sign(key ed25519.PrivateKey) error {
	m.Signature = nil
	raw, err := json.Marshal(m.wire())
	if err != nil {
		return err
	}
	msg, err := signedBytes(raw)
	if err != nil {
		return err
	}
	m.Signature = ed25519.Sign(key, msg)
	return nil
}

// WriteManifest writes m as indented JSON (the signature does not depend on
// the layout: it covers the canonical form).
func WriteManifest(w io.Writer, m Manifest) error {
	b, err := json.MarshalIndent(m.wire(), "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadManifest parses a manifest strictly: unknown members, a version other
// than ManifestVersion, malformed values are errors. It does not check the
// signature; VerifyExport does.
func ReadManifest(r io.Reader) (Manifest, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxManifestSize+1))
	if err != nil {
		return Manifest{}, err
	}
	m, _, err := parseManifest(raw)
	return m, err
}

var errManifestVersion = errors.New("audit: the manifest is not a " + ManifestVersion + " manifest")

// parseManifest also returns the message the manifest's signature must cover.
func parseManifest(raw []byte) (Manifest, []byte, error) {
	if len(raw) > maxManifestSize {
		return Manifest{}, nil, errors.New("audit: manifest is too large")
	}
	if !utf8.Valid(raw) {
		return Manifest{}, nil, errors.New("audit: manifest is not UTF-8")
	}
	// Reading the canonical form first also rejects what JSON readers
	// disagree on: duplicate members, numbers that are not plain integers.
	msg, err := signedBytes(raw)
	if err != nil {
		return Manifest{}, nil, fmt.Errorf("audit: manifest: %w", err)
	}
	m, err := parseManifestFields(raw)
	return m, msg, err
}

func parseManifestFields(raw []byte) (Manifest, error) {
	var m Manifest
	var probe struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(raw, &probe) != nil || probe.Version != ManifestVersion {
		return m, errManifestVersion
	}
	var w manifestJSON
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return m, fmt.Errorf("audit: manifest: %w", err)
	}
	if dec.More() {
		return m, errors.New("audit: manifest: data after the JSON object")
	}
	bad := func(what string) (Manifest, error) { return Manifest{}, errors.New("audit: manifest: bad " + what) }
	m = Manifest{Version: w.Version, Format: Format(w.Format), Exporter: w.Exporter.Node, Entries: w.Entries,
		Filter: Filter{User: w.Filter.User, Patient: w.Filter.Patient}}
	var err error
	if m.Created, err = parseTime(w.Created); err != nil {
		return bad("created time")
	}
	if w.Filter.From != "" {
		if m.Filter.From, err = parseTime(w.Filter.From); err != nil {
			return bad("filter time")
		}
	}
	if w.Filter.To != "" {
		if m.Filter.To, err = parseTime(w.Filter.To); err != nil {
			return bad("filter time")
		}
	}
	if m.ExporterKey, err = decodeKey(w.Exporter.PublicKey); err != nil || checkNode(m.Exporter) != nil {
		return bad("exporter")
	}
	if decodeHash(&m.SHA256, w.SHA256) != nil {
		return bad("sha256")
	}
	if m.Signature, err = base64.StdEncoding.DecodeString(w.Signature); err != nil || len(m.Signature) != ed25519.SignatureSize {
		return bad("signature encoding")
	}
	var total uint64
	for i, cj := range w.Chains {
		c := ManifestChain{Node: cj.Node, FirstSeq: cj.FirstSeq, LastSeq: cj.LastSeq, Entries: cj.Entries,
			Ranges: cj.Ranges, HeadSeq: cj.Head.Seq}
		if i > 0 && cj.Node <= w.Chains[i-1].Node {
			return bad("chain order")
		}
		if c.PublicKey, err = decodeKey(cj.PublicKey); err != nil {
			return bad("chain public key")
		}
		if decodeHash(&c.Head, cj.Head.Hash) != nil {
			return bad("chain head")
		}
		if !rangesValid(&c) {
			return bad("chain ranges")
		}
		total += c.Entries
		for _, cpj := range cj.Checkpoints {
			cp := Checkpoint{Node: c.Node, Seq: cpj.Seq}
			if decodeHash(&cp.Head, cpj.Head) != nil {
				return bad("checkpoint head")
			}
			if cp.Time, err = parseTime(cpj.Time); err != nil {
				return bad("checkpoint time")
			}
			if cp.Signature, err = base64.StdEncoding.DecodeString(cpj.Signature); err != nil {
				return bad("checkpoint signature encoding")
			}
			if n := len(c.Checkpoints); n > 0 && cp.Seq <= c.Checkpoints[n-1].Seq {
				return bad("checkpoint order")
			}
			c.Checkpoints = append(c.Checkpoints, cp)
		}
		m.Chains = append(m.Chains, c)
	}
	if total != m.Entries {
		return bad("entry count")
	}
	return m, nil
}

// rangesValid checks that ranges are sorted, disjoint, not adjacent (Export
// merges adjacent seqs), span [FirstSeq, LastSeq], count Entries and stay at
// or below the head.
func rangesValid(c *ManifestChain) bool {
	if len(c.Ranges) == 0 || c.Ranges[0][0] != c.FirstSeq || c.Ranges[len(c.Ranges)-1][1] != c.LastSeq ||
		c.LastSeq > c.HeadSeq || c.FirstSeq < 1 {
		return false
	}
	var n uint64
	for i, r := range c.Ranges {
		if r[0] > r[1] || i > 0 && r[0] <= c.Ranges[i-1][1]+1 {
			return false
		}
		n += r[1] - r[0] + 1
	}
	return n == c.Entries
}

func decodeKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("bad key")
	}
	return ed25519.PublicKey(b), nil
}

// canonicalJSON returns the JSON Canonicalization Scheme (RFC 8785) form of
// raw, without the top-level member drop. Only what a manifest holds is
// accepted: objects, arrays, strings, booleans, null and integers of at most
// 2^53-1 in magnitude (so every reader agrees on them); duplicate member
// names are errors.
func canonicalJSON(raw []byte, drop string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out bytes.Buffer
	if err := jcsValue(dec, &out, drop, 0); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return out.Bytes(), nil
}

const maxJSONDepth = 32

func jcsValue(dec *json.Decoder, out *bytes.Buffer, drop string, depth int) error {
	if depth > maxJSONDepth {
		return errors.New("JSON nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return errors.New("malformed JSON")
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return jcsObject(dec, out, drop, depth)
		case '[':
			out.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out.WriteByte(',')
				}
				if err := jcsValue(dec, out, "", depth+1); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return errors.New("malformed JSON")
			}
			out.WriteByte(']')
			return nil
		}
		return errors.New("malformed JSON")
	case string:
		jcsString(out, t)
	case json.Number:
		n, err := strconv.ParseInt(string(t), 10, 64)
		if err != nil || n > 1<<53-1 || n < -(1<<53-1) || strconv.FormatInt(n, 10) != string(t) && string(t) != "-0" {
			return errors.New("a number that is not a plain integer below 2^53")
		}
		out.WriteString(strconv.FormatInt(n, 10))
	case bool:
		out.WriteString(strconv.FormatBool(t))
	case nil:
		out.WriteString("null")
	}
	return nil
}

func jcsObject(dec *json.Decoder, out *bytes.Buffer, drop string, depth int) error {
	type member struct {
		name string
		val  []byte
	}
	var ms []member
	names := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		name, ok := tok.(string)
		if err != nil || !ok {
			return errors.New("malformed JSON")
		}
		var v bytes.Buffer
		if err := jcsValue(dec, &v, "", depth+1); err != nil {
			return err
		}
		if names[name] {
			return errors.New("duplicate member " + strconv.Quote(name))
		}
		names[name] = true
		if drop == "" || name != drop {
			ms = append(ms, member{name, v.Bytes()})
		}
	}
	if _, err := dec.Token(); err != nil {
		return errors.New("malformed JSON")
	}
	// RFC 8785 sorts member names by their UTF-16 code units.
	slices.SortFunc(ms, func(a, b member) int {
		return slices.Compare(utf16.Encode([]rune(a.name)), utf16.Encode([]rune(b.name)))
	})
	out.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			out.WriteByte(',')
		}
		jcsString(out, m.name)
		out.WriteByte(':')
		out.Write(m.val)
	}
	out.WriteByte('}')
	return nil
}

// jcsString writes s as ECMAScript's JSON.stringify does (RFC 8785 §3.2.2.2):
// only ", \ and control characters are escaped.
func jcsString(out *bytes.Buffer, s string) {
	out.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			out.WriteByte('\\')
			out.WriteByte(c)
		case c >= 0x20:
			out.WriteByte(c)
		case c == '\b':
			out.WriteString(`\b`)
		case c == '\t':
			out.WriteString(`\t`)
		case c == '\n':
			out.WriteString(`\n`)
		case c == '\f':
			out.WriteString(`\f`)
		case c == '\r':
			out.WriteString(`\r`)
		default:
			out.WriteString(`\u00`)
			out.WriteByte("0123456789abcdef"[c>>4])
			out.WriteByte("0123456789abcdef"[c&15])
		}
	}
	out.WriteByte('"')
}
