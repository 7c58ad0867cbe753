package store

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Every patient column a person can change has a field clock; a column
// added by a later migration must be added to the trigger too.
func TestPatientClockTriggerCoversColumns(t *testing.T) {
	db, _, _ := newTestDB(t)
	ctx := context.Background()
	ti, err := db.table(ctx, db.sql, "patients")
	if err != nil {
		t.Fatal(err)
	}
	var def string
	if err := db.sql.QueryRowContext(ctx, "SELECT sql FROM sqlite_master WHERE name = 'patients_field_clocks' AND type = 'trigger'").Scan(&def); err != nil {
		t.Fatal(err)
	}
	for _, c := range ti.cols {
		switch c.name {
		case "id", "origin", "hlc", "search_terms":
			continue
		}
		if !strings.Contains(def, "'"+c.name+"'") || !strings.Contains(def, "new."+c.name+" IS NOT old."+c.name) {
			t.Errorf("patients.%s has no field clock in the trigger", c.name)
		}
	}
}

func TestChangeLogCarriesTheRow(t *testing.T) {
	db, _, _ := newTestDB(t)
	ctx := context.Background()
	var u User
	err := db.Update(ctx, func(tx *Tx) error {
		var err error
		if u, err = tx.AddUser(User{Username: "rowjson", DisplayName: "Row \"JSON\"", PasswordHash: "$argon2id$h"}); err != nil {
			return err
		}
		return tx.SetTOTP(u.ID, []byte{0, 1, 0xfe, 0xff}, true)
	})
	if err != nil {
		t.Fatal(err)
	}
	var row string
	if err := db.sql.QueryRowContext(ctx, "SELECT row_json FROM change_log WHERE table_name = 'users' ORDER BY seq DESC LIMIT 1").Scan(&row); err != nil {
		t.Fatal(err)
	}
	vals, clocks, err := decodeRow(row)
	if err != nil {
		t.Fatal(err)
	}
	if clocks != nil {
		t.Error("a user row carries field clocks")
	}
	if vals["id"] != u.ID || vals["display_name"] != `Row "JSON"` || vals["password_hash"] != "$argon2id$h" {
		t.Errorf("text columns: %v", vals)
	}
	if s, ok := vals["totp_secret"].([]byte); !ok || !bytes.Equal(s, []byte{0, 1, 0xfe, 0xff}) {
		t.Errorf("blob column: %#v", vals["totp_secret"])
	}
	if n, ok := vals["totp_enabled"].(int64); !ok || n != 1 {
		t.Errorf("integer column: %#v", vals["totp_enabled"])
	}
	if _, ok := vals["hlc"].(int64); !ok {
		t.Errorf("hlc: %#v", vals["hlc"])
	}

	for _, bad := range []string{`[]`, `{"a":{"b":1}}`, `{"a":[1]}`, `{"a":tru}`, `{"a":1} {}`, `{"$clocks":{"a":[1]}}`} {
		if _, _, err := decodeRow(bad); err == nil {
			t.Errorf("decodeRow(%s) accepted", bad)
		}
	}
}

func TestPatientRowCarriesFieldClocks(t *testing.T) {
	db, _, _ := newTestDB(t)
	ctx := context.Background()
	p := addPatient(t, db, Patient{Name: "Clock Work", BirthDate: "1970-01-01", Phone: "1"})
	err := db.Update(ctx, func(tx *Tx) error {
		p.Phone = "2"
		_, err := tx.UpdatePatient(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var row string
	db.sql.QueryRowContext(ctx, "SELECT row_json FROM change_log WHERE table_name = 'patients' ORDER BY seq DESC LIMIT 1").Scan(&row)
	vals, clocks, err := decodeRow(row)
	if err != nil {
		t.Fatal(err)
	}
	hlc, _ := vals["hlc"].(int64)
	want := fieldClock{uint64(hlc), db.Self().ID}
	if clocks["phone"] != want || len(clocks) > 2 { // updated_at too, unless in the same second
		t.Errorf("clocks after a phone change: %v (row clock %v)", clocks, want)
	}
	if _, ok := clocks["name"]; ok {
		t.Error("the unchanged name has a clock")
	}
}

func TestClinicKey(t *testing.T) {
	db, _, _ := newTestDB(t)
	ctx := context.Background()
	k, err := db.ClinicKey(ctx)
	if err != nil || len(k) != ClinicKeySize || bytes.Equal(k, make([]byte, ClinicKeySize)) {
		t.Fatalf("clinic key: %x %v", k, err)
	}
	seg, _ := db.ClinicSubkey(ctx, SubkeySegment)
	snap, _ := db.ClinicSubkey(ctx, SubkeySnapshot)
	peer, _ := db.ClinicSubkey(ctx, SubkeyBackupPeer)
	if len(seg) != 32 || bytes.Equal(seg, snap) || bytes.Equal(seg, peer) || bytes.Equal(seg, k) {
		t.Error("sub-keys are not distinct")
	}
	// A new workstation takes the clinic's key; one with records does not.
	other := bytes.Repeat([]byte{7}, ClinicKeySize)
	if err := db.SetClinicKey(ctx, other); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.ClinicKey(ctx); !bytes.Equal(got, other) {
		t.Error("the clinic key was not replaced")
	}
	addPatient(t, db, Patient{Name: "Keeps Key", BirthDate: "1970-01-01"})
	if err := db.SetClinicKey(ctx, k); err == nil || !strings.Contains(err.Error(), "already holds clinic records") {
		t.Errorf("replacing the key of a clinic with records: %v", err)
	}
	if _, err := db.SignAsNode([]byte("ward-checkpoint/v1 forged")); err == nil {
		t.Error("the node key signed something that is not a replica file")
	}
}

// A clinic created before the replica: its newest change-log entries get
// their rows at the first open, older versions stay history only.
func TestRowsFilledForAClinicFromBeforeTheReplica(t *testing.T) {
	db, key, dir := newTestDB(t)
	ctx := context.Background()
	p := addPatient(t, db, Patient{Name: "Old Timer", BirthDate: "1950-01-01"})
	db.Update(ctx, func(tx *Tx) error {
		p.Phone = "555"
		_, err := tx.UpdatePatient(p)
		return err
	})
	db.sql.ExecContext(ctx, "UPDATE change_log SET row_json = ''")
	db.sql.ExecContext(ctx, "DELETE FROM replica_export")
	db.Close()
	db, err := Open(ctx, dir, key)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, _ := db.sql.QueryContext(ctx, "SELECT row_json FROM change_log WHERE table_name = 'patients' ORDER BY seq")
	var got []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		got = append(got, s)
	}
	rows.Close()
	if len(got) != 2 || got[0] != "" || !strings.Contains(got[1], `"phone":"555"`) {
		t.Errorf("rows after the first open: %q", got)
	}
}

// FuzzDecodeRow: a peer's row JSON never panics the applier's parser.
func FuzzDecodeRow(f *testing.F) {
	for _, s := range []string{`{"id":"x","n":1,"r":1.5,"b":{"$b":"00FF"},"z":null,"$clocks":{"name":[5,"n"]}}`,
		`{}`, `{"a":{"$b":"zz"}}`, `{"$clocks":{"a":[1]}}`, `[`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vals, _, err := decodeRow(s)
		if err != nil {
			return
		}
		for k, v := range vals {
			switch v.(type) {
			case nil, int64, float64, string, []byte:
			default:
				t.Fatalf("column %q decoded to %T", k, v)
			}
		}
	})
}
