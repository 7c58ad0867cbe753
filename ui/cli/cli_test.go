package cli

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	_ "github.com/mutecomm/go-sqlcipher/v4" // "sqlite3", for plain-sqlite only

	"ward/store"
)

// The CLI contract: every command, its output, exit code and error sentence,
// in testdata/script/*.txtar. They run against the real OS keyring (make
// test provides a private, unlocked gnome-keyring on a private D-Bus).
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ward": func() { os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Fatal("no D-Bus session bus: run the tests with `make test` (it starts a private keyring)")
	}
	cmds := map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"grab-code":    grabCode,
		"forget-key":   forgetKey,
		"tamper-audit": tamperAudit,
		"plain-sqlite": plainSQLite,
		"replace-in":   replaceIn,
		"grab-id":      grabID,
	}
	maps.Copy(cmds, authCmds)
	maps.Copy(cmds, backupCmds)
	maps.Copy(cmds, syncCmds)
	maps.Copy(cmds, paperCmds)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			for _, k := range []string{"DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"} {
				env.Setenv(k, os.Getenv(k))
			}
			env.Setenv("DBUS", os.Getenv("DBUS_SESSION_BUS_ADDRESS")) // to restore it after `env DBUS_SESSION_BUS_ADDRESS=`
			env.Setenv("WARD_DATA", env.WorkDir+"/data")
			env.Defer(func() { // leave no keys behind in the test keyring
				acct, _ := store.KeyringAccount(env.WorkDir + "/data")
				store.OSKeyring{}.Delete(acct)
				store.OSKeyring{}.Delete(store.PendingAccount(acct))
			})
			return nil
		},
		Cmds: cmds,
	})
}

var codeRE = regexp.MustCompile(`\b[0-9A-Z]{5}(-[0-9A-Z]{5}){4}\b`)

// grab-code FILE: save the recovery code printed on the last stdout in FILE,
// as a person would copy it from the screen.
func grabCode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: grab-code FILE")
	}
	code := codeRE.FindString(ts.ReadFile("stdout"))
	if code == "" {
		ts.Fatalf("no recovery code on stdout")
	}
	if err := os.WriteFile(ts.MkAbs(args[0]), []byte(code+"\n"), 0o600); err != nil {
		ts.Fatalf("%v", err)
	}
}

// forget-key DIR: delete the data folder's key from the OS keyring, as a lost
// or reset keyring would.
func forgetKey(ts *testscript.TestScript, neg bool, args []string) {
	acct, err := store.KeyringAccount(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Check(store.OSKeyring{}.Delete(acct))
}

// tamper-audit DIR KIND SEQ: change the audit chain behind Ward's back, the
// way someone holding the database key could (KIND: edit, delete, swap).
func tamperAudit(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: tamper-audit DIR edit|delete|swap SEQ")
	}
	dir := ts.MkAbs(args[0])
	seq, err := strconv.Atoi(args[2])
	ts.Check(err)
	acct, _ := store.KeyringAccount(dir)
	key, err := store.OSKeyring{}.Get(acct)
	ts.Check(err)
	db, err := store.Open(context.Background(), dir, key)
	ts.Check(err)
	defer db.Close()
	ts.Check(db.Update(context.Background(), func(tx *store.Tx) error {
		ctx, q := context.Background(), tx.AuditDB()
		switch args[1] {
		case "edit":
			_, err := q.ExecContext(ctx, "UPDATE audit_entries SET user_id = 'someone-else' WHERE seq = ?", seq)
			return err
		case "delete":
			_, err := q.ExecContext(ctx, "DELETE FROM audit_entries WHERE seq = ?", seq)
			return err
		case "swap": // rows seq and seq+1 trade everything but their seq
			const cols = "at, user_id, action, patient_id, outcome, detail, grant_id, hash"
			type row struct {
				at                                            int64
				user, action, patient, outcome, detail, grant string
				hash                                          []byte
			}
			var r [2]row
			for i := range r {
				err := q.QueryRowContext(ctx, "SELECT "+cols+" FROM audit_entries WHERE seq = ?", seq+i).Scan(
					&r[i].at, &r[i].user, &r[i].action, &r[i].patient, &r[i].outcome, &r[i].detail, &r[i].grant, &r[i].hash)
				if err != nil {
					return err
				}
			}
			for i := range r {
				o := r[1-i]
				_, err := q.ExecContext(ctx, `UPDATE audit_entries SET at = ?, user_id = ?, action = ?, patient_id = ?,
					outcome = ?, detail = ?, grant_id = ?, hash = ? WHERE seq = ?`,
					o.at, o.user, o.action, o.patient, o.outcome, o.detail, o.grant, o.hash, seq+i)
				if err != nil {
					return err
				}
			}
			return nil
		}
		return fmt.Errorf("unknown tamper kind %q", args[1])
	}))
}

// plain-sqlite FILE: write an unencrypted SQLite database, as another program
// (or a botched restore) would.
func plainSQLite(ts *testscript.TestScript, neg bool, args []string) {
	db, err := sql.Open("sqlite3", ts.MkAbs(args[0]))
	ts.Check(err)
	defer db.Close()
	_, err = db.Exec("CREATE TABLE patients(name TEXT); INSERT INTO patients VALUES ('someone')")
	ts.Check(err)
}

// replace-in FILE OLD NEW: edit a file in place, as someone tampering with
// an export would.
func replaceIn(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: replace-in FILE OLD NEW")
	}
	data := ts.ReadFile(args[0])
	if !strings.Contains(data, args[1]) {
		ts.Fatalf("%s does not contain %q", args[0], args[1])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Replace(data, args[1], args[2], 1)), 0o600))
}

var idRE = regexp.MustCompile(`id ([0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12})`)

// grab-id VAR: set $VAR to the last record id printed on stdout.
func grabID(ts *testscript.TestScript, neg bool, args []string) {
	m := idRE.FindAllStringSubmatch(ts.ReadFile("stdout"), -1)
	if len(m) == 0 {
		ts.Fatalf("no id on stdout")
	}
	ts.Setenv(strings.ToUpper(args[0]), m[len(m)-1][1])
}
