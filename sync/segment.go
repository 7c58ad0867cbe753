package sync

import (
	"bytes"
	"compress/flate"
	"crypto/cipher"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"ward/store"
	"ward/store/audit"
)

// The segment file, ward-seg/v1 (docs/formats.md, "Change-set segment"):
//
//	magic "ward-seg/v1\n" || header || u32 len(ciphertext) || ciphertext || signature[64]
//	header     = u16 len(origin) || origin || u64 segment
//	             || u64 change_first || u64 change_last || u64 audit_first || u64 audit_last
//	             || i64 created (unix ns) || u8 flags || nonce[24]
//	ciphertext = XChaCha20-Poly1305(key, nonce, body, aad = magic || header)
//	signature  = Ed25519(origin's node key, everything before it)
//
// key = HKDF-SHA256(clinic key, "ward-segment/v1"). body is DEFLATE-
// compressed (flags bit 0) records: changes, then audit entries, then
// checkpoints (see encodeBody).

// Magic starts every segment file; a new layout is a new magic.
const Magic = "ward-seg/v1\n"

// Limits a reader enforces before trusting anything.
const (
	MaxSegmentFile = 64 << 20 // a whole file
	maxBody        = 64 << 20 // a body after decompression
	maxNodeID      = 64
	flagDeflate    = 1
	nonceSize      = chacha20poly1305.NonceSizeX
	sigSize        = ed25519.SignatureSize
)

// Header is the clear part of a segment: who made it and which ranges of
// its change log and audit chain it carries. A range is first..last; an
// empty one has last = first - 1.
type Header struct {
	Origin      string
	Segment     uint64 // 1, 2, 3, … per origin: the file is <segment:020>.wseg
	ChangeFirst uint64
	ChangeLast  uint64
	AuditFirst  uint64
	AuditLast   uint64
	Created     time.Time
	Flags       uint8
	Nonce       [nonceSize]byte
}

// Body is what a segment carries, all from its origin.
type Body struct {
	Changes     []store.Change
	Audit       []audit.Entry
	Checkpoints []audit.Checkpoint
}

// FileName is the name of segment n in its folder.
func FileName(n uint64) string { return fmt.Sprintf("%020d.wseg", n) }

// parseFileName reads n back from a segment's file name (ok false for any
// other name: temp files, Syncthing's own files).
func parseFileName(name string) (uint64, bool) {
	if len(name) != 25 || name[20:] != ".wseg" {
		return 0, false
	}
	var n uint64
	for _, c := range name[:20] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n > 0
}

func (h *Header) marshal() []byte {
	b := make([]byte, 0, len(Magic)+2+len(h.Origin)+6*8+1+nonceSize)
	b = append(b, Magic...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.Origin)))
	b = append(b, h.Origin...)
	for _, v := range []uint64{h.Segment, h.ChangeFirst, h.ChangeLast, h.AuditFirst, h.AuditLast, uint64(h.Created.UnixNano())} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	b = append(b, h.Flags)
	return append(b, h.Nonce[:]...)
}

// FormatError is a segment (or snapshot) file that is not well formed:
// truncated, a wrong magic, a bad length, a body that does not decode.
type FormatError struct{ What string }

func (e *FormatError) Error() string {
	return "the file is damaged or not a Ward replica file: " + e.What
}

func formatErr(format string, a ...any) error { return &FormatError{fmt.Sprintf(format, a...)} }

// reader reads big-endian fields from a byte slice, remembering the first
// overrun.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = formatErr("it ends too early")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8 {
	if v := r.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if v := r.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if v := r.take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (r *reader) str() string { return string(r.take(int(r.u32()))) }

// nodeOr is node when the record does not name one (a segment's records
// are all its origin's), else the node the record names (a snapshot's).
func (r *reader) nodeOr(node string) string {
	if node != "" {
		return node
	}
	return r.str()
}

func appendStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// validNodeID: what a node id looks like (store.NodeID: base32, lower case).
func validNodeID(s string) bool {
	if len(s) == 0 || len(s) > maxNodeID {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// ParseHeader reads a segment's header and returns it with the signed
// bytes, the ciphertext and the signature, all slices of file. Nothing is
// verified beyond the layout.
func ParseHeader(file []byte) (h Header, signed, ciphertext, sig []byte, err error) {
	if len(file) > MaxSegmentFile {
		return h, nil, nil, nil, formatErr("it is larger than %d MiB", MaxSegmentFile>>20)
	}
	if !bytes.HasPrefix(file, []byte(Magic)) {
		return h, nil, nil, nil, formatErr("it does not start with %q", Magic[:len(Magic)-1])
	}
	r := &reader{b: file[len(Magic):]}
	h = readHeaderFields(r)
	n := r.u32()
	if r.err != nil {
		return h, nil, nil, nil, r.err
	}
	headerEnd := len(file) - len(r.b)
	switch {
	case !validNodeID(h.Origin):
		return h, nil, nil, nil, formatErr("its origin is not a node id")
	case h.Segment == 0:
		return h, nil, nil, nil, formatErr("its number is 0")
	case h.ChangeFirst == 0 || h.ChangeLast+1 < h.ChangeFirst || h.AuditFirst == 0 || h.AuditLast+1 < h.AuditFirst:
		return h, nil, nil, nil, formatErr("its ranges are impossible")
	case h.Flags&^flagDeflate != 0:
		return h, nil, nil, nil, formatErr("it uses features this Ward does not know (flags %#x)", h.Flags)
	case uint64(n) != uint64(len(r.b))-sigSize || len(r.b) < sigSize:
		return h, nil, nil, nil, formatErr("its length does not match its contents")
	}
	ciphertext = file[headerEnd : headerEnd+int(n)]
	return h, file[:headerEnd+int(n)], ciphertext, file[headerEnd+int(n):], nil
}

// readHeaderFields reads the header after the magic.
func readHeaderFields(r *reader) Header {
	var h Header
	h.Origin = string(r.take(int(r.u16())))
	h.Segment, h.ChangeFirst, h.ChangeLast = r.u64(), r.u64(), r.u64()
	h.AuditFirst, h.AuditLast = r.u64(), r.u64()
	h.Created = time.Unix(0, int64(r.u64()))
	h.Flags = r.u8()
	copy(h.Nonce[:], r.take(nonceSize))
	return h
}

// aead is XChaCha20-Poly1305 under a sub-key of the clinic key.
func aead(key []byte) (cipher.AEAD, error) { return chacha20poly1305.NewX(key) }

// seal builds a whole segment file: header, sealed body, signature.
func seal(h Header, body []byte, key []byte, sign func([]byte) ([]byte, error)) ([]byte, error) {
	c, err := aead(key)
	if err != nil {
		return nil, err
	}
	h.Flags = flagDeflate
	plain, err := deflate(body)
	if err != nil {
		return nil, err
	}
	hb := h.marshal()
	out := make([]byte, 0, len(hb)+4+len(plain)+16+sigSize)
	out = append(out, hb...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(plain)+c.Overhead()))
	out = c.Seal(out, h.Nonce[:], plain, hb)
	sig, err := sign(out)
	if err != nil {
		return nil, err
	}
	return append(out, sig...), nil
}

// open decrypts a segment's body (after its signature was checked) and
// decodes it against the header.
func open(h Header, signed, ciphertext, key []byte) (Body, error) {
	c, err := aead(key)
	if err != nil {
		return Body{}, err
	}
	hb := signed[:len(signed)-len(ciphertext)-4]
	plain, err := c.Open(nil, h.Nonce[:], ciphertext, hb)
	if err != nil {
		return Body{}, errUndecryptable
	}
	if h.Flags&flagDeflate != 0 {
		if plain, err = inflate(plain, maxBody); err != nil {
			return Body{}, err
		}
	}
	return decodeBody(h, plain)
}

// errUndecryptable: the clinic key does not open the body (another clinic's
// segment, or bytes changed after signing by the holder of the node key).
var errUndecryptable = errors.New("the segment cannot be decrypted with this clinic's key (it belongs to another clinic, or it was altered)")

func deflate(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func inflate(b []byte, limit int64) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(b))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, formatErr("its body does not decompress")
	}
	if int64(len(out)) > limit {
		return nil, formatErr("its body is larger than %d MiB", limit>>20)
	}
	return out, nil
}

// Record kinds of a body (and of a snapshot's chunks).
const (
	recChange     = 'C'
	recAudit      = 'A'
	recCheckpoint = 'K'
	recRow        = 'R' // snapshots only
	recPosition   = 'P' // snapshots only
)

// encodeBody lays out a segment's records: every change, then every audit
// entry, then every checkpoint. The origin is the header's, so records do
// not repeat it.
func encodeBody(b Body) []byte {
	var out []byte
	for _, c := range b.Changes {
		out = appendChange(out, c, false)
	}
	for _, e := range b.Audit {
		out = appendEntry(out, e, false)
	}
	for _, c := range b.Checkpoints {
		out = appendCheckpoint(out, c, false)
	}
	return out
}

// withOrigin: snapshots carry records of every node, so they name it.
func appendChange(b []byte, c store.Change, withOrigin bool) []byte {
	return appendRecord(b, recChange, named(c.Origin, withOrigin), []uint64{c.OriginSeq, c.HLC},
		c.Table, c.RowID, c.Op, c.Data, c.Row)
}

func appendEntry(b []byte, e audit.Entry, withNode bool) []byte {
	b = appendRecord(b, recAudit, named(e.Node, withNode), []uint64{e.Seq, uint64(e.Time.UnixNano())},
		e.User, e.Action, e.Patient, e.Outcome, e.Detail, e.Grant)
	return append(b, e.Hash[:]...)
}

