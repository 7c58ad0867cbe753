package store

import (
	"database/sql"
	"errors"
)

// Setting returns a clinic setting, or def when it is not set.
func (tx *Tx) Setting(key, def string) (string, error) {
	var v string
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT value FROM settings WHERE key = ? AND deleted = 0", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return def, nil
	}
	return v, err
}

// SetSetting writes a clinic setting (replicated like any record).
func (tx *Tx) SetSetting(key, value string) error {
	origin, hlc := tx.stamp()
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO settings(key, value, origin, hlc) VALUES (?, ?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value, origin = excluded.origin, hlc = excluded.hlc, deleted = 0`,
		key, value, origin, int64(hlc))
	if err != nil {
		return err
	}
	return tx.logChange("settings", key, "upsert", hlc, map[string]string{"key": key, "value": value})
}
