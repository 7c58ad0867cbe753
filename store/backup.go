package store

import (
	"bufio"
	"bytes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"ward/store/audit"
)

// A backup file, format "ward-backup/v1" (docs/formats.md): a short text
// header — clinic, workstation, time, the audit chain heads, the checksum of
// the body, and a copy of the emergency kit — then the database, encrypted
// with a random key of its own. That backup key is wrapped with a key derived
// from the database key, so a workstation backs up and drills on a schedule
// with no one typing the recovery code; and the kit inside turns the recovery
// code into that database key on any machine: code → kit → database key →
// backup key. A backup file and its recovery code are therefore the data,
// exactly as the kit and the database are.

const (
	backupMagic = "ward-backup/v1"
	// backupWrapInfo is HKDF's info: a key derived for wrapping backup keys is
	// good for nothing else.
	backupWrapInfo = "ward-backup/v1 backup key"
	// BackupExt is the extension of the backup files Ward names itself.
	BackupExt = ".wbak"

	backupSaltSize = 32
	// Bounds a reader accepts, so a hostile header cannot ask for gigabytes.
	maxBackupHeader = 1 << 20
	maxBackupChains = 4096
	maxNodeID       = 256
)

// BackupHeader describes a backup. Everything in it is readable without a
// key; it holds no patient data and no key in the clear.
type BackupHeader struct {
	Clinic     string
	Node       string // the workstation whose database this is
	Created    time.Time
	Schema     int          // the database's schema version
	Chains     []audit.Head // every audit chain's head, in the copy
	BodySize   int64
	BodySHA256 [32]byte
	Salt       []byte // HKDF salt, 32 bytes
	Nonce      []byte // XChaCha20-Poly1305 nonce, 24 bytes
	Kit        *Kit   // the emergency kit of the workstation when the backup was made
	WrappedKey []byte // the backup key, sealed: 32 bytes + 16-byte tag
}

// BackupDamagedError means the file is a Ward backup that cannot be used as
// it is: cut short, changed, or altered.
type BackupDamagedError struct{ What string }

func (e *BackupDamagedError) Error() string {
	return "the backup file is damaged: " + e.What + "; it cannot be restored as it is: " +
		"use another backup, or copy this one again from where it was made"
}

var (
	// ErrBackupWrongCode: the recovery code does not open the kit inside the backup.
	ErrBackupWrongCode = errors.New("the recovery code does not open this backup: give the recovery code that was current " +
		"when the backup was made (after `ward rekey`, backups made before it still need the code of their time)")
	// ErrBackupOtherKey: this workstation's database key is not the one the
	// backup was made under.
	ErrBackupOtherKey = errors.New("this workstation's database key does not open this backup: it was made on another " +
		"workstation or before the last key rotation (or its header was altered); check it with its recovery code " +
		"(`ward backup verify FILE --code`)")
)

// authenticated is the header up to and including the "---" line: the
// associated data of the wrapped key, so changing any of it (the checksum of
// the body included) makes unwrapping fail.
func (h *BackupHeader) authenticated() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nclinic: %s\nnode: %s\ncreated: %s\nschema: %d\nchains: %d\n",
		backupMagic, h.Clinic, h.Node, h.Created.UTC().Format(time.RFC3339Nano), h.Schema, len(h.Chains))
	for _, c := range h.Chains {
		fmt.Fprintf(&b, "chain: %s seq=%d head=%x\n", c.Node, c.Seq, c.Hash)
	}
	fmt.Fprintf(&b, "body: bytes=%d sha256=%x\nhkdf-sha256: salt=%s\nxchacha20poly1305: nonce=%s\nkit: %s\n---\n",
		h.BodySize, h.BodySHA256, b64(h.Salt), b64(h.Nonce), b64(h.Kit.Marshal()))
	return b.Bytes()
}

// marshal is the header as written, the line with the wrapped key included.
func (h *BackupHeader) marshal() []byte {
	return append(h.authenticated(), b64(h.WrappedKey)+"\n"...)
}

