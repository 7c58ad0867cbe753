package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"ward/store/audit"
)

// Applying a peer's write. One generic applier for every replicated table:
// the columns come from the table itself (PRAGMA table_info), never from the
// peer's row, and only tables in replicated take writes. Each table has one
// rule (docs/replica.md, "Rules per table"); every rule converges: the
// result does not depend on the order in which writes arrive.

// rule is how a table resolves concurrent writes.
type rule int

const (
	ruleRow      rule = iota // last writer wins per row: (hlc, origin) compared
	rulePatient              // last writer wins per field (patient_field_clocks)
	ruleNote                 // a signed version beats any draft; a signed note never changes
	ruleUser                 // per row, and a username taken twice is told apart
	ruleAccess               // per (patient, clinician) pair, whichever row id it has
	ruleNode                 // a node's key never changes; its revocation stays
	ruleSettings             // per key
)

// replicated are the tables that replicate, and their rules. Per-workstation
// state (auth_state, node_self, backup_runs, replica_*) never does.
var replicated = map[string]rule{
	"patients":       rulePatient,
	"appointments":   ruleRow,
	"encounters":     ruleRow,
	"notes":          ruleNote,
	"allergies":      ruleRow,
	"medications":    ruleRow,
	"problems":       ruleRow,
	"users":          ruleUser,
	"settings":       ruleSettings,
	"patient_access": ruleAccess,
	"nodes":          ruleNode,
	// Emergency access: a grant changes only when its holder (or its own
	// workstation, at expiry) ends it; its review is a separate row, so an
	// end and a review made on two workstations never collide.
	"emergency_grants":  ruleRow,
	"emergency_reviews": ruleRow,
}

// ReplicatedTables are the tables that replicate, in the order a snapshot
// carries them (people and nodes before the records that name them).
var ReplicatedTables = []string{"nodes", "settings", "users", "patients", "patient_access", "appointments",
	"encounters", "notes", "allergies", "medications", "problems", "emergency_grants", "emergency_reviews"}

