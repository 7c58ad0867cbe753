package audit

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Keys maps a node id to its Ed25519 public key: the nodes whose chains a
// verifier trusts.
type Keys map[string]ed25519.PublicKey

// ProblemKind names one way a chain can be damaged.
type ProblemKind string

const (
	// HashMismatch: the entry at seq does not hash to its stored hash given
	// the verified entry before it (a field was edited, or a forged row).
	HashMismatch ProblemKind = "hash mismatch"
	// Gap: the entry at seq is missing, entries after it are not (a row was
	// deleted).
	Gap ProblemKind = "gap"
	// Reorder: the entry stored at seq is the genuine entry of another seq.
	Reorder ProblemKind = "reorder"
	// BadSignature: the checkpoint at seq is not signed by the node's key.
	BadSignature ProblemKind = "bad signature"
	// Truncated: seq, and what follows, is missing at the end of the chain,
	// although a signed checkpoint proves the chain reached further.
	Truncated ProblemKind = "truncated below checkpoint"
	// UnknownNode: no public key is known for the chain's node.
	UnknownNode ProblemKind = "unknown node"
	// CheckpointMismatch: a genuinely signed checkpoint names a head that
	// is not the chain's hash at that seq (the chain was rewritten).
	CheckpointMismatch ProblemKind = "checkpoint mismatch"
)

// Problem is the first thing wrong with one chain. Detail never holds PHI:
// only node ids, seqs and what is wrong.
type Problem struct {
	Node   string
	Seq    uint64
	Kind   ProblemKind
	Detail string
}

func (p Problem) Error() string {
	s := fmt.Sprintf("audit chain %q is broken at seq %d: %s", p.Node, p.Seq, p.Kind)
	if p.Detail != "" {
		s += " (" + p.Detail + ")"
	}
	return s
}

// ChainReport sums up one chain. For a broken chain the numbers stop at the
// problem: Head is the last hash that verified.
type ChainReport struct {
	Node           string
	Entries        uint64
	HeadSeq        uint64
	Head           [32]byte
	LastCheckpoint *Checkpoint // newest checkpoint that verified, nil if none
}

// Report is the outcome of Verify. Problem is the first problem found (chains
// in node order, each in seq order), nil when every chain is intact; Problems
// holds the first problem of every broken chain.
type Report struct {
	Chains   []ChainReport
	Problem  *Problem
	Problems []Problem
}

// OK reports whether every chain verified.
func (r Report) OK() bool { return r.Problem == nil }

// progressEvery is how often, in entries, Verify calls progress.
const progressEvery = 10_000

// Verify walks every chain in db in seq order, recomputing each hash and
// checking every checkpoint against keys. Damage is reported in the Report;
// the error is only for failing to read the database.
//
// Pass the *sql.DB: each chain is checked in segments on up to GOMAXPROCS
// connections at once (a link only needs the stored hash before it, so
// segments are independent). A *sql.Tx works too, on its one connection.
// Checkpoints are read before entries, so a concurrent Append cannot look like
// a truncation. progress, if not nil, is called about every 10,000 entries,
// possibly from another goroutine but never concurrently.
func Verify(ctx context.Context, db DBTX, keys Keys, progress func(done, total uint64)) (Report, error) {
	var r Report
	nodes, err := chainNodes(ctx, db)
	if err != nil {
		return r, err
	}
	chains := make([]*chainState, len(nodes))
	for i, n := range nodes {
		c := &chainState{node: n, pub: keys[n]}
		if c.cps, err = loadCheckpoints(ctx, db, n, 0, 1<<63-1); err != nil {
			return r, err
		}
		c.cpHash = make([][32]byte, len(c.cps))
		c.cpSeen = make([]bool, len(c.cps))
		chains[i] = c
	}
	// The expected total is the sum of head seqs: a seek per chain instead of
	// a count(*) that would read the whole table once more.
	var total uint64
	for _, c := range chains {
		var m sql.NullInt64
		if err := db.QueryRowContext(ctx, `SELECT max(seq) FROM audit_entries WHERE node = ?`, c.node).Scan(&m); err != nil {
			return r, fmt.Errorf("audit: read head of chain %q: %w", c.node, err)
		}
		c.maxSeq = uint64(max(m.Int64, 0))
		total += c.maxSeq
	}
	workers := 1
	if _, ok := db.(*sql.DB); ok {
		workers = min(runtime.GOMAXPROCS(0), 8)
	}
	segs := planSegments(chains, total, workers)
	p := &progressState{fn: progress, total: total}
	if err := runSegments(ctx, db, segs, workers, p); err != nil {
		return r, err
	}
	for _, c := range chains {
		cr, prob, err := c.report(ctx, db)
		if err != nil {
			return r, err
		}
		r.Chains = append(r.Chains, cr)
		if prob != nil {
			r.Problems = append(r.Problems, *prob)
		}
	}
	if len(r.Problems) > 0 {
		r.Problem = &r.Problems[0]
	}
	p.final()
	return r, nil
}

