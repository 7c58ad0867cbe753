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
	// changed: the change log grew; after commit the replica's exporter
	// is told (DB.Changes).
	changed bool
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
	if tx.changed {
		db.notifyChanged()
	}
	return nil
}

// Audit appends an entry to this node's audit chain inside the transaction.
func (tx *Tx) Audit(ev audit.Event) (audit.Entry, error) {
	tx.changed = true // the replica sends this node's chain too
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
	// The row itself (row JSON, store/rowjson.go), read back in the same
	// statement, is what a peer applies.
	stmt, err := tx.db.logStatement(tx.ctx, tx.tx, table)
	if err != nil {
		return err
	}
	res, err := tx.tx.StmtContext(tx.ctx, stmt).ExecContext(tx.ctx, int64(hlc), tx.db.self.ID, table, id, op, data, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("the change log could not read back the %s row just written (%v)", singular(table), err)
	}
	tx.changed = true
	return nil
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
