package store

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The workstations of the clinic. A node row replicates like a record, so a
// workstation admitted or removed on one is known to all: a peer applies a
// node's segments only while it knows that node's key, and refuses those a
// removed node made after its removal (docs/replica.md).

// NodeRecord is a node as the change log's data (history) holds it.
type NodeRecord struct {
	ID        string
	Name      string
	PublicKey []byte
	AddedAt   time.Time
	RevokedAt *time.Time `json:",omitempty"`
}

// ErrUnknownNode is returned for a node id this workstation does not know.
var ErrUnknownNode = errors.New("there is no workstation with that node id in this clinic: `ward sync status` lists them")

// ClinicNodes lists the workstations of the clinic, this one too.
func (tx *Tx) ClinicNodes() ([]NodeInfo, error) {
	r := replicaQ{tx.ctx, tx.tx, tx.db}
	return r.Nodes()
}

// AdmitNode makes a new workstation a member: its key is known from now on
// (on every workstation, once this write has replicated), so its segments
// are applied. Admitting a node that is already a member changes nothing.
func (tx *Tx) AdmitNode(id, name string, pub ed25519.PublicKey) (NodeInfo, error) {
	if len(pub) != ed25519.PublicKeySize || NodeID(pub) != id {
		return NodeInfo{}, fmt.Errorf("the key does not belong to node %s (a node id is derived from its key)", id)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = id
	}
	r := replicaQ{tx.ctx, tx.tx, tx.db}
	if n, ok, err := r.Node(id); err != nil || ok && n.Revoked() {
		if err == nil {
			err = fmt.Errorf("node %s was removed from the clinic on %s: a removed workstation cannot come back; set it up again as a new one",
				id, n.RevokedAt.UTC().Format(time.DateOnly))
		}
		return NodeInfo{}, err
	}
	origin, hlc := tx.stamp()
	added := tx.now.Unix()
	if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO nodes(id, name, public_key, added_at, origin, hlc) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET name = excluded.name, origin = excluded.origin, hlc = excluded.hlc`,
		id, name, []byte(pub), added, origin, int64(hlc)); err != nil {
		return NodeInfo{}, err
	}
	return tx.logNode(id, hlc)
}

// RevokeNode removes a workstation from the clinic (a lost or stolen one):
// segments it makes from now on are refused everywhere; what it made before
// stays. This workstation cannot remove itself.
func (tx *Tx) RevokeNode(id string) (NodeInfo, error) {
	if id == tx.db.self.ID {
		return NodeInfo{}, errors.New("a workstation cannot remove itself from the clinic: remove it from another one")
	}
	r := replicaQ{tx.ctx, tx.tx, tx.db}
	n, ok, err := r.Node(id)
	switch {
	case err != nil:
		return NodeInfo{}, err
	case !ok:
		return NodeInfo{}, ErrUnknownNode
	case n.Revoked():
		return n, fmt.Errorf("node %s was already removed from the clinic on %s", id, n.RevokedAt.UTC().Format(time.RFC3339))
	}
	origin, hlc := tx.stamp()
	if err := tx.execOne("UPDATE nodes SET revoked_at = ?, origin = ?, hlc = ? WHERE id = ?", tx.now.Unix(), origin, int64(hlc), id); err != nil {
		return NodeInfo{}, err
	}
	return tx.logNode(id, hlc)
}

// logNode appends the node's row to the change log.
func (tx *Tx) logNode(id string, hlc uint64) (NodeInfo, error) {
	r := replicaQ{tx.ctx, tx.tx, tx.db}
	n, _, err := r.Node(id)
	if err != nil {
		return n, err
	}
	rec := NodeRecord{ID: n.ID, Name: n.Name, PublicKey: n.PublicKey, AddedAt: n.AddedAt}
	if n.Revoked() {
		rec.RevokedAt = &n.RevokedAt
	}
	return n, tx.logChange("nodes", id, "upsert", hlc, rec)
}

// replicaDomains are the prefixes of what SignAsNode signs: the replica's
// files only, so the node key's other signatures (audit checkpoints, export
// manifests) can never be obtained through it.
var replicaDomains = []string{"ward-seg/", "ward-snap/"}

// SignAsNode signs a replica file (a segment or a snapshot) with this
// node's key. msg must begin with the file's magic.
func (db *DB) SignAsNode(msg []byte) ([]byte, error) {
	for _, d := range replicaDomains {
		if strings.HasPrefix(string(msg[:min(len(msg), len(d))]), d) {
			return ed25519.Sign(db.sign, msg), nil
		}
	}
	return nil, errors.New("the node key signs only replica files")
}