// chainNodes lists the nodes with entries or checkpoints. Entries are listed
// by seeking from node to node on the primary key: SELECT DISTINCT would read
// every row.
func chainNodes(ctx context.Context, db DBTX) ([]string, error) {
	var nodes []string
	q := `SELECT node FROM audit_entries ORDER BY node LIMIT 1`
	var args []any
	for {
		var n string
		err := db.QueryRowContext(ctx, q, args...).Scan(&n)
		if err == sql.ErrNoRows {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("audit: list chains: %w", err)
		}
		nodes = append(nodes, n)
		q, args = `SELECT node FROM audit_entries WHERE node > ? ORDER BY node LIMIT 1`, []any{n}
	}
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT node FROM audit_checkpoints`)
	if err != nil {
		return nil, fmt.Errorf("audit: list chains: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("audit: list chains: %w", err)
		}
		nodes = append(nodes, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: list chains: %w", err)
	}
	slices.Sort(nodes)
	return slices.Compact(nodes), nil
}

// chainState is one chain under verification. Segment workers fill segs and,
// for the checkpoints in their range, cpHash/cpSeen (disjoint indexes, so no
// lock is needed).
type chainState struct {
	node   string
	pub    ed25519.PublicKey
	cps    []Checkpoint
	cpHash [][32]byte // verified hash at cps[i].Seq
	cpSeen []bool
	maxSeq uint64
	segs   []*segment
}

// segment is a seq range of one chain, checked by one worker. Its first link
// is checked against the stored hash of lo-1, which the previous segment
// verifies; the last segment is open-ended so rows appended meanwhile, or
// forged beyond the head, are seen too.
type segment struct {
	c      *chainState
	lo, hi uint64
	last   bool

	verified uint64   // rows that verified, from lo on
	headSeq  uint64   // last verified seq
	head     [32]byte // its hash
	prob     *Problem
	bad      *storedRow // the row whose hash did not match, for classify
}

// maxSegments bounds the segments of one chain.
const maxSegments = 4096

func planSegments(chains []*chainState, total uint64, workers int) []*segment {
	// Several segments per worker keep both cores busy to the end.
	size := min(max(total/uint64(workers*4), 4096), 1<<20)
	var segs []*segment
	for _, c := range chains {
		// A forged row with a huge seq must not plan billions of segments.
		size := max(size, c.maxSeq/maxSegments+1)
		lo := uint64(1)
		for {
			s := &segment{c: c, lo: lo, hi: lo + size - 1}
			if s.hi >= c.maxSeq {
				s.hi, s.last = max(c.maxSeq, lo), true
			}
			c.segs = append(c.segs, s)
			segs = append(segs, s)
			if s.last {
				break
			}
			lo = s.hi + 1
		}
	}
	return segs
}

func runSegments(ctx context.Context, db DBTX, segs []*segment, workers int, p *progressState) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *segment)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for s := range jobs {
				var err error
				if buf, err = s.check(ctx, db, p, buf); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}()
	}
feed:
	for _, s := range segs {
		select {
		case jobs <- s:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return ctx.Err()
	}
}

// entryColumns are the columns Verify reads, in canonical order after seq,
// at and hash. Reading a column through the driver costs a few cgo calls
// whatever its size, and nothing else is needed. CAST keeps a tampered
// non-integer seq or time from failing the scan: it shows up as a mismatch.
const entryColumns = `CAST(seq AS INTEGER), CAST(at AS INTEGER), hash, user_id, action, patient_id, outcome, detail, grant_id`

// check verifies the links of s. Only the first problem in the segment is
// kept: report takes the first segment that has one.
func (s *segment) check(ctx context.Context, db DBTX, p *progressState, buf []byte) ([]byte, error) {
	c := s.c
	lo := int64(s.lo) - 1 // the row before lo gives the first link's prev
	if s.lo == 1 {
		lo = math.MinInt64 // and seq < 1 rows, which must not exist, are seen
	}
	hi := int64(math.MaxInt64)
	if !s.last {
		hi = int64(s.hi)
	}
	// The driver runs every row fetch of a cancellable query in a goroutine
	// of its own (≈ 1 µs a row); instead, the query cannot be cancelled and
	// ctx is polled every 1024 rows.
	rows, err := db.QueryContext(context.WithoutCancel(ctx), `SELECT `+entryColumns+
		` FROM audit_entries WHERE node = ? AND seq >= ? AND seq <= ? ORDER BY seq`, c.node, lo, hi)
	if err != nil {
		return buf, fmt.Errorf("audit: read chain %q: %w", c.node, err)
	}
	defer rows.Close()
	var (
		seq, at   int64
		hash      sql.RawBytes // RawBytes: the driver's bytes, reused row after row
		f         [6]sql.RawBytes
		prev      [32]byte
		prevKnown = s.lo == 1
		nodeB     = []byte(c.node)
		expect    = s.lo
		counted   uint64
		ci, _     = slices.BinarySearchFunc(c.cps, s.lo, func(cp Checkpoint, seq uint64) int { return cmp.Compare(cp.Seq, seq) })
	)
	fail := func(seq uint64, k ProblemKind, detail string) {
		s.prob = &Problem{Node: c.node, Seq: seq, Kind: k, Detail: detail}
	}
	for rows.Next() {
		if err := rows.Scan(&seq, &at, &hash, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5]); err != nil {
			return buf, fmt.Errorf("audit: read chain %q: %w", c.node, err)
		}
		if seq < int64(s.lo) {
			if s.lo == 1 {
				fail(0, HashMismatch, "a row has a seq below 1")
				break
			}
			// The row before the segment: its stored hash is the first prev.
			if len(hash) == 32 {
				prev, prevKnown = [32]byte(hash), true
			}
			continue
		}
		if counted++; counted == 1024 {
			p.add(counted)
			counted = 0
			if err := ctx.Err(); err != nil {
				return buf, err
			}
		}
		u := uint64(seq)
		if u < expect {
			fail(u, HashMismatch, "two rows carry the same seq")
			break
		}
		if u != expect {
			fail(expect, Gap, fmt.Sprintf("seq %d is missing; the next stored entry is seq %d", expect, u))
			break
		}
		// If the row before the segment is missing, the previous segment
		// reports that gap first; this link cannot be checked.
		if prevKnown {
			buf = append(buf[:0], prev[:]...)
			buf = appendCanonical(buf, nodeB, u, at, f[0], f[1], f[2], f[3], f[4], f[5])
			if sum := sha256.Sum256(buf); !bytes.Equal(sum[:], hash) {
				s.bad = &storedRow{seq: u, at: at, user: string(f[0]), action: string(f[1]),
					patient: string(f[2]), outcome: string(f[3]), detail: string(f[4]),
					grant: string(f[5]), hash: bytes.Clone(hash)}
				break
			}
		}
		prev, prevKnown = [32]byte(hash), true
		s.verified, s.headSeq, s.head = s.verified+1, u, prev
		for ; ci < len(c.cps) && c.cps[ci].Seq <= u; ci++ {
			if c.cps[ci].Seq == u {
				c.cpHash[ci], c.cpSeen[ci] = prev, true
			}
		}
		expect++
	}
	if err := rows.Err(); err != nil {
		return buf, fmt.Errorf("audit: read chain %q: %w", c.node, err)
	}
	p.add(counted)
	if s.prob == nil && s.bad == nil && !s.last && expect <= s.hi {
		fail(expect, Gap, fmt.Sprintf("seq %d is missing", expect))
	}
	return buf, nil
}

// report puts the segments of a chain together and checks its checkpoints:
// the first problem by seq wins; at one seq, the entry before its checkpoint.
func (c *chainState) report(ctx context.Context, db DBTX) (ChainReport, *Problem, error) {
	cr := ChainReport{Node: c.node}
	var prob *Problem
	for _, s := range c.segs {
		cr.Entries += s.verified
		if s.verified > 0 {
			cr.HeadSeq, cr.Head = s.headSeq, s.head
		}
		if s.bad != nil {
			p, err := classify(ctx, db, c.node, s.bad)
			if err != nil {
				return cr, nil, err
			}
			prob = &p
			break
		}
		if s.prob != nil {
			prob = s.prob
			break
		}
	}
	if len(c.pub) != ed25519.PublicKeySize {
		// Without a key no checkpoint can be checked; the hash walk above
		// still gives the chain's numbers.
		return cr, &Problem{Node: c.node, Kind: UnknownNode, Detail: "no public key is known for this node"}, nil
	}
	for i := range c.cps {
		cp := &c.cps[i]
		if prob != nil && cp.Seq >= prob.Seq {
			break
		}
		if !cp.Valid(c.pub) {
			return cr, &Problem{Node: c.node, Seq: cp.Seq, Kind: BadSignature,
				Detail: "the checkpoint is not signed by this node's key"}, nil
		}
		if cp.Seq > cr.HeadSeq && prob == nil {
			return cr, &Problem{Node: c.node, Seq: cr.HeadSeq + 1, Kind: Truncated,
				Detail: fmt.Sprintf("the chain ends at seq %d but a checkpoint signed at seq %d exists", cr.HeadSeq, cp.Seq)}, nil
		}
		if !c.cpSeen[i] || c.cpHash[i] != cp.Head {
			return cr, &Problem{Node: c.node, Seq: cp.Seq, Kind: CheckpointMismatch,
				Detail: "the signed head differs from the chain's hash at this seq"}, nil
		}
		cr.LastCheckpoint = cp
	}
	return cr, prob, nil
}

// progressState counts entries across workers and calls the callback at
// most about every progressEvery entries, one call at a time, never going
// backwards.
type progressState struct {
	fn          func(done, total uint64)
	total       uint64
	mu          sync.Mutex
	done, shown uint64
}

func (p *progressState) add(n uint64) {
	if p.fn == nil || n == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.done-p.shown >= progressEvery {
		p.shown = p.done
		p.fn(p.done, max(p.total, p.done))
	}
}

func (p *progressState) final() {
	if p.fn != nil {
		p.fn(p.done, max(p.total, p.done))
	}
}

// storedRow is an entry row as read, kept only on the failure path.
type storedRow struct {
	seq     uint64
	at      int64
	user    string
	action  string
	patient string
	outcome string
	detail  string
	grant   string
	hash    []byte
}

func (s storedRow) entry(node string, seq uint64) Entry {
	return Entry{Node: node, Seq: seq, Time: time.Unix(0, s.at), User: s.user, Action: s.action,
		Patient: s.patient, Outcome: s.outcome, Detail: s.detail, Grant: s.grant}
}

// classify explains a hash mismatch at bad.seq, on the failure path only: it
// looks for the seq whose genuine entry the bad row holds (rows swapped, with
// or without their hash column), and otherwise says whether only the row's
// fields were changed.
func classify(ctx context.Context, db DBTX, node string, bad *storedRow) (Problem, error) {
	a := bad.seq
	p := Problem{Node: node, Seq: a, Kind: HashMismatch,
		Detail: "the entry does not hash to its stored hash: a field was changed or the row was forged"}
	rows, err := db.QueryContext(ctx, `SELECT `+entryColumns+` FROM audit_entries WHERE node = ? AND seq > ? ORDER BY seq`, node, int64(a))
	if err != nil {
		return p, fmt.Errorf("audit: read chain %q: %w", node, err)
	}
	defer rows.Close()
	prevStored := bad.hash
	for rows.Next() {
		var (
			r   storedRow
			seq int64
			n   [6]sql.NullString
		)
		if err := rows.Scan(&seq, &r.at, &r.hash, &n[0], &n[1], &n[2], &n[3], &n[4], &n[5]); err != nil {
			return p, fmt.Errorf("audit: read chain %q: %w", node, err)
		}
		r.user, r.action, r.patient, r.outcome, r.detail, r.grant = n[0].String, n[1].String, n[2].String, n[3].String, n[4].String, n[5].String
		if seq < 1 {
			continue
		}
		b := uint64(seq)
		moved := bad.entry(node, b)
		// Swapped with their hashes: the bad row's hash is b's genuine hash
		// (for b = a+1, b's genuine prev is a's hash, now stored at row b).
		// Swapped without: b's stored hash is still the genuine one.
		cands := [][32]byte{ChainHash(toHash(prevStored), moved)}
		if b == a+1 {
			cands = append(cands, ChainHash(toHash(r.hash), moved))
			// Row a's stored hash still links to row a+1: only a's fields changed.
			if ChainHash(toHash(bad.hash), r.entry(node, b)) == toHash(r.hash) {
				p.Detail = "the entry's fields were changed after it was written"
			}
		}
		for _, h := range cands {
			if h == toHash(r.hash) || h == toHash(bad.hash) {
				return Problem{Node: node, Seq: a, Kind: Reorder,
					Detail: fmt.Sprintf("the entry stored at seq %d is the genuine entry of seq %d", a, b)}, nil
			}
		}
		prevStored = r.hash
	}
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("audit: read chain %q: %w", node, err)
	}
	return p, nil
}

func toHash(b []byte) [32]byte {
	var h [32]byte
	copy(h[:], b)
	return h
}
