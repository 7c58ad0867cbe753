package store

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// NodeID derives a workstation's id from its public signing key: the first
// 80 bits of SHA-256(key) in lower-case base32 (16 characters). Being derived
// from the key, an id cannot be claimed by a node that lacks the key.
func NodeID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return strings.ToLower(base32.StdEncoding.EncodeToString(sum[:10]))
}
