package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// Version is one write of a record as the change log holds it: the whole
// row after the write, when (HLC) and where (origin node) it was made.
type Version struct {
	Seq    int64
	HLC    uint64
	Origin string
	Op     string          // "upsert", or "delete" for a tombstone
	Data   json.RawMessage // the row, as the record's Go type encodes it
}

// At is the wall-clock time of the write.
func (v Version) At() time.Time { return HLCTime(v.HLC) }

// Decode reads the row into a record type (Patient, Allergy, …).
func (v Version) Decode(into any) error { return json.Unmarshal(v.Data, into) }

// HistoryTables are the record tables whose rows have a history.
var HistoryTables = []string{"patients", "appointments", "encounters", "notes", "allergies", "medications", "problems"}

// History lists every version of a record the change log holds, oldest
// first (by HLC, so versions from several workstations interleave as they
// happened). The first version is its creation; an empty history means the
// record does not exist.
func (tx *Tx) History(table, id string) ([]Version, error) {
	if !isHistoryTable(table) {
		return nil, fmt.Errorf("records of kind %q have no history", table)
	}
	vs, err := queryList(tx, func(row scanner) (Version, error) {
		var v Version
		var hlc int64
		var data string
		err := row.Scan(&v.Seq, &hlc, &v.Origin, &v.Op, &data)
		v.HLC, v.Data = uint64(hlc), json.RawMessage(data)
		return v, err
	}, `SELECT seq, hlc, origin, op, data FROM change_log WHERE table_name = ? AND row_id = ? ORDER BY hlc, origin, seq`, table, id)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, &NotFoundError{Record: singular(table), ID: id}
	}
	return vs, nil
}

// RecordPatient tells which patient a record (of any history table)
// belongs to now, tombstone or not: the audit entry of a history read
// names that patient.
func (tx *Tx) RecordPatient(table, id string) (string, error) {
	if !isHistoryTable(table) {
		return "", fmt.Errorf("records of kind %q have no history", table)
	}
	if table == "patients" {
		var n int
		err := tx.tx.QueryRowContext(tx.ctx, "SELECT count(*) FROM patients WHERE id = ?", id).Scan(&n)
		if err == nil && n == 0 {
			err = &NotFoundError{Record: "patient", ID: id}
		}
		return id, err
	}
	var pid string
	// table is one of HistoryTables, never typed by a person.
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT patient_id FROM "+table+" WHERE id = ?", id).Scan(&pid)
	return pid, missing(notFound(err), singular(table), id)
}

func isHistoryTable(table string) bool {
	for _, t := range HistoryTables {
		if t == table {
			return true
		}
	}
	return false
}

func singular(table string) string {
	switch table {
	case "allergies":
		return "allergy"
	case "patients", "appointments", "encounters", "notes", "medications", "problems":
		return table[:len(table)-1]
	}
	return table
}
