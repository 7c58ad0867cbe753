package node

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base32"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/syncthing/syncthing/lib/protocol"
)

func testCert(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	c, err := loadOrMakeCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c, protocol.NewDeviceID(c.Certificate[0]).String()
}

func testNodeKey(t *testing.T) (ed25519.PublicKey, string) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	sum := sha256.Sum256(pub)
	return pub, strings.ToLower(base32.StdEncoding.EncodeToString(sum[:10]))
}

// fakeBook is the inviter's side of the database.
type fakeBook struct {
	t       *testing.T
	mu      stdsync.Mutex
	invites map[string][]byte // id → auth key
	spent   map[string]bool
	joins   []JoinRequest
	welcome string // path, once approved
	decline string
	done    chan string // "ok" or the detail
}

func newFakeBook(t *testing.T) *fakeBook {
	return &fakeBook{t: t, invites: map[string][]byte{}, spent: map[string]bool{}, done: make(chan string, 1)}
}

func (b *fakeBook) InviteKey(_ context.Context, id string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k, ok := b.invites[id]
	if !ok || b.spent[id] {
		return nil, ErrInviteNotValid
	}
	return append([]byte(nil), k...), nil
}

func (b *fakeBook) Requested(_ context.Context, r JoinRequest) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.spent[r.InviteID] = true
	b.joins = append(b.joins, r)
	return "j1", nil
}

func (b *fakeBook) Decision(context.Context, string) (string, string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.welcome, b.decline, nil
}

func (b *fakeBook) Finished(_ context.Context, _ string, ok bool, detail string) {
	if ok {
		detail = "ok"
	}
	b.done <- detail
}

// approve seals plain for the pending join, as `ward sync approve` does.
func (b *fakeBook) approve(inv Invite, plain []byte, tamper bool) {
	b.mu.Lock()
	req := b.joins[0]
	b.mu.Unlock()
	var buf bytes.Buffer
	if err := SealWelcome(&buf, req, inv.AuthKey(), bytes.NewReader(plain)); err != nil {
		b.t.Error(err)
	}
	sealed := buf.Bytes()
	if tamper {
		sealed[len(sealed)/2] ^= 1
	}
	p := filepath.Join(b.t.TempDir(), "welcome")
	os.WriteFile(p, sealed, 0o600)
	b.mu.Lock()
	b.welcome = p
	b.mu.Unlock()
}

type pairFixture struct {
	book   *fakeBook
	srv    *PairServer
	inv    Invite
	joiner tls.Certificate
	jdev   string
	me     JoinerInfo
}

