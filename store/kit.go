package store

import (
	"bufio"
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// The emergency kit wraps a database key with a recovery code that is shown
// once and kept on paper. Format "ward-kit/v1" is specified in docs/formats.md.

const (
	kitMagic = "ward-kit/v1"
	// KitFileName is the kit's file in the data folder.
	KitFileName = "ward.kit"

	// Argon2id cost of the kit: heavy on purpose (≥ 256 MiB), because the
	// kit file may be copied and attacked offline. Two lanes for a 2-core desk.
	kitTime    = 3
	kitMemory  = 256 * 1024 // KiB
	kitThreads = 2

	// Bounds a reader accepts, so a hostile kit cannot ask for 100 GiB.
	kitMinMemory, kitMaxMemory = 256 * 1024, 4 * 1024 * 1024
	kitMaxTime, kitMaxThreads  = 16, 64
)

// Recovery codes are 25 symbols of Crockford's base32 (no I, L, O, U): 125
// bits, read aloud in five groups of five.
const (
	recoveryAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	recoveryLen      = 25
)

// NewRecoveryCode returns a fresh random recovery code, grouped for reading
// aloud: "7K3QD-XR0NP-…".
func NewRecoveryCode() (string, error) {
	var raw [recoveryLen]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	var b strings.Builder
	for i, r := range raw {
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(recoveryAlphabet[r&31]) // 256 is a multiple of 32: no bias
	}
	return b.String(), nil
}

// NormalizeRecoveryCode accepts what a person types: any case, dashes or
// spaces anywhere, O for 0 and I or L for 1.
func NormalizeRecoveryCode(typed string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ' || r == '\t' || r == '\r' || r == '\n':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if !strings.ContainsRune(recoveryAlphabet, r) {
			return "", fmt.Errorf("a recovery code has only letters and digits; %q is not one of them", r)
		}
		b.WriteRune(r)
	}
	if b.Len() != recoveryLen {
		return "", fmt.Errorf("a recovery code has %d letters and digits; this one has %d", recoveryLen, b.Len())
	}
	return b.String(), nil
}

// Kit is a parsed emergency kit.
type Kit struct {
	Clinic  string
	Node    string
	Time    uint32
	Memory  uint32 // KiB
	Threads uint8
	Salt    []byte
	Nonce   []byte
	Sealed  []byte
}

// SealKit wraps key with the recovery code.
func SealKit(key []byte, code, clinic, node string) (*Kit, error) {
	norm, err := NormalizeRecoveryCode(code)
	if err != nil {
		return nil, err
	}
	k := &Kit{Clinic: oneLine(clinic), Node: oneLine(node), Time: kitTime, Memory: kitMemory, Threads: kitThreads,
		Salt: make([]byte, 16), Nonce: make([]byte, chacha20poly1305.NonceSizeX)}
	if _, err := rand.Read(k.Salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(k.Nonce); err != nil {
		return nil, err
	}
	aead, err := k.aead(norm)
	if err != nil {
		return nil, err
	}
	k.Sealed = aead.Seal(nil, k.Nonce, key, k.header())
	return k, nil
}

// Open unwraps the database key with the recovery code.
func (k *Kit) Open(code string) ([]byte, error) {
	norm, err := NormalizeRecoveryCode(code)
	if err != nil {
		return nil, err
	}
	aead, err := k.aead(norm)
	if err != nil {
		return nil, err
	}
	key, err := openKey(aead, k.Nonce, k.Sealed, k.header())
	switch {
	case errors.Is(err, errTagMismatch):
		return nil, ErrWrongRecoveryCode
	case err != nil:
		return nil, errors.New("the emergency kit holds a key of the wrong size: the kit file is damaged")
	}
	return key, nil
}

var (
	errTagMismatch = errors.New("the sealed key does not open: wrong key, or the data around it was changed")
	errKeySize     = errors.New("the sealed key is not a database key")
)

// openKey opens a database-sized key sealed with aead (the kit's, a
// backup's): errTagMismatch when the tag does not verify, errKeySize when
// what it holds is not 32 bytes.
func openKey(aead cipher.AEAD, nonce, sealed, ad []byte) ([]byte, error) {
	key, err := aead.Open(nil, nonce, sealed, ad)
	if err != nil {
		return nil, errTagMismatch
	}
	if len(key) != KeySize {
		zero(key)
		return nil, errKeySize
	}
	return key, nil
}

// aead derives the key-encryption key from a normalized code (argon2id, the
// slow part) and returns the cipher; the derived key is wiped.
func (k *Kit) aead(code string) (cipher.AEAD, error) {
	kek := argon2.IDKey([]byte(code), k.Salt, k.Time, k.Memory, k.Threads, chacha20poly1305.KeySize)
	defer zero(kek)
	return chacha20poly1305.NewX(kek)
}

// header is everything before the sealed key; it is the AEAD's associated
// data, so editing any field (clinic, node, cost, salt) makes Open fail.
func (k *Kit) header() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nclinic: %s\nnode: %s\nargon2id: t=%d m=%d p=%d salt=%s\nxchacha20poly1305: nonce=%s\n---\n",
		kitMagic, k.Clinic, k.Node, k.Time, k.Memory, k.Threads, b64(k.Salt), b64(k.Nonce))
	return b.Bytes()
}

