package store

import (
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode"
)

// Patient is a person the clinic cares for (demographics only; the chart
// lives in its own tables).
type Patient struct {
	ID         string
	MRN        string
	Name       string
	BirthDate  string // YYYY-MM-DD
	Sex        string
	Phone      string
	Address    string
	Restricted bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ErrMRNTaken is returned when a medical record number is already in use.
var ErrMRNTaken = errors.New("that medical record number (MRN) is already used by another patient")

const patientColumns = "id, mrn, name, birth_date, sex, phone, address, restricted, created_at, updated_at"

func scanPatient(row interface{ Scan(...any) error }) (Patient, error) {
	var p Patient
	var created, updated int64
	err := row.Scan(&p.ID, &p.MRN, &p.Name, &p.BirthDate, &p.Sex, &p.Phone, &p.Address, &p.Restricted, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Patient{}, ErrNotFound
	}
	p.CreatedAt, p.UpdatedAt = time.Unix(created, 0), time.Unix(updated, 0)
	return p, err
}

// digitsOnly keeps the digits of a phone number, so "555-0142" is found by
// "5550142" as well.
func digitsOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// AddPatient registers a patient with a new id, and an MRN when none is given.
func (tx *Tx) AddPatient(p Patient) (Patient, error) {
	p.ID = NewID()
	if p.MRN == "" {
		mrn, err := tx.newMRN()
		if err != nil {
			return Patient{}, err
		}
		p.MRN = mrn
	} else if taken, err := tx.mrnTaken(p.MRN); err != nil {
		return Patient{}, err
	} else if taken {
		return Patient{}, ErrMRNTaken
	}
	p.CreatedAt = tx.now.Truncate(time.Second)
	p.UpdatedAt = p.CreatedAt
	origin, hlc := tx.stamp()
	if err := tx.insertPatient(p, origin, hlc); err != nil {
		return Patient{}, err
	}
	return p, tx.logChange("patients", p.ID, "upsert", hlc, p)
}

func (tx *Tx) insertPatient(p Patient, origin string, hlc uint64) error {
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO patients(`+patientColumns+`, phone_digits, origin, hlc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.MRN, p.Name, p.BirthDate, p.Sex, p.Phone, p.Address, p.Restricted,
		p.CreatedAt.Unix(), p.UpdatedAt.Unix(), digitsOnly(p.Phone), origin, int64(hlc))
	return err
}

func (tx *Tx) mrnTaken(mrn string) (bool, error) {
	var n int
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT count(*) FROM patients WHERE mrn = ?", mrn).Scan(&n)
	return n > 0, err
}

// newMRN draws an unused 8-digit medical record number. Random rather than
// sequential, so two workstations registering offline do not collide (the
// replica resolves the rare clash).
func (tx *Tx) newMRN() (string, error) {
	for i := 0; i < 20; i++ {
		n, err := rand.Int(rand.Reader, big.NewInt(90_000_000))
		if err != nil {
			return "", err
		}
		mrn := fmt.Sprintf("%08d", n.Int64()+10_000_000)
		if taken, err := tx.mrnTaken(mrn); err != nil {
			return "", err
		} else if !taken {
			return mrn, nil
		}
	}
	return "", errors.New("could not find a free medical record number")
}

// Patient returns one patient by id.
func (tx *Tx) Patient(id string) (Patient, error) {
	return scanPatient(tx.tx.QueryRowContext(tx.ctx, "SELECT "+patientColumns+" FROM patients WHERE id = ? AND deleted = 0", id))
}

// SearchPatients finds patients whose name, MRN, phone or birth date start
// with every word of the query (as typed at the front desk), best match first.
func (tx *Tx) SearchPatients(query string, limit int) ([]Patient, error) {
	match := ftsQuery(query)
	if match == "" {
		return nil, nil
	}
	if limit <= 0 {
		limit = 50
	}
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT `+prefixed("p.", patientColumns)+`
		FROM patients_fts f JOIN patients p ON p.rowid = f.rowid
		WHERE patients_fts MATCH ? AND p.deleted = 0
		ORDER BY f.rank LIMIT ?`, match, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ps []Patient
	for rows.Next() {
		p, err := scanPatient(rows)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, rows.Err()
}

// ftsQuery turns what a person typed into an FTS5 query: every word becomes
// a quoted prefix term, so punctuation and FTS operators typed by accident
// ("O'Brien", "AND", "555-0142") are just text.
func ftsQuery(typed string) string {
	words := strings.FieldsFunc(typed, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for i, w := range words {
		words[i] = `"` + w + `"*`
	}
	return strings.Join(words, " ")
}

func prefixed(prefix, columns string) string {
	cols := strings.Split(columns, ", ")
	for i, c := range cols {
		cols[i] = prefix + c
	}
	return strings.Join(cols, ", ")
}

// BulkAddPatients registers many patients in this transaction, fast: the
// search-index triggers are set aside, the rows inserted, the index rebuilt
// once, and the triggers put back (from their own text in sqlite_master, so
// the migration stays their only definition).
func (tx *Tx) BulkAddPatients(ps []Patient, progress func(done int)) error {
	triggers, err := tx.patientTriggers()
	if err != nil {
		return err
	}
	for name := range triggers {
		if _, err := tx.tx.ExecContext(tx.ctx, "DROP TRIGGER "+name); err != nil {
			return err
		}
	}
	ins, err := tx.tx.PrepareContext(tx.ctx, `INSERT INTO patients(`+patientColumns+`, phone_digits, origin, hlc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	logIns, err := tx.tx.PrepareContext(tx.ctx, `INSERT INTO change_log(hlc, origin, table_name, row_id, op, data) VALUES (?, ?, 'patients', ?, 'upsert', ?)`)
	if err != nil {
		return err
	}
	defer logIns.Close()
	now := tx.now.Truncate(time.Second)
	for i := range ps {
		p := &ps[i]
		p.ID = NewID()
		p.CreatedAt, p.UpdatedAt = now, now
		origin, hlc := tx.stamp()
		if _, err := ins.ExecContext(tx.ctx, p.ID, p.MRN, p.Name, p.BirthDate, p.Sex, p.Phone, p.Address, p.Restricted,
			now.Unix(), now.Unix(), digitsOnly(p.Phone), origin, int64(hlc)); err != nil {
			if strings.Contains(err.Error(), "UNIQUE") {
				return fmt.Errorf("patient %d of the import: %w", i+1, ErrMRNTaken)
			}
			return err
		}
		data, err := jsonRow(p)
		if err != nil {
			return err
		}
		if _, err := logIns.ExecContext(tx.ctx, int64(hlc), origin, p.ID, data); err != nil {
			return err
		}
		if progress != nil && (i+1)%5000 == 0 {
			progress(i + 1)
		}
	}
	if _, err := tx.tx.ExecContext(tx.ctx, "INSERT INTO patients_fts(patients_fts) VALUES ('rebuild')"); err != nil {
		return err
	}
	for _, def := range triggers {
		if _, err := tx.tx.ExecContext(tx.ctx, def); err != nil {
			return err
		}
	}
	if progress != nil {
		progress(len(ps))
	}
	return nil
}

func (tx *Tx) patientTriggers() (map[string]string, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'patients'")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			return nil, err
		}
		m[name] = def
	}
	return m, rows.Err()
}

// PatientCount counts registered patients.
func (tx *Tx) PatientCount() (int, error) {
	var n int
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT count(*) FROM patients WHERE deleted = 0").Scan(&n)
	return n, err
}
