package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"ward/store"
	"ward/store/audit"
)

// These tests use the real OS keyring (Secret Service); `make test` runs
// them inside a private D-Bus session with an unlocked gnome-keyring.
var osKeyring store.Keyring = store.OSKeyring{}

const adminPW = "correct horse battery"

func newClinic(t testing.TB) (*Clinic, string, string) {
	t.Helper()
	dir := t.TempDir()
	c, code, err := Init(context.Background(), InitOptions{Dir: dir, ClinicName: "Test Clinic", AdminUsername: "root",
		AdminPassword: adminPW, Keyring: osKeyring})
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		forgetKeys(dir)
	})
	return c, dir, code
}

// forgetKeys removes a test clinic's keys from the keyring.
func forgetKeys(dir string) {
	acct, _ := store.KeyringAccount(dir)
	osKeyring.Delete(acct)
	osKeyring.Delete(store.PendingAccount(acct))
}

func signIn(t testing.TB, c *Clinic, user, pw string) *Session {
	t.Helper()
	s, err := c.SignIn(context.Background(), user, pw)
	if err != nil {
		t.Fatalf("sign in %s: %v", user, err)
	}
	return s
}

// auditEntries lists this node's chain (test helper; bypasses the door on purpose).
func auditEntries(t testing.TB, c *Clinic) []audit.Entry {
	t.Helper()
	var es []audit.Entry
	err := c.db.Update(context.Background(), func(tx *store.Tx) error {
		rows, err := tx.AuditDB().QueryContext(context.Background(),
			"SELECT seq, user_id, action, patient_id, outcome, detail, grant_id FROM audit_entries WHERE node = ? ORDER BY seq", c.Node().ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e := audit.Entry{Node: c.Node().ID}
			if err := rows.Scan(&e.Seq, &e.User, &e.Action, &e.Patient, &e.Outcome, &e.Detail, &e.Grant); err != nil {
				return err
			}
			es = append(es, e)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func lastEntry(t testing.TB, c *Clinic) audit.Entry {
	es := auditEntries(t, c)
	return es[len(es)-1]
}

func TestInitSignInRegisterSearch(t *testing.T) {
	ctx := context.Background()
	c, _, code := newClinic(t)
	if _, err := store.NormalizeRecoveryCode(code); err != nil {
		t.Fatalf("init returned a bad recovery code: %v", err)
	}
	admin := signIn(t, c, "root", adminPW)
	if _, err := admin.AddUser(ctx, NewUser{Username: "fd", Name: "Front Desk", Roles: []string{RoleFrontDesk}, Password: "front desk pass"}); err != nil {
		t.Fatal(err)
	}
	fd := signIn(t, c, "FD", "front desk pass") // usernames are case-insensitive
	p, err := fd.RegisterPatient(ctx, NewPatient{Name: " Grace  Hopper ", BirthDate: "1906-12-09", Phone: "555-1906"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Grace Hopper" {
		t.Errorf("name not cleaned: %q", p.Name)
	}
	e := lastEntry(t, c)
	if e.Action != string(ActPatientCreate) || e.Patient != p.ID || e.User != fd.User().ID || e.Outcome != audit.OutcomeSuccess {
		t.Fatalf("registration audited as %+v", e)
	}
	ps, err := fd.SearchPatients(ctx, "hopp", 10)
	if err != nil || len(ps) != 1 || ps[0].ID != p.ID {
		t.Fatalf("search: %v %v", ps, err)
	}
	e = lastEntry(t, c)
	if e.Action != string(ActPatientSearch) || strings.Contains(e.Detail, "hopp") {
		t.Fatalf("search audited as %+v (the query must not be recorded)", e)
	}
}

func TestDeniedAndFailedAreAudited(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newClinic(t)
	admin := signIn(t, c, "root", adminPW)

	// The administrator is not front desk: registering a patient is denied.
	_, err := admin.RegisterPatient(ctx, NewPatient{Name: "X Y", BirthDate: "2000-01-01"})
	var de *DeniedError
	if !errors.As(err, &de) {
		t.Fatalf("admin registering a patient: %v, want denied", err)
	}
	if e := lastEntry(t, c); e.Outcome != audit.OutcomeDenied || e.Action != string(ActPatientCreate) {
		t.Fatalf("denial audited as %+v", e)
	}

	// Wrong password and unknown user get the same answer and are audited,
	// and the typed username is not recorded.
	if _, err := c.SignIn(ctx, "root", "wrong password!"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if e := lastEntry(t, c); e.Outcome != audit.OutcomeFailure || e.User != admin.User().ID || e.Action != string(ActSignIn) {
		t.Fatalf("failed sign-in audited as %+v", e)
	}
	if _, err := c.SignIn(ctx, "my-secret-password", "x"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	for _, e := range auditEntries(t, c) {
		if strings.Contains(e.User+e.Detail, "my-secret-password") {
			t.Fatal("a typed username reached the audit chain")
		}
	}
}

// The work and its audit entry commit together: work that fails leaves
// neither the change nor a success entry.
func TestDoIsOneTransaction(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newClinic(t)
	admin := signIn(t, c, "root", adminPW)
	admin.AddUser(ctx, NewUser{Username: "fd", Roles: []string{RoleFrontDesk}, Password: "front desk pass"})
	fd := signIn(t, c, "fd", "front desk pass")
	before := len(auditEntries(t, c))
	boom := errors.New("boom")
	var id string
	err := fd.Do(ctx, ActPatientCreate, "", func(tx *store.Tx, w *Work) error {
		p, err := tx.AddPatient(store.Patient{Name: "Rolled Back", BirthDate: "2000-01-01"})
		id = p.ID
		if err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := fd.Patient(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the failed work was committed: %v", err)
	}
	es := auditEntries(t, c)[before:]
	if len(es) != 2 || es[0].Outcome != audit.OutcomeFailure || es[0].Action != string(ActPatientCreate) {
		t.Fatalf("after failed work the chain got %+v; want one failure entry (then the read's failure)", es)
	}
}

func TestKeyErrors(t *testing.T) {
	ctx := context.Background()
	c, dir, _ := newClinic(t)
	c.Close()

	_, err := Open(ctx, dir, &store.MemoryKeyring{Err: errors.New("Cannot autolaunch D-Bus without X11 $DISPLAY")})
	if !errors.Is(err, store.ErrKeyringUnavailable) || !strings.Contains(err.Error(), "unlock") {
		t.Fatalf("locked keyring: %v", err)
	}
	_, err = Open(ctx, dir, &store.MemoryKeyring{})
	if !errors.Is(err, store.ErrKeyMissing) || !strings.Contains(err.Error(), "--kit") {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := Open(ctx, t.TempDir(), osKeyring); !errors.Is(err, store.ErrNoDatabase) {
		t.Fatalf("empty folder: %v", err)
	}
	wrong, _ := store.NewKey()
	acct, _ := store.KeyringAccount(dir)
	kr := &store.MemoryKeyring{Keys: map[string][]byte{acct: wrong}}
	if _, err := Open(ctx, dir, kr); !errors.Is(err, store.ErrWrongKey) {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestKitRecoveryAfterKeyringLoss(t *testing.T) {
	ctx := context.Background()
	c, dir, code := newClinic(t)
	fdPatient := "Kit Recovery Person"
	admin := signIn(t, c, "root", adminPW)
	admin.AddUser(ctx, NewUser{Username: "fd", Roles: []string{RoleFrontDesk}, Password: "front desk pass"})
	fd := signIn(t, c, "fd", "front desk pass")
	p, _ := fd.RegisterPatient(ctx, NewPatient{Name: fdPatient, BirthDate: "1950-05-05"})
	kitPath := c.KitPath()
	c.Close()

	acct, _ := store.KeyringAccount(dir)
	if err := osKeyring.Delete(acct); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, dir, osKeyring); !errors.Is(err, store.ErrKeyMissing) {
		t.Fatalf("after deleting the keyring entry: %v", err)
	}
	other, _ := store.NewRecoveryCode()
	if _, err := OpenWithKit(ctx, dir, kitPath, other, osKeyring); !errors.Is(err, store.ErrWrongRecoveryCode) {
		t.Fatalf("wrong recovery code: %v", err)
	}
	kc, err := OpenWithKit(ctx, dir, kitPath, code, osKeyring)
	if err != nil {
		t.Fatal(err)
	}
	if e := lastEntry(t, kc); e.User != EmergencyKitUser || e.Action != string(ActKitOpen) {
		t.Fatalf("kit open audited as %+v", e)
	}
	if err := kc.RestoreKey(ctx, kitPath, code); err != nil {
		t.Fatal(err)
	}
	kc.Close()
	c2, err := Open(ctx, dir, osKeyring)
	if err != nil {
		t.Fatalf("after recover: %v", err)
	}
	defer c2.Close()
	fd2 := signIn(t, c2, "fd", "front desk pass")
	if got, err := fd2.Patient(ctx, p.ID); err != nil || got.Name != fdPatient {
		t.Fatalf("patient after recovery: %v %v", got, err)
	}
}

func TestRekeyRotatesKeyringAndKit(t *testing.T) {
	ctx := context.Background()
	c, dir, oldCode := newClinic(t)
	acct, _ := store.KeyringAccount(dir)
	oldKey, err := osKeyring.Get(acct)
	if err != nil {
		t.Fatal(err)
	}
	admin := signIn(t, c, "root", adminPW)
	newCode, err := admin.Rekey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if newCode == oldCode {
		t.Fatal("rekey kept the recovery code")
	}
	if e := lastEntry(t, c); e.Action != string(ActClinicRekey) || e.Outcome != audit.OutcomeSuccess {
		t.Fatalf("rekey audited as %+v", e)
	}
	kitPath := c.KitPath()
	c.Close()

	if _, err := store.Open(ctx, dir, oldKey); !errors.Is(err, store.ErrWrongKey) {
		t.Fatalf("old key after rekey: %v", err)
	}
	if _, err := osKeyring.Get(store.PendingAccount(acct)); !errors.Is(err, store.ErrKeyMissing) {
		t.Fatalf("pending key left in the keyring: %v", err)
	}
	if _, err := OpenWithKit(ctx, dir, kitPath, oldCode, osKeyring); err == nil {
		t.Fatal("the old recovery code still opens the new kit")
	}
	kc, err := OpenWithKit(ctx, dir, kitPath, newCode, osKeyring)
	if err != nil {
		t.Fatalf("new kit: %v", err)
	}
	kc.Close()
	c2, err := Open(ctx, dir, osKeyring)
	if err != nil {
		t.Fatalf("keyring after rekey: %v", err)
	}
	c2.Close()
}

// A rekey cut short after re-encrypting, before the keyring was updated:
// the next Open finds the new key in the pending entry and finishes.
func TestRekeyInterruptedIsFinishedAtOpen(t *testing.T) {
	ctx := context.Background()
	c, dir, _ := newClinic(t)
	acct, _ := store.KeyringAccount(dir)
	newKey, _ := store.NewKey()
	if err := osKeyring.Set(store.PendingAccount(acct), newKey); err != nil {
		t.Fatal(err)
	}
	if err := c.db.Rekey(ctx, newKey); err != nil {
		t.Fatal(err)
	}
	c.Close() // "crash": main keyring entry still holds the old key

	c2, err := Open(ctx, dir, osKeyring)
	if err != nil {
		t.Fatalf("open after interrupted rekey: %v", err)
	}
	c2.Close()
	if got, err := osKeyring.Get(acct); err != nil || string(got) != string(newKey) {
		t.Fatalf("keyring not finished: %v", err)
	}
}

// kill -9 of a writer mid-stream: every transaction the writer saw commit
// is there after reopening, and the database and chain check clean.
func TestKillDashNineLosesNothingCommitted(t *testing.T) {
	if os.Getenv("WARD_TEST_WRITER_DIR") != "" {
		t.Skip("child process")
	}
	c, dir, _ := newClinic(t)
	s := signIn(t, c, "root", adminPW)
	s.AddUser(context.Background(), NewUser{Username: "fd", Roles: []string{RoleFrontDesk}, Password: "front desk pass"})
	c.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestWriterChild$", "-test.v")
	cmd.Env = append(os.Environ(), "WARD_TEST_WRITER_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var committed []string
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(committed) < 40 {
		if id, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
			committed = append(committed, id)
		}
	}
	cmd.Process.Kill() // SIGKILL, mid-stream
	cmd.Wait()
	if len(committed) < 40 {
		t.Fatalf("the writer committed only %d patients before dying", len(committed))
	}

	c2, err := Open(context.Background(), dir, osKeyring)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	fd := signIn(t, c2, "fd", "front desk pass")
	for _, id := range committed {
		if _, err := fd.Patient(context.Background(), id); err != nil {
			t.Fatalf("committed patient %s lost after kill -9: %v", id, err)
		}
	}
	rep, err := c2.Check(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("check after kill -9: %+v %v", rep, err)
	}
}

// TestWriterChild is the writer process of the kill -9 test.
func TestWriterChild(t *testing.T) {
	dir := os.Getenv("WARD_TEST_WRITER_DIR")
	if dir == "" {
		t.Skip("only run as the child of TestKillDashNineLosesNothingCommitted")
	}
	c, err := Open(context.Background(), dir, osKeyring)
	if err != nil {
		t.Fatal(err)
	}
	s := signIn(t, c, "fd", "front desk pass")
	for i := 0; ; i++ {
		p, err := s.RegisterPatient(context.Background(), NewPatient{Name: fmt.Sprintf("Killed Writer %d", i), BirthDate: "1999-09-09"})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("committed %s\n", p.ID) // only after Commit returned
		if i > 100000 {
			time.Sleep(time.Second)
		}
	}
}

func TestDemoClinic(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c, code, err := InitDemo(ctx, dir, osKeyring)
	if err != nil {
		t.Fatal(err)
	}
	defer forgetKeys(dir)
	defer c.Close()
	if code == "" {
		t.Fatal("no recovery code")
	}
	if demo, err := c.IsDemo(ctx); err != nil || !demo {
		t.Fatalf("IsDemo = %v, %v", demo, err)
	}
	for _, u := range DemoUsers {
		s := signIn(t, c, u.Username, DemoPassword)
		if !s.User().HasRole(u.Roles[0]) {
			t.Errorf("%s lacks role %s", u.Username, u.Roles[0])
		}
	}
	admin := signIn(t, c, "admin", DemoPassword)
	ps := SyntheticPatients(500, 7, 20_000_000)
	if err := admin.ImportPatients(ctx, ps, nil); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.PatientCount(ctx); n != 500 {
		t.Fatalf("%d patients after import, want 500", n)
	}
	fd := signIn(t, c, "frontdesk", DemoPassword)
	found, err := fd.SearchPatients(ctx, ps[42].Name, 50)
	if err != nil {
		t.Fatal(err)
	}
	hit := false
	for _, p := range found {
		hit = hit || p.MRN == ps[42].MRN
	}
	if !hit {
		t.Fatalf("imported patient %d not found by name", 42)
	}
	if e := lastEntry(t, c); e.Action != string(ActPatientSearch) {
		t.Fatalf("last audit entry %+v", e)
	}
	// The demo's synthetic people are the same for the same seed.
	if again := SyntheticPatients(500, 7, 20_000_000); again[499].Name != ps[499].Name || again[499].BirthDate != ps[499].BirthDate {
		t.Fatal("synthetic patients are not deterministic")
	}
}
