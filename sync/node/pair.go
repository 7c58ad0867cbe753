package node

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	stdsync "sync"
	"time"

	"github.com/syncthing/syncthing/lib/protocol"
)

// Pairing: a new workstation joins the clinic (docs/replica.md, "Pairing";
// docs/formats.md, "Pairing"). It runs on its own small TLS listener beside
// Syncthing's, on the inviting workstation, while Ward runs there (ward
// serve or the window):
//
//  1. The joiner dials an address of the invite. TLS 1.3; both sides show
//     their Syncthing device certificates; the joiner accepts only the
//     certificate whose device id the invite pins.
//  2. joiner → hello: invite id, node id, name, node public key (Ed25519),
//     a fresh X25519 key, its node's addresses, and
//     mac = HMAC-SHA256(AuthKey, "join" || transcript), where the transcript
//     hashes the TLS channel (exporter), both device ids and the hello.
//  3. inviter: the invite must be live and unused, the MAC right; the join
//     is recorded (the invite is spent) and the joiner told "pending", with
//     HMAC(AuthKey, "pending" || transcript) so it knows the inviter holds
//     the invite too. Pings follow while an administrator decides.
//  4. The administrator approves (ward sync approve), comparing the node id
//     and device id shown on both screens; the approving process seals the
//     welcome to the joiner's X25519 key (welcome.go) into a file; this
//     listener sends it: {"welcome": size} then the sealed bytes.
//  5. joiner → {"done": true} once installed (or {"error": …}).
//
// An error ends the exchange with {"error": sentence}.

const (
	pairProto       = "ward-pair/1"
	pairLabel       = "ward-pair/v1"
	pairMaxMessage  = 64 << 10
	pairPoll        = 300 * time.Millisecond
	pairPing        = 10 * time.Second
	pairReadTimeout = 3 * pairPing
	pairHandshake   = 15 * time.Second
)

// JoinRequest is a verified request to join, as the inviter records it.
type JoinRequest struct {
	InviteID   string
	NodeID     string
	Name       string
	NodeKey    ed25519.PublicKey
	DeviceID   string   // from its TLS certificate
	X25519     []byte   // the joiner's key for the welcome
	Addresses  []string // where its node listens, as it says
	RemoteAddr string   // where the request came from
	Transcript []byte   // SHA-256 of the channel and the hello (binds the welcome)
}

// PairBook is the inviting workstation's record of invites and joins (the
// database; app implements it). Error texts reach the joiner: no secrets.
type PairBook interface {
	// InviteKey returns the AuthKey of a live, unused invite.
	InviteKey(ctx context.Context, inviteID string) ([]byte, error)
	// Requested records a verified join (spending the invite) and names it.
	Requested(ctx context.Context, req JoinRequest) (joinID string, err error)
	// Decision tells what an administrator decided: the path of the sealed
	// welcome (approved), a reason (declined), or neither yet.
	Decision(ctx context.Context, joinID string) (welcome, declined string, err error)
	// Finished: the joiner took the welcome (ok), or the exchange ended
	// without it (detail says why).
	Finished(ctx context.Context, joinID string, ok bool, detail string)
}

// ErrInviteNotValid is what a joiner hears for any invite problem: unknown,
// expired, spent, or a wrong secret.
var ErrInviteNotValid = errors.New("the inviting workstation does not accept this invite code (expired, used already, or made elsewhere): ask its administrator for a new one")

type hello struct {
	V         int      `json:"v"`
	Invite    string   `json:"invite"`
	Node      string   `json:"node"`
	Name      string   `json:"name"`
	NodeKey   []byte   `json:"node_key"`
	X25519    []byte   `json:"x25519"`
	Addresses []string `json:"addresses"`
	MAC       []byte   `json:"mac"`
}

type pairMsg struct {
	Error    string `json:"error,omitempty"`
	Pending  bool   `json:"pending,omitempty"`
	MAC      []byte `json:"mac,omitempty"`
	Ping     bool   `json:"ping,omitempty"`
	Declined string `json:"declined,omitempty"`
	Welcome  int64  `json:"welcome,omitempty"`
	Done     bool   `json:"done,omitempty"`
}

func writeMsg(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
	_, err = w.Write(b)
	return err
}

