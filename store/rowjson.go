package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"ward/store/audit"
)

// Row JSON is how the change log and the replica carry a row: every column
// of the table by name, as stored, with its SQLite type kept (docs/formats.md,
// "Row JSON"):
//
//	NULL → null   INTEGER → a number without fraction   REAL → a number with one
//	TEXT → a string   BLOB → {"$b": "<upper-case hex>"}
//
// A patient row also carries "$clocks": {field: [hlc, origin], …}, the
// per-field clocks of its demographics (patient_field_clocks).
//
// SQLite builds it (json_object), in the statement that appends to the
// change log, so a write costs no extra round trip and the JSON is exactly
// what the table holds.

// column is one column of a table (PRAGMA table_info).
type column struct {
	name    string
	notNull bool
	pk      bool
}

// tableInfo is a table's columns, read once per open database.
type tableInfo struct {
	name string
	cols []column
	pk   string // the single primary-key column ("" for a composite key)
	expr string // the row JSON expression over alias t
	// log appends a local write with its row to the change log; prepared
	// once per database (and per connection by database/sql), as its long
	// expression costs more to prepare than to run.
	log   *sql.Stmt
	logDB *sql.DB // the pool log was prepared on (a rekey opens a new one)
}

func (ti *tableInfo) has(col string) bool {
	for _, c := range ti.cols {
		if c.name == col {
			return true
		}
	}
	return false
}

// tableCache holds tableInfo per table name for one DB.
type tableCache struct {
	mu sync.Mutex
	m  map[string]*tableInfo
}

// table returns the columns of name. name must come from Ward's own code or
// an allowlist, never from a peer: it is put into SQL.
func (db *DB) table(ctx context.Context, q audit.DBTX, name string) (*tableInfo, error) {
	db.tables.mu.Lock()
	defer db.tables.mu.Unlock()
	if ti, ok := db.tables.m[name]; ok {
		return ti, nil
	}
	rows, err := q.QueryContext(ctx, "SELECT name, \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid", name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ti := &tableInfo{name: name}
	pks := 0
	for rows.Next() {
		var c column
		var pk int
		if err := rows.Scan(&c.name, &c.notNull, &pk); err != nil {
			return nil, err
		}
		c.pk = pk > 0
		if c.pk {
			pks++
			ti.pk = c.name
		}
		ti.cols = append(ti.cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ti.cols) == 0 {
		return nil, fmt.Errorf("there is no table %q", name)
	}
	if pks != 1 {
		ti.pk = ""
	}
	ti.expr = rowExpr(ti)
	if db.tables.m == nil {
		db.tables.m = map[string]*tableInfo{}
	}
	db.tables.m[name] = ti
	return ti, nil
}

// rowExpr is the SQL expression that encodes the row of alias t as row JSON.
func rowExpr(ti *tableInfo) string {
	var b strings.Builder
	b.WriteString("json_object(")
	for i, c := range ti.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		q := `t."` + c.name + `"`
		fmt.Fprintf(&b, `'%s', CASE typeof(%s) WHEN 'blob' THEN json_object('$b', hex(%s)) ELSE %s END`, c.name, q, q, q)
	}
	if ti.name == "patients" {
		b.WriteString(`, '$clocks', json((SELECT json_group_object(field, json_array(hlc, origin)) FROM patient_field_clocks WHERE patient_id = t.id))`)
	}
	b.WriteString(")")
	return b.String()
}

// rowValues is a decoded row: column → nil, int64, float64, string or []byte.
type rowValues map[string]any

// fieldClock is when a field was last changed: (hlc, origin), compared in
// that order. The zero clock is "as registered".
type fieldClock struct {
	HLC    uint64
	Origin string
}

func (a fieldClock) after(b fieldClock) bool {
	return a.HLC > b.HLC || a.HLC == b.HLC && a.Origin > b.Origin
}

// decodeRow parses row JSON. Clocks are returned for a patient row (nil map
// otherwise). A value of any other shape is an error: the row came from a
// peer and is refused.
func decodeRow(s string) (rowValues, map[string]fieldClock, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, errors.New("a row is not a JSON object")
	}
	vals := rowValues{}
	var clocks map[string]fieldClock
	for dec.More() {
		t, err := dec.Token()
		k, ok := t.(string)
		if err != nil || !ok {
			return nil, nil, errors.New("a row is not valid JSON")
		}
		if k == "$clocks" {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, nil, errors.New("a row is not valid JSON")
			}
			if clocks, err = decodeClocks(raw); err != nil {
				return nil, nil, err
			}
			continue
		}
		v, err := decodeValue(dec)
		if err != nil {
			return nil, nil, fmt.Errorf("column %q of a row: %w", k, err)
		}
		vals[k] = v
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, nil, errors.New("a row is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("a row has data after its JSON")
	}
	return vals, clocks, nil
}

// decodeValue reads one column value: null, a number, a string, or a blob
// {"$b": hex}.
func decodeValue(dec *json.Decoder) (any, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, errors.New("not a value")
	}
	switch v := t.(type) {
	case nil, string:
		return v, nil
	case json.Number:
		if strings.ContainsAny(string(v), ".eE") {
			return v.Float64()
		}
		return v.Int64()
	case json.Delim:
		if v != '{' {
			break
		}
		k, _ := dec.Token()
		h, _ := dec.Token()
		end, err := dec.Token()
		hs, ok := h.(string)
		if k != "$b" || !ok || end != json.Delim('}') || err != nil {
			break
		}
		return hex.DecodeString(hs)
	}
	return nil, errors.New("a value that is not null, a number, a string or a blob")
}

func decodeClocks(v json.RawMessage) (map[string]fieldClock, error) {
	var raw map[string][2]json.RawMessage
	if err := json.Unmarshal(v, &raw); err != nil {
		return nil, errors.New("the field clocks of a row are malformed")
	}
	out := make(map[string]fieldClock, len(raw))
	for f, pair := range raw {
		var hlc uint64
		var origin string
		if json.Unmarshal(pair[0], &hlc) != nil || json.Unmarshal(pair[1], &origin) != nil {
			return nil, errors.New("the field clocks of a row are malformed")
		}
		out[f] = fieldClock{hlc, origin}
	}
	return out, nil
}

// rowQuery reads one row of ti as row JSON by primary key.
func rowQuery(ti *tableInfo) string {
	return "SELECT " + ti.expr + ` FROM "` + ti.name + `" AS t WHERE t."` + ti.pk + `" = ?`
}

// logStatement is the prepared statement that logs a write to table.
func (db *DB) logStatement(ctx context.Context, q audit.DBTX, table string) (*sql.Stmt, error) {
	ti, err := db.table(ctx, q, table)
	if err != nil {
		return nil, err
	}
	db.tables.mu.Lock()
	defer db.tables.mu.Unlock()
	if ti.log == nil || ti.logDB != db.sql {
		ti.log, err = db.sql.PrepareContext(ctx, `INSERT INTO change_log(hlc, origin, table_name, row_id, op, data, row_json)
			SELECT ?, ?, ?, ?, ?, ?, `+ti.expr+` FROM "`+table+`" AS t WHERE t."`+ti.pk+`" = ?`)
		ti.logDB = db.sql
	}
	return ti.log, err
}
