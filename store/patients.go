package store

import (
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
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
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO patients(`+patientColumns+`, search_terms, origin, hlc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.MRN, p.Name, p.BirthDate, p.Sex, p.Phone, p.Address, p.Restricted,
		p.CreatedAt.Unix(), p.UpdatedAt.Unix(), searchTerms(p), origin, int64(hlc))
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
//
// FTS5's rank (bm25) scores every match, which at a million patients and a
// three-letter query is tens of thousands of rows per keystroke. Instead the
// index hands over a bounded pool of matches in index order, and the pool is
// ranked here: exact MRN, then whole-word name matches, then by name. When
// the pool is full, more patients match than are shown: keep typing.
func (tx *Tx) SearchPatients(query string, limit int) ([]Patient, error) {
	match, initials := ftsQuery(query)
	if match == "" {
		return nil, nil
	}
	if limit <= 0 {
		limit = 50
	}
	pool := limit * searchPoolFactor
	if len(initials) > 0 {
		pool *= 5 // much of the pool is filtered away by the initials
	}
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT `+patientColumns+` FROM patients
		WHERE rowid IN (SELECT rowid FROM patients_fts WHERE patients_fts MATCH ? LIMIT ?) AND deleted = 0`,
		match, pool)
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
		if hasInitials(p.Name, initials) {
			ps = append(ps, p)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rankPatients(ps, queryWords(query))
	if len(ps) > limit {
		ps = ps[:limit]
	}
	return ps, nil
}

// hasInitials tells whether name has, for each initial, a word starting with it.
func hasInitials(name string, initials []string) bool {
	words := queryWords(removeDiacritics(name))
next:
	for _, in := range initials {
		for _, w := range words {
			if strings.HasPrefix(w, in) {
				continue next
			}
		}
		return false
	}
	return true
}

// searchPoolFactor: how many matches per shown result are ranked.
const searchPoolFactor = 3

func rankPatients(ps []Patient, words []string) {
	score := func(p Patient) int {
		s := 0
		nameWords := queryWords(p.Name)
		for _, w := range words {
			if strings.EqualFold(w, p.MRN) || w == digitsOnly(p.Phone) {
				s += 100
			}
			for _, nw := range nameWords {
				if nw == w {
					s += 10
				}
			}
		}
		return s
	}
	scores := make(map[string]int, len(ps))
	for _, p := range ps {
		scores[p.ID] = score(p)
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if si, sj := scores[ps[i].ID], scores[ps[j].ID]; si != sj {
			return si > sj
		}
		return ps[i].Name < ps[j].Name
	})
}

// queryWords splits text the way the search index does (letters and digits),
// folded to lower case.
func queryWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// searchTerms is what the search index holds for a patient: the words of
// the name, and tagged terms for MRN, phone digits and birth date.
func searchTerms(p Patient) string {
	terms := queryWords(p.Name)
	for _, w := range queryWords(p.MRN) {
		terms = append(terms, "m_"+w)
	}
	if d := digitsOnly(p.Phone); d != "" {
		terms = append(terms, "p_"+d)
	}
	if d := digitsOnly(p.BirthDate); d != "" {
		terms = append(terms, "d_"+d)
	}
	return strings.Join(terms, " ")
}

// ftsQuery turns what a person typed into an FTS5 query. Each whitespace-
// separated chunk must match (AND):
//   - a chunk of digits and punctuation ("555-0142", "1984-03", "10004711")
//     matches a phone number, MRN or birth date starting with those digits —
//     as one term, never the pieces "555" and "0142", which every phone has;
//   - any other chunk matches a name having a word that starts with each of
//     its words (or, for one word, an MRN starting with it).
//
// A one-letter word beside longer ones ("zhang a") is returned as an initial
// to filter by instead: ANDing the index of every name with an "a" costs
// ~10x the rest of the query.
// Every term is quoted, so FTS operators typed by accident ("AND", "O'Brien",
// a stray quote) are just text.
func ftsQuery(typed string) (match string, initials []string) {
	var parts []string
	longest := 0
	for _, w := range queryWords(typed) {
		longest = max(longest, len([]rune(w)))
	}
	for _, chunk := range strings.Fields(typed) {
		words := queryWords(chunk)
		if len(words) == 0 {
			continue
		}
		if digits := digitsOnly(chunk); digits == strings.Join(words, "") {
			parts = append(parts, fmt.Sprintf(`("p_%s"* OR "m_%s"* OR "d_%s"*)`, digits, digits, digits))
			continue
		}
		var name []string
		for _, w := range words {
			if len([]rune(w)) == 1 && longest > 1 {
				initials = append(initials, removeDiacritics(w))
				continue
			}
			name = append(name, `"`+w+`"*`)
		}
		switch {
		case len(name) == 0:
		case len(words) == 1 && len(strings.Fields(typed)) == 1: // an MRN is typed on its own
			parts = append(parts, fmt.Sprintf(`("%s"* OR "m_%s"*)`, words[0], words[0]))
		default:
			parts = append(parts, strings.Join(name, " AND "))
		}
	}
	return strings.Join(parts, " AND "), initials
}

// removeDiacritics folds the letters the search index folds (é → e), for
// matching initials the way the index matches words.
func removeDiacritics(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
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
	triggers, err := tx.setAsidePatientTriggers()
	if err != nil {
		return err
	}
	ins, err := tx.tx.PrepareContext(tx.ctx, `INSERT INTO patients(`+patientColumns+`, search_terms, origin, hlc)
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
	logFrom, err := tx.changeLogHead()
	if err != nil {
		return err
	}
	now := tx.now.Truncate(time.Second)
	for i := range ps {
		p := &ps[i]
		p.ID = NewID()
		p.CreatedAt, p.UpdatedAt = now, now
		origin, hlc := tx.stamp()
		if _, err := ins.ExecContext(tx.ctx, p.ID, p.MRN, p.Name, p.BirthDate, p.Sex, p.Phone, p.Address, p.Restricted,
			now.Unix(), now.Unix(), searchTerms(*p), origin, int64(hlc)); err != nil {
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
	if err := tx.fillRowJSON("patients", logFrom); err != nil {
		return err
	}
	if err := tx.restorePatientTriggers(triggers); err != nil {
		return err
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

// UpdatePatient saves edited demographics of a patient: name, birth date,
// sex, phone, address and MRN (kept when p.MRN is ""). Registration time and
// the restricted mark are not changed here. The search index follows the
// new search terms by its triggers, so the new name is found and the old
// one no longer is.
func (tx *Tx) UpdatePatient(p Patient) (Patient, error) {
	old, err := tx.LivePatient(p.ID)
	if err != nil {
		return Patient{}, err
	}
	if p.MRN == "" {
		p.MRN = old.MRN
	}
	if p.MRN != old.MRN {
		var n int
		if err := tx.tx.QueryRowContext(tx.ctx, "SELECT count(*) FROM patients WHERE mrn = ? AND id <> ?", p.MRN, p.ID).Scan(&n); err != nil {
			return Patient{}, err
		}
		if n > 0 {
			return Patient{}, ErrMRNTaken
		}
	}
	p.Restricted, p.CreatedAt, p.UpdatedAt = old.Restricted, old.CreatedAt, tx.now.Truncate(time.Second)
	origin, hlc := tx.stamp()
	if err := tx.execOne(`UPDATE patients SET mrn = ?, name = ?, birth_date = ?, sex = ?, phone = ?, address = ?,
		search_terms = ?, updated_at = ?, origin = ?, hlc = ? WHERE id = ? AND deleted = 0`,
		p.MRN, p.Name, p.BirthDate, p.Sex, p.Phone, p.Address, searchTerms(p), p.UpdatedAt.Unix(), origin, int64(hlc), p.ID); err != nil {
		return Patient{}, err
	}
	return p, tx.logChange("patients", p.ID, "upsert", hlc, p)
}

// MergedPatient is the change-log row of a duplicate merged away: the
// patient as it was, and the record it now lives on in.
type MergedPatient struct {
	Patient
	MergedInto string
}

// MergeResult says what a merge moved: rows re-pointed per table.
type MergeResult struct {
	Keep, Duplicate string
	Moved           map[string]int // table → rows now on Keep
}

// Total is how many records moved.
func (r MergeResult) Total() int {
	n := 0
	for _, c := range r.Moved {
		n += c
	}
	return n
}

// mergeTables hold rows that belong to a patient, and how to read one back
// for the change log.
func (tx *Tx) mergeTables() []struct {
	table string
	read  func(string) (any, bool, error)
} {
	return []struct {
		table string
		read  func(string) (any, bool, error)
	}{
		{"appointments", anyRow(tx.appointmentRow)},
		{"encounters", anyRow(tx.encounterRow)},
		{"notes", anyRow(tx.noteRow)},
		{"allergies", anyRow(tx.allergyRow)},
		{"medications", anyRow(tx.medicationRow)},
		{"problems", anyRow(tx.problemRow)},
	}
}

func anyRow[T any](read func(string) (T, bool, error)) func(string) (any, bool, error) {
	return func(id string) (any, bool, error) { return read(id) }
}

// ErrMergeSelf is returned when a patient is to be merged into itself.
var ErrMergeSelf = errors.New("a patient cannot be merged with itself: choose two different records")

// MergePatients folds a duplicate registration into the record to keep:
// every appointment, encounter, note, allergy, medication and problem of the
// duplicate (tombstones too) is re-pointed to keep, each as a logged write;
// a restriction on the duplicate carries over to keep with its named
// clinicians (a merge never opens a chart wider); and the duplicate becomes
// a tombstone that names keep. Signed notes move with their patient but are
// otherwise untouched (the database allows exactly that).
func (tx *Tx) MergePatients(keep, dup string) (MergeResult, error) {
	res := MergeResult{Keep: keep, Duplicate: dup, Moved: map[string]int{}}
	if keep == dup {
		return res, ErrMergeSelf
	}
	keepP, err := tx.LivePatient(keep)
	if err != nil {
		return res, err
	}
	dupP, err := tx.LivePatient(dup)
	if err != nil {
		return res, err
	}
	for _, t := range tx.mergeTables() {
		ids, err := queryList(tx, func(row scanner) (string, error) {
			var id string
			return id, row.Scan(&id)
		}, "SELECT id FROM "+t.table+" WHERE patient_id = ? ORDER BY rowid", dup)
		if err != nil {
			return res, err
		}
		for _, id := range ids {
			origin, hlc := tx.stamp()
			if err := tx.execOne("UPDATE "+t.table+" SET patient_id = ?, origin = ?, hlc = ? WHERE id = ?", keep, origin, int64(hlc), id); err != nil {
				return res, fmt.Errorf("moving %s %s: %w", singular(t.table), id, err)
			}
			if _, err := logged(tx, t.table, id, hlc, t.read); err != nil {
				return res, err
			}
		}
		res.Moved[t.table] = len(ids)
	}
	if dupP.Restricted {
		type grant struct{ user, by string }
		grants, err := queryList(tx, func(row scanner) (grant, error) {
			var g grant
			return g, row.Scan(&g.user, &g.by)
		}, "SELECT user_id, granted_by FROM patient_access WHERE patient_id = ? AND deleted = 0", dup)
		if err != nil {
			return res, err
		}
		for _, g := range grants {
			if err := tx.SetPatientAccess(keep, g.user, g.by, true); err != nil {
				return res, err
			}
		}
		if !keepP.Restricted {
			if err := tx.SetPatientRestricted(keep, true); err != nil {
				return res, err
			}
		}
	}
	dupP.UpdatedAt = tx.now.Truncate(time.Second)
	origin, hlc := tx.stamp()
	if err := tx.execOne("UPDATE patients SET deleted = 1, merged_into = ?, updated_at = ?, origin = ?, hlc = ? WHERE id = ?",
		keep, dupP.UpdatedAt.Unix(), origin, int64(hlc), dup); err != nil {
		return res, err
	}
	return res, tx.logChange("patients", dup, "delete", hlc, MergedPatient{Patient: dupP, MergedInto: keep})
}

// LivePatient is Patient for record work: a patient merged away is a
// *MergedError that names the record to use, an unknown id a
// *NotFoundError; both match ErrNotFound.
func (tx *Tx) LivePatient(id string) (Patient, error) {
	p, err := tx.Patient(id)
	if errors.Is(err, ErrNotFound) {
		return p, tx.patientGone(id)
	}
	return p, err
}

// PatientMergedInto tells which record a merged-away patient lives on in
// ("" when id was not merged), so an old id leads to the right chart.
func (tx *Tx) PatientMergedInto(id string) (string, error) {
	var into string
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT merged_into FROM patients WHERE id = ?", id).Scan(&into)
	return into, missing(notFound(err), "patient", id)
}