func readMsg(r io.Reader, v any) error {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > pairMaxMessage {
		return errors.New("pairing message too large")
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// transcript hashes the channel and the hello (without its MAC).
func transcript(cs tls.ConnectionState, inviter, joiner protocol.DeviceID, h hello) ([]byte, error) {
	ekm, err := cs.ExportKeyingMaterial("EXPORTER-"+pairLabel, nil, 32)
	if err != nil {
		return nil, err
	}
	t := sha256.New()
	field := func(b []byte) {
		t.Write(binary.BigEndian.AppendUint32(nil, uint32(len(b))))
		t.Write(b)
	}
	field([]byte(pairLabel))
	field(ekm)
	field(inviter[:])
	field(joiner[:])
	field([]byte(h.Invite))
	field([]byte(h.Node))
	field([]byte(h.Name))
	field(h.NodeKey)
	field(h.X25519)
	field([]byte(strings.Join(h.Addresses, "\n")))
	return t.Sum(nil), nil
}

func pairMAC(authKey []byte, what string, t []byte) []byte {
	m := hmac.New(sha256.New, authKey)
	m.Write([]byte(what))
	m.Write(t)
	return m.Sum(nil)
}

func peerDevice(cs tls.ConnectionState) (protocol.DeviceID, error) {
	if len(cs.PeerCertificates) == 0 {
		return protocol.DeviceID{}, errors.New("no certificate")
	}
	return protocol.NewDeviceID(cs.PeerCertificates[0].Raw), nil
}

// PairServer is the pairing listener of an inviting workstation.
type PairServer struct {
	ln     net.Listener
	cert   tls.Certificate
	myID   protocol.DeviceID
	book   PairBook
	ctx    context.Context
	cancel context.CancelFunc
	wg     stdsync.WaitGroup
}

// PairAddress is where the pairing listener of a node listening on listen
// (tcp://host:port) is: the same host, the next port.
func PairAddress(listen string) (string, error) {
	return nextPort(listen)
}

// ServePairing starts the pairing listener on addr (host:port) with this
// workstation's device certificate. Close stops it.
func ServePairing(addr string, cert tls.Certificate, book PairBook) (*PairServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pairing: cannot listen on %s: %w", addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &PairServer{ln: ln, cert: cert, myID: protocol.NewDeviceID(cert.Certificate[0]), book: book, ctx: ctx, cancel: cancel}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the listener's address (host:port).
func (s *PairServer) Addr() string { return s.ln.Addr().String() }

// Close stops the listener and every exchange, and waits for them.
func (s *PairServer) Close() {
	s.cancel()
	s.ln.Close()
	s.wg.Wait()
}

func (s *PairServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			stop := context.AfterFunc(s.ctx, func() { c.Close() })
			defer stop()
			s.handle(c)
		}()
	}
}

func (s *PairServer) tlsConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{s.cert},
		ClientAuth:   tls.RequireAnyClientCert,
		MinVersion:   tls.VersionTLS13,
		NextProtos:   []string{pairProto},
	}
}