// aead is the cipher that wraps the backup key: XChaCha20-Poly1305 under
// HKDF-SHA256(database key, salt, info). The derived key is wiped.
func (h *BackupHeader) aead(dbKey []byte) (cipher.AEAD, error) {
	kek, err := hkdf.Key(sha256.New, dbKey, h.Salt, backupWrapInfo, chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	defer zero(kek)
	return chacha20poly1305.NewX(kek)
}

// seal picks a fresh salt and nonce and wraps backupKey under dbKey. Every
// other field must be final: they are authenticated.
func (h *BackupHeader) seal(dbKey, backupKey []byte) error {
	h.Salt, h.Nonce = make([]byte, backupSaltSize), make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := rand.Read(h.Salt); err != nil {
		return err
	}
	if _, err := rand.Read(h.Nonce); err != nil {
		return err
	}
	aead, err := h.aead(dbKey)
	if err != nil {
		return err
	}
	h.WrappedKey = aead.Seal(nil, h.Nonce, backupKey, h.authenticated())
	return nil
}

// unwrap returns the backup key, or an error if dbKey is not the key the
// backup was made under or the header was changed.
func (h *BackupHeader) unwrap(dbKey []byte) ([]byte, error) {
	aead, err := h.aead(dbKey)
	if err != nil {
		return nil, err
	}
	return openKey(aead, h.Nonce, h.WrappedKey, h.authenticated())
}

// Backup is a backup file opened for reading: its header parsed and its
// length checked. The body is read only by CheckBody and WriteDatabase.
type Backup struct {
	Path   string
	Header BackupHeader
	offset int64 // where the body starts
}

// OpenBackup reads the header of the backup file at path and checks that
// the file is exactly as long as the header says.
func OpenBackup(path string) (*Backup, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("there is no backup file at %s: give the path of a backup made by `ward backup`", path)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the backup file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read the backup file: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a folder, not a backup file: give the path of a backup made by `ward backup`", path)
	}
	h, offset, err := parseBackupHeader(bufio.NewReader(io.LimitReader(f, maxBackupHeader)))
	if err != nil {
		return nil, err
	}
	switch want := offset + h.BodySize; {
	case st.Size() < want:
		return nil, &BackupDamagedError{fmt.Sprintf("it is incomplete: it ends %d bytes early (it was cut off while being written or copied)", want-st.Size())}
	case st.Size() > want:
		return nil, &BackupDamagedError{fmt.Sprintf("it has %d unexpected bytes after its end", st.Size()-want)}
	}
	return &Backup{Path: path, Header: *h, offset: offset}, nil
}

