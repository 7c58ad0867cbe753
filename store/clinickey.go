package store

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
)

// The clinic key: 32 random bytes shared by every workstation of a clinic
// (DESIGN.md §2). It seals the replica's segments and snapshots end to end,
// lives only in the encrypted database (table clinic_key), and reaches a new
// workstation only inside a pairing exchange. It is never used directly:
// each use has its own sub-key, HKDF-SHA256(clinic key, label), so a key
// given to one purpose (a backup peer's folder password) opens nothing else.

// ClinicKeySize is the size of the clinic key.
const ClinicKeySize = 32

// Labels of the clinic key's sub-keys (HKDF info). Each names one use and
// its version; a new use gets a new label, never an existing one.
const (
	SubkeySegment    = "ward-segment/v1"     // sealing change-set segments
	SubkeySnapshot   = "ward-snapshot/v1"    // sealing snapshots for joining
	SubkeyBackupPeer = "ward-backup-peer/v1" // untrusted backup peers' folder passwords
)

// ensureClinicKey gives a database without a clinic key a fresh one: a new
// clinic (ward init), or one created before the replica existed.
func (db *DB) ensureClinicKey(ctx context.Context) error {
	var n int
	if err := db.sql.QueryRowContext(ctx, "SELECT count(*) FROM clinic_key").Scan(&n); err != nil || n > 0 {
		return err
	}
	k := make([]byte, ClinicKeySize)
	defer zero(k)
	if _, err := rand.Read(k); err != nil {
		return err
	}
	_, err := db.sql.ExecContext(ctx, `INSERT INTO clinic_key(one, key, created_at)
		SELECT 1, ?, ? WHERE NOT EXISTS (SELECT 1 FROM clinic_key)`, k, time.Now().Unix())
	return err
}

// ClinicKey returns a copy of the clinic key, for the pairing exchange that
// hands it to a new workstation (encrypted to that workstation). Wipe it
// after use.
func (db *DB) ClinicKey(ctx context.Context) ([]byte, error) {
	var k []byte
	if err := db.sql.QueryRowContext(ctx, "SELECT key FROM clinic_key WHERE one = 1").Scan(&k); err != nil {
		return nil, fmt.Errorf("the database has no clinic key: %w", notFound(err))
	}
	if len(k) != ClinicKeySize {
		zero(k)
		return nil, errors.New("the clinic key in the database is damaged")
	}
	return k, nil
}

// SetClinicKey replaces the clinic key with the one of the clinic this
// workstation joins. It is refused once the workstation holds clinic
// records: their segments were sealed with the key it has.
func (db *DB) SetClinicKey(ctx context.Context, key []byte) error {
	if len(key) != ClinicKeySize {
		return fmt.Errorf("a clinic key is %d bytes, not %d", ClinicKeySize, len(key))
	}
	return db.replicaTx(ctx, func(w *ReplicaWriter) error {
		if err := w.mustBeEmpty(); err != nil {
			return err
		}
		_, err := w.tx.ExecContext(ctx, `INSERT INTO clinic_key(one, key, created_at) VALUES (1, ?, ?)
			ON CONFLICT(one) DO UPDATE SET key = excluded.key, created_at = excluded.created_at`, key, time.Now().Unix())
		return err
	})
}

// ClinicSubkey derives the 32-byte sub-key of the clinic key for one use
// (SubkeySegment, SubkeySnapshot, SubkeyBackupPeer). Wipe it after use.
func (db *DB) ClinicSubkey(ctx context.Context, label string) ([]byte, error) {
	k, err := db.ClinicKey(ctx)
	if err != nil {
		return nil, err
	}
	defer zero(k)
	return DeriveSubkey(k, label)
}

// DeriveSubkey is HKDF-SHA256(clinic key, salt none, info label), 32 bytes.
func DeriveSubkey(clinicKey []byte, label string) ([]byte, error) {
	if len(clinicKey) != ClinicKeySize {
		return nil, fmt.Errorf("a clinic key is %d bytes, not %d", ClinicKeySize, len(clinicKey))
	}
	if label == "" {
		return nil, errors.New("a clinic sub-key needs a label")
	}
	return hkdf.Key(sha256.New, clinicKey, nil, label, 32)
}
