package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	sqlite3 "github.com/mutecomm/go-sqlcipher/v4"

	"ward/store/audit"
)

// ErrNotFound is returned when a record does not exist (or is deleted).
var ErrNotFound = errors.New("no such record")

// Tx is one database transaction. The record work done on it, its change-log
// rows and its audit entry commit together or not at all.
type Tx struct {
	ctx context.Context
	tx  *sql.Tx
	db  *DB
	now time.Time
}

// Update runs fn in one write transaction and commits when fn returns nil.
// app's audited door is its only caller for record work.
func (db *DB) Update(ctx context.Context, fn func(*Tx) error) error {
	sqlTx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return friendlyWriteError(err)
	}
	tx := &Tx{ctx: ctx, tx: sqlTx, db: db, now: time.Now()}
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return friendlyWriteError(err)
	}
	return nil
}

// Audit appends an entry to this node's audit chain inside the transaction.
func (tx *Tx) Audit(ev audit.Event) (audit.Entry, error) {
	return tx.db.audit.Append(tx.ctx, tx.tx, ev)
}

// AuditDB gives store/audit's readers (verify, export) this transaction.
func (tx *Tx) AuditDB() audit.DBTX { return tx.tx }

// Node is this workstation.
func (tx *Tx) Node() Node { return tx.db.self }

// AuditSigner signs exports and checkpoints as this node.
func (tx *Tx) AuditSigner() audit.Signer {
	return audit.Signer{Node: tx.db.self.ID, Key: tx.db.sign}
}

// stamp returns the replica columns for a row written now.
func (tx *Tx) stamp() (origin string, hlc uint64) {
	return tx.db.self.ID, tx.db.clock.Next()
}

// logChange records a local write in the change log for the replica: the row
// as it is after the write.
func (tx *Tx) logChange(table, id, op string, hlc uint64, row any) error {
	data, err := jsonRow(row)
	if err != nil {
		return err
	}
	_, err = tx.tx.ExecContext(tx.ctx, `INSERT INTO change_log(hlc, origin, table_name, row_id, op, data)
		VALUES (?, ?, ?, ?, ?, ?)`, int64(hlc), tx.db.self.ID, table, id, op, data)
	return err
}

func jsonRow(row any) (string, error) {
	b, err := json.Marshal(row)
	return string(b), err
}

// friendlyWriteError names a full disk or a read-only folder in words a
// person can act on; nothing committed before is lost in either case.
func friendlyWriteError(err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case sqlite3.ErrFull, sqlite3.ErrIoErr:
		return fmt.Errorf("the disk is full or failing, so this change was not saved (everything saved before is intact): free some space and try again (%v)", se.Code)
	case sqlite3.ErrReadonly, sqlite3.ErrCantOpen:
		return fmt.Errorf("the data folder cannot be written, so this change was not saved: check the folder's permissions (%v)", se.Code)
	}
	return err
}

// notFound maps "no row" to ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
