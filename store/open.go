package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	sqlite3 "github.com/mutecomm/go-sqlcipher/v4"

	"ward/store/audit"
)

const (
	// KeySize is the size of a database key: 256 bits.
	KeySize = 32
	// DBFileName is the database's file in the data folder.
	DBFileName = "ward.db"

	pageSize = 4096
	// Page cache per connection. A page in the cache is not decrypted
	// again: the driver's default (2 MB) made queries 4–7× slower than
	// plain SQLite (DESIGN.md §3). 8 MiB holds what searches and charts
	// read again: search-as-you-type at 100k patients measured the same
	// with 2, 8 and 64 MiB. 64 MiB, as first chosen, was kept by every idle
	// connection of the pool once one big read had filled it (the first
	// replica export of a 100k clinic left ~57 MB resident in the window).
	cacheSizeKiB = 8 * 1024
)

// NewKey returns a fresh random database key.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, nil
}

// DB is an open Ward workstation database.
type DB struct {
	sql   *sql.DB
	conn  *connector
	dir   string
	self  Node
	sign  ed25519.PrivateKey
	clock HLC
	audit *audit.Writer
	// The replica (store/replica.go): table columns for row JSON, and the
	// signal that committed writes await export.
	tables  tableCache
	changes chan struct{}
}

// Node is a workstation of the clinic.
type Node struct {
	ID        string
	Name      string
	PublicKey ed25519.PublicKey
}

// connector builds the raw-key DSN only when a connection is opened, so the
// key lives in one []byte we can wipe at Close instead of in a long-lived
// DSN string inside database/sql.
type connector struct {
	path string
	mu   sync.Mutex
	key  []byte
	// keyless opens without PRAGMA key: only the benchmarks' plain-SQLite
	// baseline (the same driver, so the ratio measures encryption alone).
	keyless bool
}

// wardDriver is used only through connector, never registered by name, so
// no code can open a Ward database by DSN behind store's back.
//
// cipher_memory_security = OFF (the SQLCipher default since 4.5.0; 4.4.2
// still wipes and mlocks every SQLite allocation): it halves the cost of a
// write, and wiping SQLite's heap alone bought little — the same patient
// data also lives in Go strings, which cannot be wiped. Keys are still
// wiped by SQLCipher and by store.
//
// temp_store = MEMORY: sorts, temp indexes and temp tables that SQLite would
// spill to files in /tmp stay in memory, so no patient data reaches a file
// outside the encrypted database, whatever SQLCipher does with temp files.
var wardDriver = &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
	_, err := c.Exec(fmt.Sprintf("PRAGMA cache_size = -%d; PRAGMA cipher_memory_security = OFF; PRAGMA temp_store = MEMORY", cacheSizeKiB), nil)
	return err
}}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	c.mu.Lock()
	if c.key == nil {
		c.mu.Unlock()
		return nil, errors.New("the database is closed")
	}
	dsn := dsnFor(c.path, c.key)
	if c.keyless {
		dsn = c.path + "?" + dsnOptions
	}
	c.mu.Unlock()
	return wardDriver.Open(dsn)
}

func (c *connector) Driver() driver.Driver { return wardDriver }

func (c *connector) wipe() {
	c.mu.Lock()
	zero(c.key)
	c.key = nil
	c.mu.Unlock()
}

// dsnFor is the SQLCipher DSN with a raw key: no PBKDF2 at open (0.45 ms
// instead of ~0.7 s). It contains the key: never log or wrap it in an error.
// _txlock=immediate: every Ward transaction writes (reads are audited), so
// taking the write lock at BEGIN avoids SQLITE_BUSY upgrades mid-transaction.
func dsnFor(path string, key []byte) string { return keyedDSN(path, key, dsnOptions) }

// keyedDSN is dsnFor with other connection options.
func keyedDSN(path string, key []byte, options string) string {
	v := url.Values{}
	v.Set("_pragma_key", "x'"+hex.EncodeToString(key)+"'")
	v.Set("_pragma_cipher_page_size", fmt.Sprint(pageSize))
	return path + "?" + v.Encode() + "&" + options
}

const dsnOptions = "_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_txlock=immediate"

// DBPath is the database file of a data folder.
func DBPath(dir string) string { return filepath.Join(dir, DBFileName) }

// Exists tells whether dir holds a Ward database file.
func Exists(dir string) bool {
	_, err := os.Stat(DBPath(dir))
	return err == nil
}