func (s *PairServer) handle(raw net.Conn) {
	raw.SetDeadline(time.Now().Add(pairHandshake))
	c := tls.Server(raw, s.tlsConfig())
	if err := c.Handshake(); err != nil {
		return
	}
	cs := c.ConnectionState()
	joinerDev, err := peerDevice(cs)
	if err != nil {
		return
	}
	fail := func(e error) { writeMsg(c, pairMsg{Error: e.Error()}) }
	var h hello
	if err := readMsg(c, &h); err != nil {
		return
	}
	if h.V != 1 {
		fail(fmt.Errorf("this workstation speaks pairing version 1, not %d: update Ward on both", h.V))
		return
	}
	if len(h.NodeKey) != ed25519.PublicKeySize || len(h.X25519) != 32 || !validNodeID(h.Node) {
		fail(errors.New("the join request is malformed"))
		return
	}
	authKey, err := s.book.InviteKey(s.ctx, h.Invite)
	if err != nil {
		fail(err)
		return
	}
	defer wipeBytes(authKey)
	t, err := transcript(cs, s.myID, joinerDev, h)
	if err != nil {
		return
	}
	if !hmac.Equal(h.MAC, pairMAC(authKey, "join", t)) {
		fail(ErrInviteNotValid)
		return
	}
	req := JoinRequest{InviteID: h.Invite, NodeID: h.Node, Name: h.Name, NodeKey: h.NodeKey, DeviceID: joinerDev.String(),
		X25519: h.X25519, Addresses: h.Addresses, RemoteAddr: raw.RemoteAddr().String(), Transcript: t}
	joinID, err := s.book.Requested(s.ctx, req)
	if err != nil {
		fail(err)
		return
	}
	finished := false
	finish := func(ok bool, detail string) {
		if !finished {
			finished = true
			s.book.Finished(context.WithoutCancel(s.ctx), joinID, ok, detail)
		}
	}
	defer finish(false, "the exchange ended before the welcome was taken")
	raw.SetDeadline(time.Time{})
	if err := writeMsg(c, pairMsg{Pending: true, MAC: pairMAC(authKey, "pending", t)}); err != nil {
		return
	}
	// The joiner says nothing while it waits: a read that ends means it left.
	gone := make(chan struct{})
	readDone := make(chan pairMsg, 1)
	var once stdsync.Once
	waitForReply := func() {
		once.Do(func() {
			go func() {
				var m pairMsg
				if err := readMsg(c, &m); err != nil {
					close(gone)
					return
				}
				readDone <- m
			}()
		})
	}
	waitForReply()
	ping := time.NewTicker(pairPing)
	defer ping.Stop()
	poll := time.NewTicker(pairPoll)
	defer poll.Stop()
	for {
		select {
		case <-s.ctx.Done():
			fail(errors.New("the inviting workstation is shutting down"))
			return
		case <-gone:
			finish(false, "the new workstation hung up while waiting")
			return
		case <-readDone:
			fail(errors.New("unexpected message while waiting for approval"))
			return
		case <-ping.C:
			c.SetWriteDeadline(time.Now().Add(pairReadTimeout))
			if err := writeMsg(c, pairMsg{Ping: true}); err != nil {
				return
			}
		case <-poll.C:
			welcome, declined, err := s.book.Decision(s.ctx, joinID)
			switch {
			case err != nil:
				fail(err)
				finish(false, err.Error())
				return
			case declined != "":
				writeMsg(c, pairMsg{Declined: declined})
				finish(false, "declined")
				return
			case welcome != "":
				m, err := s.sendWelcome(c, welcome, gone, readDone)
				switch {
				case err != nil:
					finish(false, err.Error())
				case m.Error != "":
					finish(false, "the new workstation could not install the welcome: "+m.Error)
				case m.Done:
					finish(true, "")
				}
				return
			}
		}
	}
}

func (s *PairServer) sendWelcome(c *tls.Conn, path string, gone <-chan struct{}, reply <-chan pairMsg) (pairMsg, error) {
	f, err := os.Open(path)
	if err != nil {
		return pairMsg{}, fmt.Errorf("the sealed welcome cannot be read: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return pairMsg{}, err
	}
	c.SetWriteDeadline(time.Time{})
	if err := writeMsg(c, pairMsg{Welcome: st.Size()}); err != nil {
		return pairMsg{}, err
	}
	if _, err := io.Copy(c, f); err != nil {
		return pairMsg{}, fmt.Errorf("sending the welcome: %w", err)
	}
	select {
	case m := <-reply:
		return m, nil
	case <-gone:
		return pairMsg{}, errors.New("the new workstation hung up during the welcome")
	case <-s.ctx.Done():
		return pairMsg{}, s.ctx.Err()
	}
}

// JoinerInfo is what a joining workstation tells the inviter about itself.
type JoinerInfo struct {
	NodeID    string
	Name      string
	NodeKey   ed25519.PublicKey
	Addresses []string // where its node will listen (tcp://host:port)
}

// Welcome is an approved join: Plain reads the opened welcome as it
// arrives; call Done once it is installed (or failed).
type Welcome struct {
	Plain  io.Reader
	conn   *tls.Conn
	closed bool
}

// Done tells the inviter how the install went and ends the exchange.
func (w *Welcome) Done(err error) {
	if w.closed {
		return
	}
	w.closed = true
	m := pairMsg{Done: true}
	if err != nil {
		m = pairMsg{Error: err.Error()}
	}
	w.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	writeMsg(w.conn, m)
	w.conn.Close()
}

// Pending is news while the join waits for an administrator.
type Pending struct {
	InviterDevice string
	Address       string
}

// Join asks the inviting workstation of inv to admit this one: it connects,
// proves the invite, and waits (calling pending once) until an
// administrator there approves or declines, or ctx ends.
func Join(ctx context.Context, inv Invite, cert tls.Certificate, me JoinerInfo, pending func(Pending)) (*Welcome, error) {
	var lastErr error
	for _, addr := range inv.Addresses {
		d := net.Dialer{Timeout: 5 * time.Second}
		raw, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			lastErr = err
			continue
		}
		w, err := joinOver(ctx, raw, inv, cert, me, pending)
		if err != nil {
			raw.Close()
			var pe *pairRefused
			if errors.As(err, &pe) || ctx.Err() != nil {
				return nil, err
			}
			lastErr = err
			continue
		}
		return w, nil
	}
	return nil, fmt.Errorf("cannot reach the inviting workstation at %s: %v (is Ward running there: ward serve, or the window?)",
		strings.Join(inv.Addresses, ", "), lastErr)
}

