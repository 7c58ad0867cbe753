package sync

import (
	"bufio"
	"context"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"ward/store"
	"ward/store/audit"
)

// The snapshot file, ward-snap/v1 (docs/formats.md, "Snapshot"): a
// consistent copy of a workstation's replicated tables, change log
// (history), every audit chain with its checkpoints, and how far it had
// applied each origin — so a new workstation starts from it instead of
// replaying the clinic's whole history.
//
//	magic "ward-snap/v1\n" || u16 len(origin) || origin || i64 created || prefix[16]
//	chunk*: u8 last || u32 len(ciphertext) || ciphertext
//	        ciphertext = XChaCha20-Poly1305(key, prefix || u64 index,
//	                     DEFLATE(records), aad = magic..prefix || u64 index || u8 last)
//	signature[64] = Ed25519(origin's node key, magic || SHA-256(every byte before it))
//
// key = HKDF-SHA256(clinic key, "ward-snapshot/v1"). The last chunk has
// last = 1; nothing may follow the signature.

// SnapshotMagic starts every snapshot file.
const SnapshotMagic = "ward-snap/v1\n"

const (
	chunkPlain    = 1 << 20 // records per chunk, before compression
	maxChunk      = 8 << 20 // a chunk's ciphertext, as a reader accepts it
	prefixSize    = 16
	chainBatch    = 4096 // audit entries appended per call while installing
	snapshotLabel = store.SubkeySnapshot
)

// SnapshotInfo counts what a snapshot holds.
type SnapshotInfo struct {
	Origin    string
	Created   time.Time
	Rows      int
	Changes   int
	Entries   int
	Positions int
	Bytes     int64
}