// Create makes a new database in dir, encrypted with key, with a fresh node
// identity named nodeName. It refuses a folder that already has a database.
func Create(ctx context.Context, dir string, key []byte, nodeName string) (*DB, error) {
	if Exists(dir) {
		return nil, ErrDatabaseExists
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the data folder: %w", err)
	}
	db, err := openSQL(dir, key)
	if err != nil {
		return nil, err
	}
	if _, err := db.sql.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
		db.Close()
		return nil, err
	}
	if err := migrate(ctx, db.sql); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.createNode(ctx, nodeName); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.load(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Open opens the database in dir with key, telling apart a missing database,
// a plaintext or foreign file, and a wrong key.
func Open(ctx context.Context, dir string, key []byte) (*DB, error) {
	if err := classifyFile(DBPath(dir)); err != nil {
		return nil, err
	}
	db, err := openSQL(dir, key)
	if err != nil {
		return nil, err
	}
	var appID int
	err = db.sql.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID)
	if err != nil {
		db.Close()
		var se sqlite3.Error
		if errors.As(err, &se) && (se.Code == sqlite3.ErrNotADB || se.Code == sqlite3.ErrCorrupt) {
			return nil, ErrWrongKey
		}
		return nil, fmt.Errorf("cannot read the database: %w", err)
	}
	if appID != applicationID {
		db.Close()
		return nil, ErrForeignFile
	}
	if err := migrate(ctx, db.sql); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.load(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// CheckFile tells, before any key is fetched, whether dir holds a file that
// could be a Ward database: ErrNoDatabase, ErrPlaintext or ErrForeignFile
// otherwise. (A person is better served by "this is not a database" than by
// "the keyring has no key for it".)
func CheckFile(dir string) error { return classifyFile(DBPath(dir)) }

// classifyFile catches what can be told from the file alone, before any key
// is tried: no file, an unencrypted SQLite file, or a file that cannot be an
// SQLCipher database (SQLCipher files are whole pages of random-looking bytes).
func classifyFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return ErrNoDatabase
	}
	if err != nil {
		return fmt.Errorf("cannot open the database file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return ErrForeignFile
	}
	head := make([]byte, 16)
	if _, err := io.ReadFull(f, head); err != nil {
		return ErrForeignFile
	}
	if bytes.Equal(head, []byte("SQLite format 3\x00")) {
		return ErrPlaintext
	}
	if st.Size()%pageSize != 0 {
		return ErrForeignFile
	}
	return nil
}

func openSQL(dir string, key []byte) (*DB, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("a database key is %d bytes, not %d", KeySize, len(key))
	}
	c := &connector{path: DBPath(dir), key: append([]byte(nil), key...)}
	return &DB{sql: sql.OpenDB(c), conn: c, dir: dir}, nil
}

// load reads this node's identity and prepares the audit writer.
func (db *DB) load(ctx context.Context) error {
	var seed []byte
	err := db.sql.QueryRowContext(ctx, `SELECT n.id, n.name, n.public_key, s.signing_key
		FROM node_self s JOIN nodes n ON n.id = s.node_id`).Scan(&db.self.ID, &db.self.Name, &db.self.PublicKey, &seed)
	if err != nil {
		return fmt.Errorf("the database has no node identity (it is damaged): %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return errors.New("the node signing key in the database is damaged")
	}
	db.sign = ed25519.NewKeyFromSeed(seed)
	zero(seed)
	var maxHLC sql.NullInt64
	if err := db.sql.QueryRowContext(ctx, "SELECT max(hlc) FROM change_log").Scan(&maxHLC); err != nil {
		return err
	}
	db.clock.Observe(uint64(maxHLC.Int64))
	db.audit = &audit.Writer{Node: db.self.ID, Key: db.sign}
	return db.prepareReplica(ctx)
}

func (db *DB) createNode(ctx context.Context, name string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	defer zero(priv)
	id := NodeID(pub)
	if name == "" {
		name = id
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO nodes(id, name, public_key, added_at) VALUES (?, ?, ?, ?)`,
		id, name, []byte(pub), time.Now().Unix()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO node_self(one, node_id, signing_key) VALUES (1, ?, ?)`,
		id, priv.Seed()); err != nil {
		return err
	}
	return tx.Commit()
}

// Close closes the database and wipes the key and signing key it held.
func (db *DB) Close() error {
	err := db.sql.Close()
	db.conn.wipe()
	zero(db.sign)
	return err
}

// Dir is the data folder.
func (db *DB) Dir() string { return db.dir }

// Self is this workstation's node.
func (db *DB) Self() Node { return db.self }

// AuditReader lends store/audit's read-only work (Verify) the connection
// pool: a long verification then runs on every core and does not hold the
// write lock that every Session.Do takes. Only for reading the chains.
func (db *DB) AuditReader() audit.DBTX { return db.sql }

// NodeKeys are the public keys of every node whose chain this database holds.
func (tx *Tx) NodeKeys() (audit.Keys, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, "SELECT id, public_key FROM nodes")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := audit.Keys{}
	for rows.Next() {
		var id string
		var pub []byte
		if err := rows.Scan(&id, &pub); err != nil {
			return nil, err
		}
		keys[id] = ed25519.PublicKey(pub)
	}
	return keys, rows.Err()
}