// pairRefused is an answer from the inviter (not a network failure).
type pairRefused struct{ msg string }

func (e *pairRefused) Error() string { return e.msg }

func joinOver(ctx context.Context, raw net.Conn, inv Invite, cert tls.Certificate, me JoinerInfo, pending func(Pending)) (*Welcome, error) {
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	raw.SetDeadline(time.Now().Add(pairHandshake))
	c := tls.Client(raw, &tls.Config{
		Certificates:       []tls.Certificate{cert},
		MinVersion:         tls.VersionTLS13,
		NextProtos:         []string{pairProto},
		InsecureSkipVerify: true, // the certificate is self-signed: pinned below instead
		VerifyPeerCertificate: func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
			if len(rawCerts) == 0 || !inv.DeviceMatches(protocol.NewDeviceID(rawCerts[0])) {
				return errors.New("the workstation at this address is not the one that made the invite")
			}
			return nil
		},
	})
	if err := c.Handshake(); err != nil {
		if strings.Contains(err.Error(), "not the one that made the invite") {
			return nil, &pairRefused{"the workstation at " + raw.RemoteAddr().String() + " is not the one that made the invite (a different device answered): nothing was sent"}
		}
		return nil, err
	}
	cs := c.ConnectionState()
	inviterDev, _ := peerDevice(cs)
	myDev := protocol.NewDeviceID(cert.Certificate[0])
	xkey, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	h := hello{V: 1, Invite: inv.ID(), Node: me.NodeID, Name: me.Name, NodeKey: me.NodeKey,
		X25519: xkey.PublicKey().Bytes(), Addresses: me.Addresses}
	t, err := transcript(cs, inviterDev, myDev, h)
	if err != nil {
		return nil, err
	}
	authKey := inv.AuthKey()
	defer wipeBytes(authKey)
	h.MAC = pairMAC(authKey, "join", t)
	if err := writeMsg(c, h); err != nil {
		return nil, err
	}
	var m pairMsg
	if err := readMsg(c, &m); err != nil {
		return nil, err
	}
	if m.Error != "" {
		return nil, &pairRefused{m.Error}
	}
	if !m.Pending || !hmac.Equal(m.MAC, pairMAC(authKey, "pending", t)) {
		return nil, &pairRefused{"the inviting workstation did not prove it holds the invite: stopped (ask for a new invite)"}
	}
	if pending != nil {
		pending(Pending{InviterDevice: inviterDev.String(), Address: raw.RemoteAddr().String()})
	}
	for {
		raw.SetReadDeadline(time.Now().Add(pairReadTimeout))
		m = pairMsg{}
		if err := readMsg(c, &m); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &pairRefused{"the inviting workstation stopped answering while waiting for approval: " + err.Error()}
		}
		switch {
		case m.Ping:
			continue
		case m.Error != "":
			return nil, &pairRefused{m.Error}
		case m.Declined != "":
			return nil, &pairRefused{"an administrator declined this workstation: " + m.Declined}
		case m.Welcome > 0:
			raw.SetReadDeadline(time.Time{})
			plain, err := openWelcome(io.LimitReader(c, m.Welcome), xkey, authKey, t)
			if err != nil {
				return nil, err
			}
			return &Welcome{Plain: plain, conn: c}, nil
		default:
			return nil, &pairRefused{"the inviting workstation sent something this Ward does not understand"}
		}
	}
}

// nextPort turns tcp://host:port into host:port+1.
func nextPort(listen string) (string, error) {
	u, err := url.Parse(listen)
	if err != nil {
		return "", err
	}
	host, ps, err := net.SplitHostPort(u.Host)
	if err != nil {
		return "", err
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port <= 0 || port >= 65535 {
		return "", fmt.Errorf("pairing: %q has no usable port", listen)
	}
	return net.JoinHostPort(host, strconv.Itoa(port+1)), nil
}

// PairDialAddresses are the addresses a joiner dials to reach the pairing
// listener of a node listening on listen (host:port, for an invite).
func PairDialAddresses(listen string) []string {
	var out []string
	for _, a := range dialable(listen) {
		if p, err := nextPort(a); err == nil {
			out = append(out, p)
		}
	}
	return out
}
