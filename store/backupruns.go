package store

import (
	"database/sql"
	"errors"
	"time"

	"ward/store/audit"
)

// Kinds of BackupRun.
const (
	RunBackup = "backup"
	RunDrill  = "drill" // a restore drill: the backup restored into a temp folder and checked
)

// BackupRun is one backup or restore drill of this workstation (table
// backup_runs): what `ward backup status` and the evidence report show.
type BackupRun struct {
	Kind   string
	User   string    // who ran it: a user id, or "system" for the schedule
	At     time.Time // when it finished
	Took   time.Duration
	OK     bool
	File   string
	Bytes  int64
	Detail string // findings, or why it failed; never patient data or key material
}

// AddBackupRun records a backup or drill.
func (tx *Tx) AddBackupRun(r BackupRun) error {
	outcome := audit.OutcomeFailure
	if r.OK {
		outcome = audit.OutcomeSuccess
	}
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO backup_runs(kind, user_id, at, took_ms, outcome, file, bytes, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.Kind, r.User, r.At.UnixNano(), r.Took.Milliseconds(), outcome, r.File, r.Bytes, r.Detail)
	return err
}

// LastBackupRun is the newest run of kind (only successful ones with
// okOnly); found is false when there is none.
func (tx *Tx) LastBackupRun(kind string, okOnly bool) (r BackupRun, found bool, err error) {
	q := `SELECT kind, user_id, at, took_ms, outcome, file, bytes, detail FROM backup_runs WHERE kind = ?`
	if okOnly {
		q += ` AND outcome = '` + audit.OutcomeSuccess + `'`
	}
	var at, took int64
	var outcome string
	err = tx.tx.QueryRowContext(tx.ctx, q+` ORDER BY at DESC, id DESC LIMIT 1`, kind).Scan(
		&r.Kind, &r.User, &at, &took, &outcome, &r.File, &r.Bytes, &r.Detail)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	r.At, r.Took, r.OK = time.Unix(0, at).UTC(), time.Duration(took)*time.Millisecond, outcome == audit.OutcomeSuccess
	return r, true, nil
}