// Marshal returns the kit file's bytes.
func (k *Kit) Marshal() []byte {
	return append(k.header(), b64(k.Sealed)+"\n"...)
}

// ParseKit reads a kit file, rejecting anything that is not exactly
// ward-kit/v1 with sane parameters.
func ParseKit(r io.Reader) (*Kit, error) {
	bad := func(what string) error {
		return fmt.Errorf("this is not a valid Ward emergency kit (%s): check that you chose the kit file (ward.kit)", what)
	}
	sc := bufio.NewScanner(io.LimitReader(r, 64<<10))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the emergency kit: %w", err)
	}
	if len(lines) < 7 {
		return nil, bad("too short")
	}
	if lines[0] != kitMagic {
		if strings.HasPrefix(lines[0], "ward-kit/") {
			return nil, fmt.Errorf("this emergency kit is version %q, which this Ward does not read: use a newer Ward", lines[0])
		}
		return nil, bad("no ward-kit/v1 line")
	}
	k := &Kit{}
	var ok bool
	if k.Clinic, ok = strings.CutPrefix(lines[1], "clinic: "); !ok {
		return nil, bad("no clinic line")
	}
	if k.Node, ok = strings.CutPrefix(lines[2], "node: "); !ok {
		return nil, bad("no node line")
	}
	kdf, ok := strings.CutPrefix(lines[3], "argon2id: ")
	if !ok {
		return nil, bad("no argon2id line")
	}
	f := fields(kdf)
	t, err1 := strconv.ParseUint(f["t"], 10, 32)
	m, err2 := strconv.ParseUint(f["m"], 10, 32)
	p, err3 := strconv.ParseUint(f["p"], 10, 8)
	salt, err4 := unb64(f["salt"])
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || len(salt) < 16 {
		return nil, bad("argon2id parameters unreadable")
	}
	if t < 1 || t > kitMaxTime || m < kitMinMemory || m > kitMaxMemory || p < 1 || p > kitMaxThreads {
		return nil, bad("argon2id parameters out of range")
	}
	k.Time, k.Memory, k.Threads, k.Salt = uint32(t), uint32(m), uint8(p), salt
	aead, ok := strings.CutPrefix(lines[4], "xchacha20poly1305: ")
	if !ok {
		return nil, bad("no xchacha20poly1305 line")
	}
	if k.Nonce, err1 = unb64(fields(aead)["nonce"]); err1 != nil || len(k.Nonce) != chacha20poly1305.NonceSizeX {
		return nil, bad("nonce unreadable")
	}
	if lines[5] != "---" {
		return nil, bad("no --- line")
	}
	if k.Sealed, err1 = unb64(lines[6]); err1 != nil || len(k.Sealed) != KeySize+chacha20poly1305.Overhead {
		return nil, bad("sealed key unreadable")
	}
	if len(lines) > 7 {
		return nil, bad("extra lines after the sealed key")
	}
	return k, nil
}

// ReadKitFile parses the kit at path.
func ReadKitFile(path string) (*Kit, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("there is no emergency kit file at %s: give the path of the kit (ward.kit)", path)
		}
		return nil, fmt.Errorf("cannot read the emergency kit: %w", err)
	}
	defer f.Close()
	return ParseKit(f)
}

// WriteKitFile writes the kit to path atomically (temp file, fsync, rename),
// so a crash leaves the old kit or the new one, never half of either.
func WriteKitFile(path string, k *Kit) error {
	return writeFileAtomic(path, k.Marshal(), 0o600)
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	return writeFileAtomicFunc(path, perm, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// writeFileAtomicFunc is writeFileAtomic for content that write streams into
// the temp file (named beside path, so the rename stays on one disk).
func writeFileAtomicFunc(path string, perm os.FileMode, write func(f *os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), tempPattern(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// tempPattern names the temp files written beside path: hidden, and never
// mistaken for the file itself.
func tempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func fields(s string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(s) {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return m
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func b64(b []byte) string            { return base64.StdEncoding.EncodeToString(b) }
func unb64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// zero overwrites key material we hold; Go may have copied it elsewhere, but
// every copy we own is wiped.
func zero(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
