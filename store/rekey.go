package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
)

// Rekey re-encrypts the whole database under newKey. SQLCipher cannot rekey
// a database in WAL mode safely, so: close every pooled connection, then on
// one connection checkpoint the WAL away, switch to DELETE, rekey, switch
// back to WAL. No transaction may run meanwhile; the caller owns that.
// On success the DB is open again under the new key.
func (db *DB) Rekey(ctx context.Context, newKey []byte) error {
	if len(newKey) != KeySize {
		return fmt.Errorf("a database key is %d bytes", KeySize)
	}
	if err := db.sql.Close(); err != nil {
		return err
	}
	one := sql.OpenDB(db.conn)
	one.SetMaxOpenConns(1)
	err := func() error {
		defer one.Close()
		conn, err := one.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		for _, q := range []string{
			"PRAGMA wal_checkpoint(TRUNCATE)",
			"PRAGMA journal_mode = DELETE",
			`PRAGMA rekey = "x'` + hex.EncodeToString(newKey) + `'"`,
			"PRAGMA journal_mode = WAL",
		} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				// Never wrap the statement: it holds the key.
				return fmt.Errorf("re-encrypting the database failed at step %q: %w", pragmaName(q), err)
			}
		}
		return nil
	}()
	if err != nil {
		db.sql = sql.OpenDB(db.conn) // still the old key
		return err
	}
	db.conn.mu.Lock()
	zero(db.conn.key)
	db.conn.key = append([]byte(nil), newKey...)
	db.conn.mu.Unlock()
	db.sql = sql.OpenDB(db.conn)
	var appID int
	if err := db.sql.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return fmt.Errorf("the database does not open with its new key: %w", err)
	}
	return nil
}

func pragmaName(q string) string {
	if len(q) > 12 && q[:12] == "PRAGMA rekey" {
		return "rekey"
	}
	return q
}