func newPairFixture(t *testing.T) *pairFixture {
	cert, dev := testCert(t)
	_, inviterNode := testNodeKey(t)
	book := newFakeBook(t)
	srv, err := ServePairing("127.0.0.1:0", cert, book)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	inv, err := NewInvite(dev, inviterNode, []string{srv.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	book.invites[inv.ID()] = inv.AuthKey()
	jc, jdev := testCert(t)
	pub, id := testNodeKey(t)
	return &pairFixture{book: book, srv: srv, inv: inv, joiner: jc, jdev: jdev,
		me: JoinerInfo{NodeID: id, Name: "reception-2", NodeKey: pub, Addresses: []string{"tcp://127.0.0.1:22100"}}}
}

// approveWhenAsked approves the first join request once it arrives.
func (f *pairFixture) approveWhenAsked(plain []byte, tamper bool) {
	for {
		f.book.mu.Lock()
		n := len(f.book.joins)
		f.book.mu.Unlock()
		if n > 0 {
			f.book.approve(f.inv, plain, tamper)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestInviteCode(t *testing.T) {
	cert, dev := testCert(t)
	_ = cert
	_, node := testNodeKey(t)
	inv, err := NewInvite(dev, node, []string{"192.168.1.20:22101", "[fd00::1]:22101", "nas.clinic.lan:22101"})
	if err != nil {
		t.Fatal(err)
	}
	code := inv.Code()
	t.Logf("invite code (%d characters): %s", len(code), code)
	got, err := ParseInvite(strings.ToLower(strings.ReplaceAll(code, "-", " ")))
	if err != nil {
		t.Fatal(err)
	}
	if got.Secret != inv.Secret || got.Device != inv.Device || got.Node != node ||
		strings.Join(got.Addresses, ",") != "192.168.1.20:22101,[fd00::1]:22101,nas.clinic.lan:22101" {
		t.Fatalf("round trip: %+v", got)
	}
	// Look-alikes are forgiven; a changed letter is caught.
	if _, err := ParseInvite(strings.NewReplacer("O", "0", "I", "1", "B", "8").Replace(code)); err != nil {
		t.Errorf("look-alikes: %v", err)
	}
	bad := []byte(code)
	if bad[7] == 'A' {
		bad[7] = 'C'
	} else {
		bad[7] = 'A'
	}
	if _, err := ParseInvite(string(bad)); !errors.Is(err, ErrInviteCode) {
		t.Errorf("a mistyped code: %v", err)
	}
	if _, err := ParseInvite(code[:len(code)-6]); !errors.Is(err, ErrInviteCode) {
		t.Errorf("a cut code: %v", err)
	}
	if inv.ID() == "" || bytes.Equal(inv.AuthKey(), inv.Secret[:]) {
		t.Error("the stored forms must not be the secret")
	}
}

func TestPairApproved(t *testing.T) {
	f := newPairFixture(t)
	plain := bytes.Repeat([]byte("clinic key, peers and a snapshot "), 100000) // 3.3 MB: several chunks
	var pend Pending
	go f.approveWhenAsked(plain, false)
	w, err := Join(context.Background(), f.inv, f.joiner, f.me, func(p Pending) { pend = p })
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(w.Plain)
	if err != nil {
		t.Fatal(err)
	}
	w.Done(nil)
	if !bytes.Equal(got, plain) {
		t.Fatalf("welcome: %d bytes, want %d", len(got), len(plain))
	}
	if d := <-f.book.done; d != "ok" {
		t.Fatalf("inviter saw %q", d)
	}
	j := f.book.joins[0]
	if j.DeviceID != f.jdev || j.NodeID != f.me.NodeID || !bytes.Equal(j.NodeKey, f.me.NodeKey) || j.Name != "reception-2" {
		t.Fatalf("join request %+v", j)
	}
	if !f.inv.DeviceMatches(protocol.DeviceID(mustDevice(t, pend.InviterDevice))) {
		t.Fatal("pending shows another inviter")
	}
	// The invite is spent.
	if _, err := Join(context.Background(), f.inv, f.joiner, f.me, nil); err == nil || !strings.Contains(err.Error(), "does not accept this invite") {
		t.Fatalf("second use: %v", err)
	}
}

func mustDevice(t *testing.T, s string) protocol.DeviceID {
	d, err := protocol.DeviceIDFromString(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPairWrongSecret(t *testing.T) {
	f := newPairFixture(t)
	wrong := f.inv
	wrong.Secret[0] ^= 1
	f.book.invites[wrong.ID()] = f.inv.AuthKey() // even under its id, the MAC fails
	_, err := Join(context.Background(), wrong, f.joiner, f.me, nil)
	if err == nil || err.Error() != ErrInviteNotValid.Error() {
		t.Fatalf("wrong secret: %v", err)
	}
	if len(f.book.joins) != 0 {
		t.Fatal("a join was recorded")
	}
}

func TestPairWrongInviter(t *testing.T) {
	f := newPairFixture(t)
	other := f.inv
	other.Device[0] ^= 1 // the code pins another device than the one answering
	_, err := Join(context.Background(), other, f.joiner, f.me, nil)
	if err == nil || !strings.Contains(err.Error(), "not the one that made the invite") {
		t.Fatalf("wrong inviter: %v", err)
	}
	if len(f.book.joins) != 0 {
		t.Fatal("a join was recorded")
	}
}

func TestPairDeclined(t *testing.T) {
	f := newPairFixture(t)
	f.book.decline = "not a workstation of ours"
	_, err := Join(context.Background(), f.inv, f.joiner, f.me, nil)
	if err == nil || !strings.Contains(err.Error(), "declined this workstation: not a workstation of ours") {
		t.Fatalf("declined: %v", err)
	}
}

func TestPairTamperedWelcome(t *testing.T) {
	f := newPairFixture(t)
	go f.approveWhenAsked(bytes.Repeat([]byte("x"), 3<<20), true)
	w, err := Join(context.Background(), f.inv, f.joiner, f.me, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(w.Plain)
	w.Done(err)
	if !errors.Is(err, ErrWelcome) {
		t.Fatalf("tampered welcome: %v", err)
	}
	if d := <-f.book.done; !strings.Contains(d, "could not install") {
		t.Fatalf("inviter saw %q", d)
	}
}

// A welcome sealed for one join does not open for another (a different
// X25519 key or transcript), nor without the invite's key.
func TestWelcomeBinding(t *testing.T) {
	f := newPairFixture(t)
	f.book.decline = "" // never decided: the join just waits
	ctx, cancel := context.WithCancel(context.Background())
	go Join(ctx, f.inv, f.joiner, f.me, func(Pending) { cancel() })
	<-ctx.Done()
	if d := <-f.book.done; d == "ok" {
		t.Fatal("a hung-up join was finished as ok")
	}
	req := f.book.joins[0]
	var sealed bytes.Buffer
	if err := SealWelcome(&sealed, req, f.inv.AuthKey(), strings.NewReader("secret things")); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed.String(), "secret things") {
		t.Fatal("plaintext visible in the sealed welcome")
	}
	// Nobody but the joiner holds its X25519 private key; with another key,
	// even knowing the invite, it does not open.
	other, _ := ecdhKey()
	r, err := openWelcome(bytes.NewReader(sealed.Bytes()), other, f.inv.AuthKey(), req.Transcript)
	if err == nil {
		_, err = io.ReadAll(r)
	}
	if !errors.Is(err, ErrWelcome) {
		t.Fatalf("opened with another key: %v", err)
	}
}

func ecdhKey() (*ecdh.PrivateKey, error) { return ecdh.X25519().GenerateKey(rand.Reader) }

// With the joiner's private key but not the invite's key (a man in the
// middle who swapped in his own X25519 key would hold only that), the
// welcome does not open; with both, it does.
func TestWelcomeNeedsInviteKey(t *testing.T) {
	priv, _ := ecdhKey()
	auth := bytes.Repeat([]byte{7}, 32)
	tr := bytes.Repeat([]byte{9}, 32)
	req := JoinRequest{X25519: priv.PublicKey().Bytes(), Transcript: tr}
	var sealed bytes.Buffer
	if err := SealWelcome(&sealed, req, auth, strings.NewReader("clinic key")); err != nil {
		t.Fatal(err)
	}
	open := func(auth, tr []byte) (string, error) {
		r, err := openWelcome(bytes.NewReader(sealed.Bytes()), priv, auth, tr)
		if err != nil {
			return "", err
		}
		b, err := io.ReadAll(r)
		return string(b), err
	}
	if got, err := open(auth, tr); err != nil || got != "clinic key" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := open(bytes.Repeat([]byte{8}, 32), tr); !errors.Is(err, ErrWelcome) {
		t.Fatalf("without the invite key: %v", err)
	}
	if _, err := open(auth, bytes.Repeat([]byte{1}, 32)); !errors.Is(err, ErrWelcome) {
		t.Fatalf("for another exchange: %v", err)
	}
	// Cut short: the last chunk is missing.
	r, _ := openWelcome(bytes.NewReader(sealed.Bytes()[:sealed.Len()-20]), priv, auth, tr)
	if _, err := io.ReadAll(r); !errors.Is(err, ErrWelcome) {
		t.Fatalf("cut short: %v", err)
	}
}