// parseBackupHeader reads a ward-backup/v1 header, rejecting anything else,
// and returns it with the offset of the body.
func parseBackupHeader(r *bufio.Reader) (*BackupHeader, int64, error) {
	bad := func(what string) error {
		return fmt.Errorf("this is not a valid Ward backup file (%s): check that you chose a backup made by `ward backup` (*%s)", what, BackupExt)
	}
	var offset int64
	var raw bytes.Buffer // the authenticated part as read
	first := true
	next := func(prefix string) (string, error) {
		line, err := r.ReadString('\n')
		offset += int64(len(line))
		raw.WriteString(line)
		if err != nil {
			if first {
				return "", bad("it is empty or too short")
			}
			return "", &BackupDamagedError{"it ends inside its header (it was cut off while being written or copied)"}
		}
		line = strings.TrimSuffix(line, "\n")
		if first {
			first = false
			if line != backupMagic {
				if strings.HasPrefix(line, "ward-backup/") {
					return "", fmt.Errorf("this backup is format %q, which this Ward does not read: use a newer Ward", line)
				}
				return "", bad("no " + backupMagic + " line")
			}
			return line, nil
		}
		v, ok := strings.CutPrefix(line, prefix)
		if !ok {
			return "", bad("no " + strings.TrimSuffix(prefix, " ") + " line where expected")
		}
		return v, nil
	}
	h := &BackupHeader{}
	var err error
	if _, err = next(""); err != nil {
		return nil, 0, err
	}
	if h.Clinic, err = next("clinic: "); err != nil {
		return nil, 0, err
	}
	if h.Node, err = next("node: "); err != nil {
		return nil, 0, err
	}
	if !validNodeID(h.Node) {
		return nil, 0, bad("node id unreadable")
	}
	v, err := next("created: ")
	if err != nil {
		return nil, 0, err
	}
	if h.Created, err = time.Parse(time.RFC3339Nano, v); err != nil {
		return nil, 0, bad("creation time unreadable")
	}
	if v, err = next("schema: "); err != nil {
		return nil, 0, err
	}
	if h.Schema, err = strconv.Atoi(v); err != nil || h.Schema < 1 {
		return nil, 0, bad("schema version unreadable")
	}
	if v, err = next("chains: "); err != nil {
		return nil, 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > maxBackupChains {
		return nil, 0, bad("chain count unreadable")
	}
	for range n {
		if v, err = next("chain: "); err != nil {
			return nil, 0, err
		}
		node, rest, _ := strings.Cut(v, " ")
		f := fields(rest)
		seq, err1 := strconv.ParseUint(f["seq"], 10, 63)
		hash, err2 := hex.DecodeString(f["head"])
		if !validNodeID(node) || err1 != nil || seq < 1 || err2 != nil || len(hash) != 32 {
			return nil, 0, bad("chain head unreadable")
		}
		if k := len(h.Chains); k > 0 && h.Chains[k-1].Node >= node {
			return nil, 0, bad("chains not sorted by node")
		}
		h.Chains = append(h.Chains, audit.Head{Node: node, Seq: seq, Hash: [32]byte(hash)})
	}
	if v, err = next("body: "); err != nil {
		return nil, 0, err
	}
	f := fields(v)
	size, err1 := strconv.ParseInt(f["bytes"], 10, 64)
	sum, err2 := hex.DecodeString(f["sha256"])
	if err1 != nil || err2 != nil || len(sum) != 32 || size < pageSize || size%pageSize != 0 {
		return nil, 0, bad("body length or checksum unreadable")
	}
	h.BodySize, h.BodySHA256 = size, [32]byte(sum)
	if v, err = next("hkdf-sha256: "); err != nil {
		return nil, 0, err
	}
	if h.Salt, err = unb64(fields(v)["salt"]); err != nil || len(h.Salt) != backupSaltSize {
		return nil, 0, bad("salt unreadable")
	}
	if v, err = next("xchacha20poly1305: "); err != nil {
		return nil, 0, err
	}
	if h.Nonce, err = unb64(fields(v)["nonce"]); err != nil || len(h.Nonce) != chacha20poly1305.NonceSizeX {
		return nil, 0, bad("nonce unreadable")
	}
	if v, err = next("kit: "); err != nil {
		return nil, 0, err
	}
	kit, err := unb64(v)
	if err != nil {
		return nil, 0, bad("emergency kit unreadable")
	}
	if h.Kit, err = ParseKit(bytes.NewReader(kit)); err != nil {
		return nil, 0, bad("the emergency kit inside is not valid")
	}
	if !bytes.Equal(h.Kit.Marshal(), kit) {
		return nil, 0, bad("the emergency kit inside is not in its canonical form")
	}
	if h.Kit.Node != h.Node {
		return nil, 0, bad("the emergency kit inside belongs to another workstation")
	}
	if v, err = next("---"); err != nil {
		return nil, 0, err
	}
	if v != "" {
		return nil, 0, bad("no --- line where expected")
	}
	// One spelling per header (times, numbers, base64): the bytes a reader
	// authenticates are the bytes a writer would write.
	if !bytes.Equal(raw.Bytes(), h.authenticated()) {
		return nil, 0, bad("the header is not in its canonical form")
	}
	if v, err = next(""); err != nil {
		return nil, 0, err
	}
	if h.WrappedKey, err = unb64(v); err != nil || len(h.WrappedKey) != KeySize+chacha20poly1305.Overhead {
		return nil, 0, bad("wrapped key unreadable")
	}
	return h, offset, nil
}

// validNodeID: what a node id may be in a header line (docs/formats.md).
func validNodeID(s string) bool {
	if s == "" || len(s) > maxNodeID {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// KeyFromCode opens the backup key with the recovery code: the kit inside
// gives the database key the backup was made under, and that unwraps the
// backup key. The database key is wiped; the caller wipes the backup key.
func (b *Backup) KeyFromCode(code string) ([]byte, error) {
	dbKey, err := b.Header.Kit.Open(code)
	if errors.Is(err, ErrWrongRecoveryCode) {
		return nil, ErrBackupWrongCode
	}
	if err != nil {
		return nil, err
	}
	defer zero(dbKey)
	key, err := b.Header.unwrap(dbKey)
	if err != nil {
		// The kit opened, so the code is right: the header is not as written.
		return nil, &BackupDamagedError{"its header was changed after it was written (it no longer matches the key it protects)"}
	}
	return key, nil
}

// KeyFromDB opens the backup key with the key of db, the workstation's open
// database: how scheduled drills open backups without the recovery code.
func (b *Backup) KeyFromDB(db *DB) ([]byte, error) {
	dbKey := db.conn.keyCopy()
	if dbKey == nil {
		return nil, errors.New("the database is closed")
	}
	defer zero(dbKey)
	key, err := b.Header.unwrap(dbKey)
	if err != nil {
		return nil, ErrBackupOtherKey
	}
	return key, nil
}

// errBodyChecksum: the body is not the one the header describes.
var errBodyChecksum = &BackupDamagedError{"its contents do not match the checksum in its header (bytes were changed after it was written)"}

// CheckBody reads the whole body and compares it with the header's checksum.
func (b *Backup) CheckBody() error {
	return b.copyBody(io.Discard)
}

// copyBody writes the body to w while checking it against the header.
func (b *Backup) copyBody(w io.Writer) error {
	f, err := os.Open(b.Path)
	if err != nil {
		return fmt.Errorf("cannot read the backup file: %w", err)
	}
	defer f.Close()
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, sum), io.NewSectionReader(f, b.offset, b.Header.BodySize))
	if err != nil {
		return fmt.Errorf("reading the backup file failed: %w", err)
	}
	if n != b.Header.BodySize {
		return &BackupDamagedError{"it became shorter while it was being read"}
	}
	if !bytes.Equal(sum.Sum(nil), b.Header.BodySHA256[:]) {
		return errBodyChecksum
	}
	return nil
}

// WriteDatabase writes the backup's database (still encrypted with the
// backup key) as the database file of the new folder dir, checking it
// against the header's checksum on the way and syncing it to disk. On any
// error the file is removed.
func (b *Backup) WriteDatabase(dir string) error {
	path := DBPath(dir)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write the database in %s: %w", dir, err)
	}
	err = b.copyBody(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// keyCopy is a copy of the database key for wrapping or unwrapping a backup
// key (nil once the database is closed); the caller wipes it.
func (c *connector) keyCopy() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.key)
}
