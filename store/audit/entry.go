package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Outcomes of an audited action. Anything else is refused by Append, so that
// every export format can map an outcome both ways (FHIR "0", "4", "8").
const (
	OutcomeSuccess = "success"
	OutcomeDenied  = "denied"
	OutcomeFailure = "failure"
)

// CanonicalVersion is the first byte of every canonical encoding. A change to
// the layout is a new version, never an edit of this one: old chains must keep
// verifying.
const CanonicalVersion = 1

// Limits on what Append accepts. They keep a single entry small enough to
// export and read back anywhere; the canonical encoding itself allows 4 GiB.
const (
	maxIDLen     = 256
	maxDetailLen = 64 << 10
)

// Event is what a caller asks to record. Zero Time means "now" (the Writer's
// clock).
type Event struct {
	Time    time.Time
	User    string // user id; empty for work the workstation does by itself
	Action  string // e.g. "patient.read", "user.signin", "emergency.start"
	Patient string // patient id, if the action touched one
	Outcome string // OutcomeSuccess, OutcomeDenied or OutcomeFailure
	Detail  string // free text, e.g. the reason given for a break-glass
	Grant   string // emergency grant id the action ran under, if any
}

// Entry is one link of a node's chain, as stored. Hash is
// ChainHash(hash of seq-1, entry).
type Entry struct {
	Node    string
	Seq     uint64
	Time    time.Time
	User    string
	Action  string
	Patient string
	Outcome string
	Detail  string
	Grant   string
	Hash    [32]byte
}

// Canonical returns the canonical encoding (version 1) of e, the bytes the
// chain hash covers. Layout (docs/formats.md, "Audit entry"):
//
//	version u8 = 1
//	node    u32 length, bytes
//	seq     u64
//	time    i64 unix nanoseconds, UTC
//	user, action, patient, outcome, detail, grant: u32 length, bytes each
//
// All integers are big-endian. Hash is not part of the encoding.
func Canonical(e Entry) []byte {
	return appendCanonical(make([]byte, 0, canonicalSize(e)), e.Node, e.Seq, e.Time.UnixNano(),
		e.User, e.Action, e.Patient, e.Outcome, e.Detail, e.Grant)
}

func canonicalSize(e Entry) int {
	return 1 + 8 + 8 + 7*4 + len(e.Node) + len(e.User) + len(e.Action) + len(e.Patient) +
		len(e.Outcome) + len(e.Detail) + len(e.Grant)
}

// appendCanonical is generic so that Verify can encode straight from the
// driver's byte buffers without converting each column to a string.
func appendCanonical[S ~string | ~[]byte](b []byte, node S, seq uint64, at int64, user, action, patient, outcome, detail, grant S) []byte {
	b = append(b, CanonicalVersion)
	b = appendField(b, node)
	b = binary.BigEndian.AppendUint64(b, seq)
	b = binary.BigEndian.AppendUint64(b, uint64(at))
	b = appendField(b, user)
	b = appendField(b, action)
	b = appendField(b, patient)
	b = appendField(b, outcome)
	b = appendField(b, detail)
	b = appendField(b, grant)
	return b
}

func appendField[S ~string | ~[]byte](b []byte, s S) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// ChainHash returns SHA-256(prev || Canonical(e)). The first entry of a chain
// (seq 1) uses 32 zero bytes as prev; the node id inside the encoding already
// keeps chains apart.
func ChainHash(prev [32]byte, e Entry) [32]byte {
	b := make([]byte, 0, 32+canonicalSize(e))
	b = append(b, prev[:]...)
	b = appendCanonical(b, e.Node, e.Seq, e.Time.UnixNano(),
		e.User, e.Action, e.Patient, e.Outcome, e.Detail, e.Grant)
	return sha256.Sum256(b)
}

// Times a chain entry can carry: the range of int64 unix nanoseconds.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// newEntry checks ev and turns it into the entry that will be stored. Text is
// made exportable here, once, so that every format can carry an entry
// unchanged and its hash can be recomputed from any export: ids must be clean
// UTF-8 without control characters; detail is free text, so broken UTF-8 is
// replaced and CR LF / CR become LF (encoding/csv cannot carry a CR).
func newEntry(node string, seq uint64, at time.Time, ev Event) (Entry, error) {
	if ev.Action == "" {
		return Entry{}, errors.New("audit: event has no action")
	}
	switch ev.Outcome {
	case OutcomeSuccess, OutcomeDenied, OutcomeFailure:
	default:
		return Entry{}, errors.New("audit: event outcome must be success, denied or failure")
	}
	for _, f := range []struct{ name, v string }{
		{"user", ev.User}, {"action", ev.Action}, {"patient", ev.Patient}, {"grant", ev.Grant},
	} {
		if err := checkID(f.name, f.v); err != nil {
			return Entry{}, err
		}
	}
	detail := strings.ToValidUTF8(ev.Detail, "\uFFFD")
	detail = strings.ReplaceAll(detail, "\r\n", "\n")
	detail = strings.ReplaceAll(detail, "\r", "\n")
	if len(detail) > maxDetailLen {
		return Entry{}, fmt.Errorf("audit: event detail is longer than %d bytes", maxDetailLen)
	}
	if at.Before(minTime) || at.After(maxTime) {
		return Entry{}, errors.New("audit: event time is outside the years 1678-2262")
	}
	return Entry{
		Node: node, Seq: seq, Time: time.Unix(0, at.UnixNano()).UTC(),
		User: ev.User, Action: ev.Action, Patient: ev.Patient, Outcome: ev.Outcome,
		Detail: detail, Grant: ev.Grant,
	}, nil
}

// checkID refuses ids that could not travel unchanged through CSV and FHIR.
// The error names the field, never its value (it may be PHI).
func checkID(name, v string) error {
	if len(v) > maxIDLen {
		return fmt.Errorf("audit: %s is longer than %d bytes", name, maxIDLen)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("audit: %s is not valid UTF-8", name)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return fmt.Errorf("audit: %s contains a control character", name)
		}
	}
	return nil
}

// checkNode refuses node ids that are not plain tokens: a node id appears in
// FHIR identifiers ("<node>/<seq>"), file names and error messages.
func checkNode(node string) error {
	if node == "" || len(node) > maxIDLen || !utf8.ValidString(node) {
		return errors.New("audit: node id must be 1-256 bytes of UTF-8")
	}
	for _, r := range node {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\uFEFF' {
			return errors.New("audit: node id contains a space or control character")
		}
	}
	return nil
}
