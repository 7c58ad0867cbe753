package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// checkpointDomain starts every signed checkpoint message, so that a node key
// signature over a checkpoint can never be replayed as (or made from) a
// signature over a change-set segment or an export manifest.
const checkpointDomain = "ward-checkpoint/v1"

// Checkpoint is a node's signed statement "my chain had this head at seq".
// Peers keep the newest one of every node; Verify refuses a chain that does
// not reach or does not match its checkpoints.
type Checkpoint struct {
	Node      string
	Seq       uint64
	Head      [32]byte
	Time      time.Time
	Signature []byte
}

// checkpointMessage is the signed message (docs/formats.md, "Audit checkpoint"):
//
//	"ward-checkpoint/v1" || u32 len(node) || node || u64 seq || head[32] || i64 unix ns
func checkpointMessage(node string, seq uint64, head [32]byte, at int64) []byte {
	b := make([]byte, 0, len(checkpointDomain)+4+len(node)+8+32+8)
	b = append(b, checkpointDomain...)
	b = appendField(b, node)
	b = binary.BigEndian.AppendUint64(b, seq)
	b = append(b, head[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(at))
	return b
}

// Message returns the bytes the checkpoint signature covers.
func (c Checkpoint) Message() []byte {
	return checkpointMessage(c.Node, c.Seq, c.Head, c.Time.UnixNano())
}

// Valid reports whether c carries a good signature by pub. A malformed key is
// simply not valid (ed25519.Verify would panic on it).
func (c Checkpoint) Valid(pub ed25519.PublicKey) bool {
	if len(pub) != ed25519.PublicKeySize || len(c.Signature) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(pub, c.Message(), c.Signature)
}

func signCheckpoint(key ed25519.PrivateKey, node string, seq uint64, head [32]byte, at time.Time) Checkpoint {
	c := Checkpoint{Node: node, Seq: seq, Head: head, Time: time.Unix(0, at.UnixNano()).UTC()}
	c.Signature = ed25519.Sign(key, c.Message())
	return c
}

// Fingerprint names a public key for people: the first 16 hex digits of
// SHA-256(key). A verifier compares it with the one the clinic wrote down.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}