// WriteSnapshot writes a sealed, signed snapshot of this workstation to w,
// from one consistent read of the database.
func (r *Replica) WriteSnapshot(ctx context.Context, w io.Writer) (SnapshotInfo, error) {
	info := SnapshotInfo{Origin: r.db.Self().ID, Created: r.now()}
	c, err := r.snapshotAEAD(ctx)
	if err != nil {
		return info, err
	}
	cw := &chunkWriter{c: c, h: sha256.New(), bw: bufio.NewWriterSize(w, 1<<16)}
	head := []byte(SnapshotMagic)
	head = binary.BigEndian.AppendUint16(head, uint16(len(info.Origin)))
	head = append(head, info.Origin...)
	head = binary.BigEndian.AppendUint64(head, uint64(info.Created.UnixNano()))
	var prefix [prefixSize]byte
	if _, err := rand.Read(prefix[:]); err != nil {
		return info, err
	}
	cw.header = append(head, prefix[:]...)
	cw.prefix = prefix
	if err := cw.write(cw.header); err != nil {
		return info, err
	}
	err = r.db.ReplicaRead(ctx, func(rd *store.ReplicaReader) error {
		for _, t := range store.ReplicatedTables {
			if err := rd.Rows(t, func(row string) error {
				info.Rows++
				b := append([]byte{recRow}, appendStr(appendStr(nil, t), row)...)
				return cw.add(b)
			}); err != nil {
				return err
			}
		}
		if err := rd.AllChanges(func(c store.Change) error {
			info.Changes++
			return cw.add(appendChange(nil, c, true))
		}); err != nil {
			return err
		}
		chains, err := rd.AuditChains()
		if err != nil {
			return err
		}
		for _, node := range chains {
			head, err := rd.AuditHead(node)
			if err != nil {
				return err
			}
			if err := rd.AuditEntries(node, 1, head, func(e audit.Entry) error {
				info.Entries++
				return cw.add(appendEntry(nil, e, true))
			}); err != nil {
				return err
			}
			cps, err := rd.Checkpoints(node, 1, head)
			if err != nil {
				return err
			}
			for _, c := range cps {
				if err := cw.add(appendCheckpoint(nil, c, true)); err != nil {
					return err
				}
			}
		}
		ps, err := rd.Positions()
		if err != nil {
			return err
		}
		// Where this workstation itself stands: everything of its own up
		// to now is in the snapshot, whether sent in a segment yet or not.
		ex, err := rd.ExportState()
		if err != nil {
			return err
		}
		maxSeq, err := rd.MaxChangeSeq()
		if err != nil {
			return err
		}
		ownHead, err := rd.AuditHead(info.Origin)
		if err != nil {
			return err
		}
		ps = append(ps, store.Position{Node: info.Origin, Segment: ex.Segment, ChangeSeq: maxSeq, AuditSeq: ownHead, Created: ex.Created})
		for _, p := range ps {
			info.Positions++
			if err := cw.add(appendPosition(nil, p)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return info, err
	}
	if err := cw.flush(true); err != nil {
		return info, err
	}
	sig, err := r.db.SignAsNode(append([]byte(SnapshotMagic), cw.h.Sum(nil)...))
	if err != nil {
		return info, err
	}
	if _, err := cw.bw.Write(sig); err != nil {
		return info, err
	}
	info.Bytes = cw.n + int64(len(sig))
	return info, cw.bw.Flush()
}

func appendPosition(b []byte, p store.Position) []byte {
	created := uint64(0)
	if !p.Created.IsZero() {
		created = uint64(p.Created.UnixNano())
	}
	return appendRecord(b, recPosition, p.Node, []uint64{p.Segment, p.ChangeSeq, p.AuditSeq, created})
}

// snapshotAEAD seals and opens snapshots: the snapshot sub-key of the
// clinic key.
func (r *Replica) snapshotAEAD(ctx context.Context) (cipher.AEAD, error) {
	key, err := r.db.ClinicSubkey(ctx, snapshotLabel)
	if err != nil {
		return nil, err
	}
	defer wipe(key)
	return aead(key)
}

// chunkWriter seals records into chunks as they come.
type chunkWriter struct {
	c      cipher.AEAD
	h      hash.Hash
	bw     *bufio.Writer
	header []byte
	prefix [prefixSize]byte
	buf    []byte
	index  uint64
	n      int64
}

func (cw *chunkWriter) write(b []byte) error {
	cw.h.Write(b)
	cw.n += int64(len(b))
	_, err := cw.bw.Write(b)
	return err
}

func (cw *chunkWriter) add(rec []byte) error {
	if len(cw.buf) > 0 && len(cw.buf)+len(rec) > chunkPlain {
		if err := cw.flush(false); err != nil {
			return err
		}
	}
	cw.buf = append(cw.buf, rec...)
	return nil
}

func (cw *chunkWriter) flush(last bool) error {
	plain, err := deflate(cw.buf)
	if err != nil {
		return err
	}
	aad, nonce := chunkAAD(cw.header, cw.prefix, cw.index, last)
	ct := cw.c.Seal(nil, nonce, plain, aad)
	head := []byte{boolByte(last)}
	head = binary.BigEndian.AppendUint32(head, uint32(len(ct)))
	if err := cw.write(head); err != nil {
		return err
	}
	if err := cw.write(ct); err != nil {
		return err
	}
	cw.buf, cw.index = cw.buf[:0], cw.index+1
	return nil
}

func chunkAAD(header []byte, prefix [prefixSize]byte, index uint64, last bool) (aad, nonce []byte) {
	aad = binary.BigEndian.AppendUint64(append([]byte(nil), header...), index)
	aad = append(aad, boolByte(last))
	nonce = binary.BigEndian.AppendUint64(append([]byte(nil), prefix[:]...), index)
	return aad, nonce
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// ErrBadSnapshotSignature: the snapshot is not signed by the workstation it
// was expected from.
var ErrBadSnapshotSignature = errors.New("the snapshot is not signed by the workstation that offered it (altered, or from someone else): nothing of it was installed")

// InstallSnapshot starts this workstation, which must be new and empty and
// hold the clinic key already, from a snapshot made by the workstation
// whose node key is from (known from the pairing exchange). Everything is
// installed in one transaction: an altered or truncated file leaves the
// workstation as it was.
func (r *Replica) InstallSnapshot(ctx context.Context, in io.Reader, from ed25519.PublicKey) (SnapshotInfo, error) {
	var info SnapshotInfo
	c, err := r.snapshotAEAD(ctx)
	if err != nil {
		return info, err
	}
	br := bufio.NewReaderSize(in, 1<<16)
	h := sha256.New()
	hr := io.TeeReader(br, h)
	read := func(n int) ([]byte, error) {
		b := make([]byte, n)
		if _, err := io.ReadFull(hr, b); err != nil {
			return nil, formatErr("it ends too early")
		}
		return b, nil
	}
	magic, err := read(len(SnapshotMagic) + 2)
	if err != nil {
		return info, err
	}
	if string(magic[:len(SnapshotMagic)]) != SnapshotMagic {
		return info, formatErr("it is not a Ward snapshot (or one of a newer version)")
	}
	originLen := int(binary.BigEndian.Uint16(magic[len(SnapshotMagic):]))
	if originLen > maxNodeID {
		return info, formatErr("its origin is not a node id")
	}
	rest, err := read(originLen + 8 + prefixSize)
	if err != nil {
		return info, err
	}
	info.Origin = string(rest[:originLen])
	info.Created = time.Unix(0, int64(binary.BigEndian.Uint64(rest[originLen:])))
	if len(from) != ed25519.PublicKeySize || store.NodeID(from) != info.Origin {
		return info, fmt.Errorf("the snapshot was made by node %s, not by the workstation that offered it", info.Origin)
	}
	header := append(magic, rest...)
	var prefix [prefixSize]byte
	copy(prefix[:], rest[originLen+8:])

	inst := &installer{info: &info}
	err = r.db.ReplicaUpdate(ctx, func(w *store.ReplicaWriter) error {
		inst.w = w
		if err := w.BeginInstall(); err != nil {
			return err
		}
		for index := uint64(0); ; index++ {
			head, err := read(5)
			if err != nil {
				return err
			}
			last := head[0] == 1
			n := binary.BigEndian.Uint32(head[1:])
			if head[0] > 1 || n > maxChunk {
				return formatErr("a chunk is malformed")
			}
			ct, err := read(int(n))
			if err != nil {
				return err
			}
			aad, nonce := chunkAAD(header, prefix, index, last)
			plain, err := c.Open(nil, nonce, ct, aad)
			if err != nil {
				return formatErr("a chunk cannot be decrypted with this clinic's key (another clinic's snapshot, or altered)")
			}
			if plain, err = inflate(plain, 4*chunkPlain); err != nil {
				return err
			}
			if err := inst.records(plain); err != nil {
				return err
			}
			if last {
				break
			}
		}
		sig := make([]byte, ed25519.SignatureSize)
		if _, err := io.ReadFull(br, sig); err != nil {
			return formatErr("its signature is missing")
		}
		if n, _ := br.Read(make([]byte, 1)); n > 0 {
			return formatErr("bytes follow its signature")
		}
		if !ed25519.Verify(from, append([]byte(SnapshotMagic), h.Sum(nil)...), sig) {
			return ErrBadSnapshotSignature
		}
		if err := inst.flushChain(); err != nil {
			return err
		}
		if err := w.EndInstall(); err != nil {
			return err
		}
		// This workstation's clock moves past every stamp it installs: one
		// far ahead would put all its own writes there too.
		if newest := store.HLCTime(w.NewestHLC()); newest.After(r.now().Add(MaxClockAhead)) {
			return fmt.Errorf("the snapshot's newest change is stamped %s, %s ahead of this workstation's clock (at most %v is taken): "+
				"set the clock of the workstation that made it (node %s) right, then join again",
				newest.UTC().Format(time.RFC3339), newest.Sub(r.now()).Round(time.Second), MaxClockAhead, info.Origin)
		}
		for _, p := range inst.positions {
			if p.Node == w.Self().ID {
				continue
			}
			p.AppliedAt = r.now()
			if err := w.SetPosition(p); err != nil {
				return err
			}
		}
		return w.Audit(audit.Event{User: systemUser, Action: ActJoin, Outcome: audit.OutcomeSuccess,
			Detail: fmt.Sprintf("started from the snapshot of node %s made %s: %d rows, %d changes, %d audit entries",
				info.Origin, info.Created.UTC().Format(time.RFC3339), info.Rows, info.Changes, info.Entries)})
	})
	return info, err
}

// installer applies a snapshot's records as they are decrypted.
type installer struct {
	w         *store.ReplicaWriter
	info      *SnapshotInfo
	node      string // the chain being gathered
	entries   []audit.Entry
	cps       []audit.Checkpoint
	positions []store.Position
}

func (in *installer) records(plain []byte) error {
	r := &reader{b: plain}
	for len(r.b) > 0 && r.err == nil {
		switch kind := r.u8(); kind {
		case recRow:
			t, row := r.str(), r.str()
			if r.err != nil {
				break
			}
			in.info.Rows++
			if err := in.w.InstallRow(t, row); err != nil {
				return err
			}
		case recChange:
			c := readChange(r, "")
			if r.err != nil {
				break
			}
			in.info.Changes++
			if err := in.w.InstallChange(c); err != nil {
				return err
			}
		case recAudit:
			e := readEntry(r, "")
			if r.err != nil {
				break
			}
			if e.Node != in.node || len(in.cps) > 0 || len(in.entries) >= chainBatch {
				if err := in.flushChain(); err != nil {
					return err
				}
				in.node = e.Node
			}
			in.info.Entries++
			in.entries = append(in.entries, e)
		case recCheckpoint:
			c := readCheckpoint(r, "")
			if r.err != nil {
				break
			}
			if c.Node != in.node {
				if err := in.flushChain(); err != nil {
					return err
				}
				in.node = c.Node
			}
			in.cps = append(in.cps, c)
		case recPosition:
			p := store.Position{Node: r.str(), Segment: r.u64(), ChangeSeq: r.u64(), AuditSeq: r.u64()}
			if ns := int64(r.u64()); ns != 0 {
				p.Created = time.Unix(0, ns)
			}
			in.info.Positions++
			in.positions = append(in.positions, p)
		default:
			return formatErr("an unknown record (kind %#x)", kind)
		}
	}
	return r.err
}

func (in *installer) flushChain() error {
	if len(in.entries) == 0 && len(in.cps) == 0 {
		return nil
	}
	_, err := in.w.AppendChain(in.node, in.entries, in.cps)
	in.entries, in.cps = in.entries[:0], in.cps[:0]
	return err
}
