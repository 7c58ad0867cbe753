package node

import (
	"bufio"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// The welcome: what an inviting workstation hands the one it admitted (the
// clinic key, the peers, a snapshot), sealed so that only that joiner can
// open it (docs/formats.md, "Pairing"):
//
//	magic "ward-welcome/v1\n" || eph[32] || prefix[16]
//	chunk*: u8 last || u32 len(ciphertext) || ciphertext
//	        ciphertext = XChaCha20-Poly1305(key, nonce = prefix || u64 index,
//	                     plaintext ≤ 1 MiB, aad = magic || eph || prefix || u64 index || u8 last)
//	key = HKDF-SHA256(ikm = X25519(eph, joiner's X25519 key),
//	                  salt = AuthKey of the invite,
//	                  info = "ward-pair/v1 welcome" || transcript || eph)
//
// eph is a fresh X25519 key of the inviter; the joiner's X25519 key was made
// for this one join and sent in its hello; the transcript hashes that hello
// and the TLS channel it came over. A man in the middle who lacks the invite
// secret (hence AuthKey) or the joiner's private key learns nothing from it,
// and the last chunk is marked, so a cut-short welcome is detected.

const (
	welcomeMagic = "ward-welcome/v1\n"
	welcomeChunk = 1 << 20
	welcomeMax   = welcomeChunk + chacha20poly1305.Overhead
)

func welcomeKey(authKey, transcript, shared, eph []byte) []byte {
	info := append([]byte("ward-pair/v1 welcome"), transcript...)
	info = append(info, eph...)
	return deriveSalted(shared, authKey, string(info), chacha20poly1305.KeySize)
}

// SealWelcome seals plaintext (read to its end) for the joiner of join,
// writing the sealed welcome to w.
func SealWelcome(w io.Writer, join JoinRequest, authKey []byte, plaintext io.Reader) error {
	joinerPub, err := ecdh.X25519().NewPublicKey(join.X25519)
	if err != nil {
		return errors.New("the joiner's key is not an X25519 key")
	}
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	shared, err := eph.ECDH(joinerPub)
	if err != nil {
		return err
	}
	ephPub := eph.PublicKey().Bytes()
	key := welcomeKey(authKey, join.Transcript, shared, ephPub)
	defer wipeBytes(key)
	wipeBytes(shared)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return err
	}
	var prefix [16]byte
	if _, err := rand.Read(prefix[:]); err != nil {
		return err
	}
	head := append([]byte(welcomeMagic), ephPub...)
	head = append(head, prefix[:]...)
	bw := bufio.NewWriterSize(w, 1<<16)
	if _, err := bw.Write(head); err != nil {
		return err
	}
	buf := make([]byte, welcomeChunk)
	br := bufio.NewReaderSize(plaintext, 1<<16)
	for index := uint64(0); ; index++ {
		n, err := io.ReadFull(br, buf)
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return err
		}
		last := err != nil
		if !last { // exactly a full chunk: is there more?
			if _, perr := br.Peek(1); perr == io.EOF {
				last = true
			} else if perr != nil {
				return perr
			}
		}
		nonce, aad := chunkNonce(head, prefix, index, last)
		ct := aead.Seal(nil, nonce, buf[:n], aad)
		var hdr [5]byte
		if last {
			hdr[0] = 1
		}
		binary.BigEndian.PutUint32(hdr[1:], uint32(len(ct)))
		if _, err := bw.Write(hdr[:]); err != nil {
			return err
		}
		if _, err := bw.Write(ct); err != nil {
			return err
		}
		if last {
			wipeBytes(buf)
			return bw.Flush()
		}
	}
}

func chunkNonce(head []byte, prefix [16]byte, index uint64, last bool) (nonce, aad []byte) {
	nonce = binary.BigEndian.AppendUint64(append([]byte(nil), prefix[:]...), index)
	aad = binary.BigEndian.AppendUint64(append([]byte(nil), head...), index)
	if last {
		aad = append(aad, 1)
	} else {
		aad = append(aad, 0)
	}
	return nonce, aad
}

// ErrWelcome: the sealed welcome does not open (altered, cut short, or not
// meant for this joiner).
var ErrWelcome = errors.New("the welcome from the inviting workstation does not open: it was altered or cut short in transit (nothing was installed; ask for a new invite)")

// openWelcome returns the plaintext of a sealed welcome, read from r as it
// arrives. Reading past the end of a welcome without a last chunk, or any
// altered chunk, gives ErrWelcome.
func openWelcome(r io.Reader, priv *ecdh.PrivateKey, authKey, transcript []byte) (io.Reader, error) {
	head := make([]byte, len(welcomeMagic)+32+16)
	if _, err := io.ReadFull(r, head); err != nil || string(head[:len(welcomeMagic)]) != welcomeMagic {
		return nil, ErrWelcome
	}
	ephPub := head[len(welcomeMagic) : len(welcomeMagic)+32]
	pub, err := ecdh.X25519().NewPublicKey(ephPub)
	if err != nil {
		return nil, ErrWelcome
	}
	shared, err := priv.ECDH(pub)
	if err != nil {
		return nil, ErrWelcome
	}
	key := welcomeKey(authKey, transcript, shared, ephPub)
	wipeBytes(shared)
	aead, err := chacha20poly1305.NewX(key)
	wipeBytes(key)
	if err != nil {
		return nil, err
	}
	var prefix [16]byte
	copy(prefix[:], head[len(welcomeMagic)+32:])
	return &welcomeReader{r: r, aead: aead, head: head, prefix: prefix}, nil
}

type welcomeReader struct {
	r      io.Reader
	aead   cipher.AEAD
	head   []byte
	prefix [16]byte
	index  uint64
	buf    []byte
	done   bool
	err    error
}

func (w *welcomeReader) Read(p []byte) (int, error) {
	for len(w.buf) == 0 {
		if w.err != nil {
			return 0, w.err
		}
		if w.done {
			return 0, io.EOF
		}
		w.err = w.next()
	}
	n := copy(p, w.buf)
	w.buf = w.buf[n:]
	return n, nil
}

func (w *welcomeReader) next() error {
	var hdr [5]byte
	if _, err := io.ReadFull(w.r, hdr[:]); err != nil {
		return ErrWelcome
	}
	last := hdr[0] == 1
	n := binary.BigEndian.Uint32(hdr[1:])
	if hdr[0] > 1 || n > welcomeMax || n < chacha20poly1305.Overhead {
		return ErrWelcome
	}
	ct := make([]byte, n)
	if _, err := io.ReadFull(w.r, ct); err != nil {
		return ErrWelcome
	}
	nonce, aad := chunkNonce(w.head, w.prefix, w.index, last)
	pt, err := w.aead.Open(ct[:0], nonce, ct, aad)
	if err != nil {
		return ErrWelcome
	}
	w.index++
	w.buf = pt
	w.done = last
	return nil
}

func deriveSalted(secret, salt []byte, info string, n int) []byte {
	k, err := hkdf.Key(sha256.New, secret, salt, info, n)
	if err != nil {
		panic(fmt.Sprintf("hkdf: %v", err))
	}
	return k
}

func wipeBytes(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
