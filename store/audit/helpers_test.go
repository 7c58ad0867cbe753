package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/mutecomm/go-sqlcipher/v4"

	"ward/store/audit"
)

// openDB opens a fresh encrypted database in t.TempDir() with the real
// migration applied, the way the store opens one (raw key, WAL, FULL sync,
// immediate write transactions).
func openDB(t testing.TB) *sql.DB {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	path := filepath.Join(t.TempDir(), "ward.db")
	dsn := path + "?_pragma_key=" + url.QueryEscape("x'"+hex.EncodeToString(key)+"'") +
		"&_pragma_cipher_page_size=4096&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mig, err := os.ReadFile("../migrations/001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(mig)); err != nil {
		t.Fatalf("migration: %v", err)
	}
	return db
}

// newKey derives a node key from a fixed seed, so test data is reproducible.
func newKey(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	return ed25519.NewKeyFromSeed(s)
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// fakeClock is a settable clock for Writer.Now.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

// fill appends n events to w's chain in one transaction, each one second
// after the previous on w's clock.
func fill(t testing.TB, db *sql.DB, w *audit.Writer, clk *fakeClock, n int) []audit.Entry {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	out := make([]audit.Entry, 0, n)
	for i := range n {
		e, err := w.Append(ctx, tx, sampleEvent(i))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
		clk.Advance(time.Second)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	sampleUsers    = []string{"0193a1c4-7b2e-7c1a-9f00-5e1d2c3b4a01", "0193a1c4-7b2e-7c1a-9f00-5e1d2c3b4a02", "0193a1c4-7b2e-7c1a-9f00-5e1d2c3b4a03"}
	samplePatients = []string{"0193a1c5-0000-7000-8000-00000000aa01", "0193a1c5-0000-7000-8000-00000000aa02", ""}
	sampleActions  = []string{"patient.read", "patient.update", "user.signin", "patient.create", "audit.export", "emergency.start", "emergency.end", "user.signout", "settings.update"}
)

// sampleEvent is a deterministic, realistic event.
func sampleEvent(i int) audit.Event {
	ev := audit.Event{
		User:    sampleUsers[i%len(sampleUsers)],
		Action:  sampleActions[i%len(sampleActions)],
		Patient: samplePatients[i%len(samplePatients)],
		Outcome: audit.OutcomeSuccess,
	}
	switch {
	case i%11 == 5:
		ev.Outcome = audit.OutcomeDenied
		ev.Detail = "role frontdesk may not read notes"
	case i%13 == 7:
		ev.Outcome = audit.OutcomeFailure
		ev.Detail = "database busy"
	}
	if ev.Action == "emergency.start" {
		ev.Grant = "0193a1c6-1111-7000-8000-0000000000g1"
		ev.Detail = "unconscious patient, \"no\" chart access, = + - @ risky, comma, and\nnew line"
	}
	return ev
}

func edSign(key []byte, msg []byte) []byte { return ed25519.Sign(ed25519.PrivateKey(key), msg) }

func timeParse(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

func mustHex(t testing.TB, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hexString(b []byte) string { return hex.EncodeToString(b) }