// ApplyChange applies one of a peer's change-log entries: the entry joins
// the change log (so history shows it) and its row is merged by the table's
// rule. An entry already held (same origin and origin seq) is skipped. It
// tells whether the entry was new.
func (w *ReplicaWriter) ApplyChange(c Change) (bool, error) {
	if c.Origin == w.db.self.ID {
		return false, refused("a peer sent a change made by this workstation")
	}
	if _, ok := replicated[c.Table]; !ok {
		return false, refused("a change to %q, which does not replicate", c.Table)
	}
	if c.Op != "upsert" && c.Op != "delete" || c.RowID == "" || c.OriginSeq == 0 {
		return false, refused("a malformed change-log entry (seq %d of node %s)", c.OriginSeq, c.Origin)
	}
	res, err := w.exec(`INSERT OR IGNORE INTO change_log(hlc, origin, table_name, row_id, op, data, row_json, origin_seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, int64(c.HLC), c.Origin, c.Table, c.RowID, c.Op, c.Data, c.Row, int64(c.OriginSeq))
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err // held already: its row was applied with it
	}
	w.see(c.HLC)
	if c.Row == "" {
		return true, nil // logged before 005: history only
	}
	_, err = w.applyRow(c.Table, c.Row, c.RowID)
	return true, err
}

// InstallChange adds a change-log entry from a snapshot: history only, its
// row comes with the snapshot's tables.
func (w *ReplicaWriter) InstallChange(c Change) error {
	if c.Origin == w.db.self.ID {
		return refused("a snapshot holds changes made by this workstation")
	}
	if _, ok := replicated[c.Table]; !ok {
		return refused("a snapshot holds a change to %q, which does not replicate", c.Table)
	}
	_, err := w.exec(`INSERT OR IGNORE INTO change_log(hlc, origin, table_name, row_id, op, data, row_json, origin_seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, int64(c.HLC), c.Origin, c.Table, c.RowID, c.Op, c.Data, c.Row, int64(c.OriginSeq))
	w.see(c.HLC)
	return err
}

// InstallRow merges one row of a snapshot's table, by the table's rule.
func (w *ReplicaWriter) InstallRow(table, row string) error {
	if _, ok := replicated[table]; !ok {
		return refused("a snapshot holds rows of %q, which does not replicate", table)
	}
	_, err := w.applyRow(table, row, "")
	return err
}

func (w *ReplicaWriter) see(hlc uint64) { w.maxHLC = max(w.maxHLC, hlc) }

// NewestHLC is the latest stamp of the changes taken in this transaction
// so far: this workstation's clock moves past it at commit.
func (w *ReplicaWriter) NewestHLC() uint64 { return w.maxHLC }

// applyRow merges row into table; wantKey, if set, must be the row's key.
// It tells whether the table changed.
func (w *ReplicaWriter) applyRow(table, row, wantKey string) (bool, error) {
	ti, err := w.db.table(w.ctx, w.tx, table)
	if err != nil {
		return false, err
	}
	vals, clocks, err := decodeRow(row)
	if err != nil {
		return false, refused("a %s row: %v", singular(table), err)
	}
	key, ok := vals[ti.pk].(string)
	if !ok || key == "" || wantKey != "" && key != wantKey {
		return false, refused("a %s row whose key is not the one its change names", singular(table))
	}
	// Last writer wins compares these two: they must be what this
	// database writes (an integer, a node id), or a row could win for ever.
	hlc, okHLC := vals["hlc"].(int64)
	_, okOrigin := vals["origin"].(string)
	if !okHLC || hlc < 0 || !okOrigin {
		return false, refused("a %s row without a valid origin and clock", singular(table))
	}
	w.see(uint64(hlc))
	switch replicated[table] {
	case rulePatient:
		return w.applyPatient(ti, key, vals, clocks)
	case ruleNote:
		return w.applyNote(ti, key, vals)
	case ruleUser:
		return w.applyUser(ti, key, vals)
	case ruleNode:
		return w.applyNode(ti, key, vals)
	case ruleAccess:
		return w.upsert(ti, vals, lwwCond(table), "patient_id", "user_id")
	default:
		return w.upsert(ti, vals, lwwCond(table))
	}
}

// lwwCond: the incoming row was written later ((hlc, origin) is greater).
func lwwCond(table string) string {
	return `(excluded.hlc, excluded.origin) > ("` + table + `".hlc, "` + table + `".origin)`
}

// upsert inserts the row, or updates the existing one (by target) when cond
// holds. Only the table's own columns are written; a column the peer did
// not send keeps its value (or default).
func (w *ReplicaWriter) upsert(ti *tableInfo, vals rowValues, cond string, target ...string) (bool, error) {
	if len(target) == 0 {
		target = []string{ti.pk}
	}
	var cols, marks, sets []string
	var args []any
	for _, c := range ti.cols {
		v, ok := vals[c.name]
		if !ok {
			continue
		}
		cols = append(cols, `"`+c.name+`"`)
		marks = append(marks, "?")
		args = append(args, v)
		if !slices.Contains(target, c.name) {
			sets = append(sets, fmt.Sprintf(`"%s" = excluded."%s"`, c.name, c.name))
		}
	}
	q := `INSERT INTO "` + ti.name + `"(` + strings.Join(cols, ", ") + `) VALUES (` + strings.Join(marks, ", ") + `)
		ON CONFLICT("` + strings.Join(target, `", "`) + `") DO UPDATE SET ` + strings.Join(sets, ", ") + ` WHERE ` + cond
	res, err := w.exec(q, args...)
	if err != nil {
		return false, refusedConstraint(ti.name, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// refusedConstraint turns a constraint the row breaks (NOT NULL, UNIQUE, a
// trigger's RAISE) into a refusal: the row, not the disk, is at fault.
func refusedConstraint(table string, err error) error {
	msg := err.Error()
	for _, s := range []string{"constraint failed", "signed note", "datatype mismatch", "note is signed"} {
		if strings.Contains(msg, s) {
			return refused("a %s row breaks a rule of this database (%s)", singular(table), constraintWords(msg))
		}
	}
	return err
}

// constraintWords keeps the kind of constraint and the column, never a value.
func constraintWords(msg string) string {
	for _, k := range []string{"UNIQUE", "NOT NULL", "CHECK", "FOREIGN KEY", "PRIMARY KEY"} {
		if i := strings.Index(msg, k+" constraint failed"); i >= 0 {
			return msg[i:]
		}
	}
	if strings.Contains(msg, "signed") {
		return "a signed note cannot be changed"
	}
	return "constraint"
}

// applyNote: a signed note is a legal record. A signed version beats any
// draft whatever the clocks; between two versions of the same status the
// later write wins; and a signed note never changes what it says — a peer's
// version that would is refused (the segment is quarantined). One case is
// resolved instead of refused: the same draft signed by its author on two
// workstations while they were apart (same author, creation, encounter and
// amended note; the signing time and perhaps the text differ). The earlier
// signing is the note everywhere; the later one stays in the note's history
// (its change is in the change log on every workstation), and the applying
// segment's audit entry says so.
func (w *ReplicaWriter) applyNote(ti *tableInfo, key string, vals rowValues) (bool, error) {
	local, _, found, err := w.readRow(ti, key)
	if err != nil {
		return false, err
	}
	if found && local["status"] == NoteSigned && vals["status"] == NoteSigned {
		for _, c := range []string{"body", "status", "signed_at", "author_id", "amends_id", "encounter_id", "created_at", "deleted"} {
			if sameValue(local[c], vals[c]) {
				continue
			}
			if !signedTwice(local, vals) {
				return false, refused("a change to signed note %s (%s differs): a signed note cannot be changed, only amended", key, c)
			}
			w.signedTwice = append(w.signedTwice, key)
			if !signedBefore(vals, local) {
				return false, nil // the signing here is the earlier: it stays
			}
			return w.replaceSignedNote(ti, vals)
		}
	}
	return w.upsert(ti, vals, `(excluded.status = 'signed', excluded.hlc, excluded.origin) > (notes.status = 'signed', notes.hlc, notes.origin)`)
}

// signedTwice: a and b are one draft signed twice by its author, not a
// rewrite of a signed note.
func signedTwice(a, b rowValues) bool {
	for _, c := range []string{"author_id", "amends_id", "encounter_id", "created_at", "deleted"} {
		if !sameValue(a[c], b[c]) {
			return false
		}
	}
	return true
}

// signedBefore orders two signings of one note the same way on every
// workstation: by signing time, then by content, never by who applies it.
func signedBefore(a, b rowValues) bool {
	ta, _ := a["signed_at"].(int64)
	tb, _ := b["signed_at"].(int64)
	if ta != tb {
		return ta < tb
	}
	return fmt.Sprint(a["body"], a["hlc"], a["origin"]) < fmt.Sprint(b["body"], b["hlc"], b["origin"])
}

// replaceSignedNote puts the earlier signing of a note signed twice in
// place of the later one here. The database's own guard against changing a
// signed note is set aside for this one statement, inside this transaction.
func (w *ReplicaWriter) replaceSignedNote(ti *tableInfo, vals rowValues) (bool, error) {
	const guard = "notes_signed_immutable"
	var def string
	if err := w.tx.QueryRowContext(w.ctx, "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", guard).Scan(&def); err != nil {
		return false, fmt.Errorf("the signed-note guard is missing: %w", err)
	}
	if _, err := w.tx.ExecContext(w.ctx, "DROP TRIGGER "+guard); err != nil {
		return false, err
	}
	w.closeStmts() // prepared before the schema changed
	changed, err := w.upsert(ti, vals, "1")
	if err != nil {
		return false, err
	}
	_, err = w.tx.ExecContext(w.ctx, def)
	w.closeStmts()
	return changed, err
}

// NotesSignedTwice lists the notes this transaction found signed on two
// workstations (applyNote), for the segment's audit entry.
func (w *ReplicaWriter) NotesSignedTwice() []string { return w.signedTwice }

// applyUser: last writer wins per row (the password hash, PIN and second
// factor travel with the person, so they sign in anywhere). A username
// created on two workstations while apart is kept by the older account; the
// newer one is renamed username-<end of its id> on every workstation.
func (w *ReplicaWriter) applyUser(ti *tableInfo, key string, vals rowValues) (bool, error) {
	local, _, found, err := w.readRow(ti, key)
	if err != nil {
		return false, err
	}
	if found && !rowClock(vals).after(rowClock(local)) {
		return false, nil
	}
	if err := w.resolveUnique(ti, key, vals, "username", "COLLATE NOCASE"); err != nil {
		return false, err
	}
	return w.upsert(ti, vals, lwwCond("users"))
}

// applyNode: a node's id is derived from its key, so a row whose key does
// not give its id, or that changes a known node's key, is refused. Its name
// follows the later write; a revocation, once made anywhere, stays (the
// earliest time wins).
func (w *ReplicaWriter) applyNode(ti *tableInfo, key string, vals rowValues) (bool, error) {
	pub, ok := vals["public_key"].([]byte)
	if !ok || len(pub) != 32 || NodeID(pub) != key {
		return false, refused("a node record whose key does not give its id %s", key)
	}
	local, _, found, err := w.readRow(ti, key)
	if err != nil {
		return false, err
	}
	if !found {
		return w.upsert(ti, vals, "0")
	}
	if !bytes.Equal(local["public_key"].([]byte), pub) {
		return false, refused("a node record that changes the key of node %s", key)
	}
	merged := rowValues{}
	for k, v := range local {
		merged[k] = v
	}
	if rowClock(vals).after(rowClock(local)) {
		for _, c := range []string{"name", "added_at", "device_id", "addresses", "origin", "hlc"} { // device_id, addresses: migration 006 (sync/node)
			if v, ok := vals[c]; ok {
				merged[c] = v
			}
		}
	}
	if r, ok := vals["revoked_at"].(int64); ok {
		if l, ok := local["revoked_at"].(int64); !ok || r < l {
			merged["revoked_at"] = r
		}
	}
	if sameRow(merged, local) {
		return false, nil
	}
	return w.upsert(ti, merged, "1")
}

// applyPatient merges demographics field by field: each field takes the
// value of the write that changed it last (its clock in
// patient_field_clocks, (hlc, origin) compared). A field no write has
// changed since registration has the zero clock on both sides; where clocks
// tie the later row wins, which is what per-row would do. search_terms is
// derived, so it is computed here from the merged fields.
func (w *ReplicaWriter) applyPatient(ti *tableInfo, key string, vals rowValues, clocks map[string]fieldClock) (bool, error) {
	var local rowValues
	var lclocks map[string]fieldClock
	found := false
	if w.bulk == nil {
		var err error
		if local, lclocks, found, err = w.readRow(ti, key); err != nil {
			return false, err
		}
	}
	merged, mclocks := rowValues{}, map[string]fieldClock{}
	if !found {
		for _, c := range ti.cols {
			if v, ok := vals[c.name]; ok {
				merged[c.name] = v
			}
		}
		for f, c := range clocks {
			if ti.has(f) {
				mclocks[f] = c
			}
		}
	} else {
		incomingLater := rowClock(vals).after(rowClock(local))
		for _, c := range ti.cols {
			f := c.name
			lv := local[f]
			merged[f] = lv
			if lc, ok := lclocks[f]; ok {
				mclocks[f] = lc
			}
			iv, ok := vals[f]
			if !ok || f == "id" || f == "search_terms" {
				continue
			}
			ic, lc := clocks[f], lclocks[f]
			switch {
			case f == "hlc" || f == "origin":
				if incomingLater {
					merged[f] = iv
				}
			case ic.after(lc):
				merged[f] = iv
				mclocks[f] = ic
			case lc.after(ic):
			case incomingLater:
				merged[f] = iv
			}
		}
	}
	if err := w.resolveUnique(ti, key, merged, "mrn", ""); err != nil {
		return false, err
	}
	merged["search_terms"] = searchTerms(patientOf(merged))
	if found && sameRow(merged, local) && sameClocks(mclocks, lclocks) {
		return false, nil
	}
	if _, err := w.upsert(ti, merged, "1"); err != nil {
		return false, err
	}
	return true, w.setClocks(key, mclocks, !found)
}

// setClocks replaces a patient's field clocks (the trigger has just set
// some to this write's clock; the merge knows better). fresh: the row was
// just inserted, so it has none.
func (w *ReplicaWriter) setClocks(id string, clocks map[string]fieldClock, fresh bool) error {
	if !fresh {
		if _, err := w.exec("DELETE FROM patient_field_clocks WHERE patient_id = ?", id); err != nil {
			return err
		}
	}
	for f, c := range clocks {
		if c == (fieldClock{}) {
			continue
		}
		if _, err := w.exec("INSERT INTO patient_field_clocks(patient_id, field, hlc, origin) VALUES (?, ?, ?, ?)",
			id, f, int64(c.HLC), c.Origin); err != nil {
			return err
		}
	}
	return nil
}

// resolveUnique keeps a unique column unique across workstations: when two
// rows written apart claim one value (an MRN, a username), the row with the
// smaller id (the older: ids are UUIDv7) keeps it and the other becomes
// value-<last 6 characters of its id>, the same on every workstation.
// collate is "" or a COLLATE clause matching the column's.
func (w *ReplicaWriter) resolveUnique(ti *tableInfo, key string, vals rowValues, col, collate string) error {
	v, ok := vals[col].(string)
	if !ok {
		return nil
	}
	for range 2 {
		var other string
		q, err := w.stmt(`SELECT id FROM "` + ti.name + `" WHERE "` + col + `" = ? ` + collate + ` AND id <> ? LIMIT 1`)
		if err != nil {
			return err
		}
		err = q.QueryRowContext(w.ctx, v, key).Scan(&other)
		if errors.Is(notFound(err), ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if key > other {
			v = uniqueSuffix(v, key)
			vals[col] = v
			continue
		}
		if err := w.renameUnique(ti, other, col); err != nil {
			return err
		}
	}
	return nil
}

func uniqueSuffix(v, id string) string { return v + "-" + id[max(len(id)-6, 0):] }

// renameUnique gives row id its suffixed value of col without changing its
// clocks (every workstation makes the same rename when it sees both rows).
func (w *ReplicaWriter) renameUnique(ti *tableInfo, id, col string) error {
	row, clocks, found, err := w.readRow(ti, id)
	if err != nil || !found {
		return err
	}
	v, _ := row[col].(string)
	row[col] = uniqueSuffix(v, id)
	if ti.name == "patients" {
		row["search_terms"] = searchTerms(patientOf(row))
	}
	if _, err := w.upsert(ti, row, "1"); err != nil {
		return err
	}
	if ti.name == "patients" {
		return w.setClocks(id, clocks, false)
	}
	return nil
}

// readRow reads one row by key with a statement prepared once per
// transaction.
func (w *ReplicaWriter) readRow(ti *tableInfo, key string) (rowValues, map[string]fieldClock, bool, error) {
	q, err := w.stmt(rowQuery(ti))
	if err != nil {
		return nil, nil, false, err
	}
	var s string
	if err := q.QueryRowContext(w.ctx, key).Scan(&s); err != nil {
		if errors.Is(notFound(err), ErrNotFound) {
			return nil, nil, false, nil
		}
		return nil, nil, false, err
	}
	vals, clocks, err := decodeRow(s)
	return vals, clocks, err == nil, err
}

// patientOf is what searchTerms needs of a merged patient row.
func patientOf(r rowValues) Patient {
	s := func(k string) string { v, _ := r[k].(string); return v }
	return Patient{MRN: s("mrn"), Name: s("name"), Phone: s("phone"), BirthDate: s("birth_date")}
}

func rowClock(r rowValues) fieldClock {
	h, _ := r["hlc"].(int64)
	o, _ := r["origin"].(string)
	return fieldClock{uint64(h), o}
}

func sameValue(a, b any) bool {
	if ab, ok := a.([]byte); ok {
		bb, ok := b.([]byte)
		return ok && bytes.Equal(ab, bb)
	}
	return a == b
}

func sameRow(a, b rowValues) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !sameValue(v, w) {
			return false
		}
	}
	return true
}

func sameClocks(a, b map[string]fieldClock) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// --- snapshots into an empty database ---

// bulkState: a snapshot is being installed into an empty workstation. The
// patients' triggers are set aside (the search index is rebuilt once at the
// end, as BulkAddPatients does) and every row is new.
type bulkState struct{ triggers map[string]string }

// BeginInstall prepares an empty workstation to take a snapshot.
func (w *ReplicaWriter) BeginInstall() error {
	if err := w.mustBeEmpty(); err != nil {
		return err
	}
	tx := &Tx{ctx: w.ctx, tx: w.tx, db: w.db}
	triggers, err := tx.setAsidePatientTriggers()
	if err != nil {
		return err
	}
	w.bulk = &bulkState{triggers: triggers}
	return nil
}

// EndInstall rebuilds the search index and puts the triggers back.
func (w *ReplicaWriter) EndInstall() error {
	if w.bulk == nil {
		return nil
	}
	w.closeStmts()
	tx := &Tx{ctx: w.ctx, tx: w.tx, db: w.db}
	if err := tx.restorePatientTriggers(w.bulk.triggers); err != nil {
		return err
	}
	w.bulk = nil
	return nil
}

// setAsidePatientTriggers drops the patients' triggers (the search index's
// and the field clocks') for a bulk load, returning their definitions.
func (tx *Tx) setAsidePatientTriggers() (map[string]string, error) {
	triggers, err := tx.patientTriggers()
	if err != nil {
		return nil, err
	}
	for name := range triggers {
		if _, err := tx.tx.ExecContext(tx.ctx, "DROP TRIGGER "+name); err != nil {
			return nil, err
		}
	}
	return triggers, nil
}

// restorePatientTriggers rebuilds the search index once and puts the
// triggers back after a bulk load.
func (tx *Tx) restorePatientTriggers(triggers map[string]string) error {
	if _, err := tx.tx.ExecContext(tx.ctx, "INSERT INTO patients_fts(patients_fts) VALUES ('rebuild')"); err != nil {
		return err
	}
	for _, def := range triggers {
		if _, err := tx.tx.ExecContext(tx.ctx, def); err != nil {
			return err
		}
	}
	return nil
}

// --- convergence ---

// ReplicaHash hashes what must be the same on every workstation once all
// segments are applied everywhere: every replicated table's rows in key
// order (patients with their field clocks), the change log as a set of
// (origin, origin seq) entries, and every audit chain's head and
// checkpoints. Keys are table names, "change_log" and "audit:<node>";
// values are hex SHA-256.
func (r *replicaQ) ReplicaHash() (map[string]string, error) {
	out := map[string]string{}
	for _, t := range ReplicatedTables {
		h := sha256.New()
		if err := r.Rows(t, func(row string) error {
			h.Write([]byte(row))
			h.Write([]byte{'\n'})
			return nil
		}); err != nil {
			return nil, err
		}
		out[t] = hex.EncodeToString(h.Sum(nil))
	}
	var changes []string
	if err := r.AllChanges(func(c Change) error {
		changes = append(changes, fmt.Sprintf("%s\x00%020d\x00%d\x00%s\x00%s\x00%s\x00%s\x00%s",
			c.Origin, c.OriginSeq, c.HLC, c.Table, c.RowID, c.Op, c.Data, c.Row))
		return nil
	}); err != nil {
		return nil, err
	}
	sort.Strings(changes)
	h := sha256.New()
	for _, c := range changes {
		h.Write([]byte(c))
		h.Write([]byte{'\n'})
	}
	out["change_log"] = hex.EncodeToString(h.Sum(nil))
	chains, err := r.AuditChains()
	if err != nil {
		return nil, err
	}
	for _, node := range chains {
		h := sha256.New()
		head, err := r.AuditHead(node)
		if err != nil {
			return nil, err
		}
		if err := r.AuditEntries(node, head, head, func(e audit.Entry) error {
			fmt.Fprintf(h, "%d %x\n", e.Seq, e.Hash)
			return nil
		}); err != nil {
			return nil, err
		}
		cps, err := r.Checkpoints(node, 1, head)
		if err != nil {
			return nil, err
		}
		for _, c := range cps {
			fmt.Fprintf(h, "cp %d %x %x\n", c.Seq, c.Head, c.Signature)
		}
		out["audit:"+node] = hex.EncodeToString(h.Sum(nil))
	}
	return out, nil
}