func appendCheckpoint(b []byte, c audit.Checkpoint, withNode bool) []byte {
	b = append(appendRecord(b, recCheckpoint, named(c.Node, withNode), []uint64{c.Seq}), c.Head[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Time.UnixNano()))
	return appendStr(b, string(c.Signature))
}

// appendRecord lays out one record: its kind, its node when named (not
// empty), then the numbers and the strings.
func appendRecord(b []byte, kind byte, node string, nums []uint64, strs ...string) []byte {
	b = append(b, kind)
	if node != "" {
		b = appendStr(b, node)
	}
	for _, n := range nums {
		b = binary.BigEndian.AppendUint64(b, n)
	}
	for _, s := range strs {
		b = appendStr(b, s)
	}
	return b
}

func named(node string, with bool) string {
	if with {
		return node
	}
	return ""
}

func readChange(r *reader, origin string) store.Change {
	c := store.Change{Origin: r.nodeOr(origin)}
	c.OriginSeq, c.HLC = r.u64(), r.u64()
	c.Table, c.RowID, c.Op, c.Data, c.Row = r.str(), r.str(), r.str(), r.str(), r.str()
	return c
}

func readEntry(r *reader, node string) audit.Entry {
	e := audit.Entry{Node: r.nodeOr(node)}
	e.Seq = r.u64()
	e.Time = time.Unix(0, int64(r.u64())).UTC()
	e.User, e.Action, e.Patient, e.Outcome, e.Detail, e.Grant = r.str(), r.str(), r.str(), r.str(), r.str(), r.str()
	copy(e.Hash[:], r.take(32))
	return e
}

func readCheckpoint(r *reader, node string) audit.Checkpoint {
	c := audit.Checkpoint{Node: r.nodeOr(node)}
	c.Seq = r.u64()
	copy(c.Head[:], r.take(32))
	c.Time = time.Unix(0, int64(r.u64())).UTC()
	c.Signature = []byte(r.str())
	return c
}

// decodeBody reads a body and checks it against its header: records in
// order (changes, entries, checkpoints), changes with increasing seqs
// inside the change range, entries exactly the audit range, checkpoints
// inside it.
func decodeBody(h Header, plain []byte) (Body, error) {
	var b Body
	r := &reader{b: plain}
	stage := 0
	for len(r.b) > 0 && r.err == nil {
		kind := r.u8()
		switch {
		case kind == recChange && stage == 0:
			c := readChange(r, h.Origin)
			if r.err == nil && (c.OriginSeq < h.ChangeFirst || c.OriginSeq > h.ChangeLast ||
				len(b.Changes) > 0 && c.OriginSeq <= b.Changes[len(b.Changes)-1].OriginSeq) {
				return Body{}, formatErr("a change is outside the segment's range or out of order")
			}
			b.Changes = append(b.Changes, c)
		case kind == recAudit && stage <= 1:
			stage = 1
			e := readEntry(r, h.Origin)
			if r.err == nil && e.Seq != h.AuditFirst+uint64(len(b.Audit)) {
				return Body{}, formatErr("an audit entry is out of sequence")
			}
			b.Audit = append(b.Audit, e)
		case kind == recCheckpoint:
			stage = 2
			c := readCheckpoint(r, h.Origin)
			if r.err == nil && (c.Seq < h.AuditFirst || c.Seq > h.AuditLast) {
				return Body{}, formatErr("a checkpoint is outside the segment's range")
			}
			b.Checkpoints = append(b.Checkpoints, c)
		default:
			return Body{}, formatErr("an unknown or misplaced record (kind %#x)", kind)
		}
	}
	if r.err != nil {
		return Body{}, r.err
	}
	if uint64(len(b.Audit)) != h.AuditLast+1-h.AuditFirst {
		return Body{}, formatErr("it lacks audit entries its header announces")
	}
	return b, nil
}

// Segment is a parsed and verified segment.
type Segment struct {
	Header Header
	Body   Body
}

// OpenSegment verifies a segment file and decrypts it: the layout, the
// signature by pub (the origin's key), the seal by key (the segment
// sub-key of the clinic key), and the body against the header. Errors are
// *FormatError, errBadSignature or errUndecryptable.
func OpenSegment(file []byte, pub ed25519.PublicKey, key []byte) (Segment, error) {
	h, signed, ct, sig, err := ParseHeader(file)
	if err != nil {
		return Segment{}, err
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, signed, sig) {
		return Segment{}, errBadSignature
	}
	b, err := open(h, signed, ct, key)
	if err != nil {
		return Segment{}, err
	}
	return Segment{h, b}, nil
}

var errBadSignature = errors.New("the segment's signature is not its origin's (it was altered, or made by someone else)")
