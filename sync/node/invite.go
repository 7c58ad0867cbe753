package node

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/syncthing/syncthing/lib/protocol"
)

// An invite code, as an administrator reads it out or pastes it to the new
// workstation (docs/formats.md, "Invite code"):
//
//	u8 version (1) || secret[16] || device[16] || node[10] || u8 n || address*n || check[4]
//	address = u8 kind (4: IPv4, 6: IPv6, 'h': host name) || ip[4|16] or u8 len || name  || u16 port
//	check   = SHA-256(everything before it)[:4]
//
// secret is fresh random, valid for a few minutes, and never stored (the
// inviting workstation keeps only AuthKey, a one-way derivation of it);
// device is the first 16 bytes of the inviting workstation's Syncthing
// device id (SHA-256 of its TLS certificate), which the joiner pins; node is
// its Ward node id (80 bits, the base32 of store.NodeID); the addresses are
// where its pairing listener is. The code is base32 (A–Z, 2–7), in groups of
// five letters separated by dashes; 0, 1 and 8 are read as O, I and B.

const inviteVersion = 1

// Invite is a decoded invite code.
type Invite struct {
	Secret    [16]byte
	Device    [16]byte // prefix of the inviter's device id
	Node      string   // the inviter's node id
	Addresses []string // host:port of the inviter's pairing listener
}

// NewInvite makes an invite with a fresh secret for the workstation whose
// device id and node id are given, reachable at addresses (host:port).
func NewInvite(deviceID, nodeID string, addresses []string) (Invite, error) {
	var inv Invite
	dev, err := parseDevice(deviceID)
	if err != nil {
		return inv, err
	}
	copy(inv.Device[:], dev[:16])
	if _, err := nodeBytes(nodeID); err != nil {
		return inv, err
	}
	inv.Node = nodeID
	if len(addresses) == 0 {
		return inv, errors.New("an invite needs at least one address where the inviting workstation can be reached")
	}
	if len(addresses) > 8 {
		addresses = addresses[:8]
	}
	inv.Addresses = addresses
	if _, err := rand.Read(inv.Secret[:]); err != nil {
		return inv, err
	}
	if _, err := inv.encode(); err != nil {
		return inv, err
	}
	return inv, nil
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func nodeBytes(id string) ([]byte, error) {
	b, err := b32.DecodeString(strings.ToUpper(id))
	if err != nil || len(b) != 10 || strings.ToLower(b32.EncodeToString(b)) != id {
		return nil, fmt.Errorf("%q is not a Ward node id", id)
	}
	return b, nil
}

func (inv Invite) encode() ([]byte, error) {
	b := []byte{inviteVersion}
	b = append(b, inv.Secret[:]...)
	b = append(b, inv.Device[:]...)
	nb, err := nodeBytes(inv.Node)
	if err != nil {
		return nil, err
	}
	b = append(b, nb...)
	b = append(b, byte(len(inv.Addresses)))
	for _, a := range inv.Addresses {
		host, ps, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("invite address %q is not host:port", a)
		}
		port, err := strconv.ParseUint(ps, 10, 16)
		if err != nil || port == 0 {
			return nil, fmt.Errorf("invite address %q has no usable port", a)
		}
		if ip, err := netip.ParseAddr(host); err == nil {
			if ip.Is4() || ip.Is4In6() {
				b = append(b, 4)
				v := ip.Unmap().As4()
				b = append(b, v[:]...)
			} else {
				b = append(b, 6)
				v := ip.As16()
				b = append(b, v[:]...)
			}
		} else {
			if len(host) == 0 || len(host) > 253 {
				return nil, fmt.Errorf("invite address %q has no usable host", a)
			}
			b = append(b, 'h', byte(len(host)))
			b = append(b, host...)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(port))
	}
	sum := sha256.Sum256(b)
	return append(b, sum[:4]...), nil
}

// Code is the invite as a person handles it.
func (inv Invite) Code() string {
	b, err := inv.encode()
	if err != nil {
		return ""
	}
	s := b32.EncodeToString(b)
	var groups []string
	for len(s) > 5 {
		groups = append(groups, s[:5])
		s = s[5:]
	}
	return strings.Join(append(groups, s), "-")
}

// ErrInviteCode: the code does not decode (mistyped, cut short).
var ErrInviteCode = errors.New("that is not a Ward invite code (mistyped or incomplete: its check letters do not match)")

// ParseInvite reads an invite code, forgiving case, spaces, dashes and the
// look-alikes 0/O, 1/I, 8/B.
func ParseInvite(code string) (Invite, error) {
	var inv Invite
	clean := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t' || r == '\n' || r == '\r':
			return -1
		case r == '0':
			return 'O'
		case r == '1':
			return 'I'
		case r == '8':
			return 'B'
		}
		return r
	}, strings.ToUpper(code))
	b, err := b32.DecodeString(clean)
	if err != nil || len(b) < 1+16+16+10+1+4 {
		return inv, ErrInviteCode
	}
	body, check := b[:len(b)-4], b[len(b)-4:]
	sum := sha256.Sum256(body)
	if subtle.ConstantTimeCompare(sum[:4], check) != 1 {
		return inv, ErrInviteCode
	}
	if body[0] != inviteVersion {
		return inv, fmt.Errorf("this invite code is of version %d, which this Ward does not know: update Ward", body[0])
	}
	r := bytes.NewReader(body[1:])
	read := func(n int) []byte {
		out := make([]byte, n)
		if k, _ := r.Read(out); k != n {
			err = ErrInviteCode
		}
		return out
	}
	copy(inv.Secret[:], read(16))
	copy(inv.Device[:], read(16))
	inv.Node = strings.ToLower(b32.EncodeToString(read(10)))
	n := int(read(1)[0])
	for i := 0; i < n && err == nil; i++ {
		var host string
		switch read(1)[0] {
		case 4:
			host = netip.AddrFrom4([4]byte(read(4))).String()
		case 6:
			host = netip.AddrFrom16([16]byte(read(16))).String()
		case 'h':
			host = string(read(int(read(1)[0])))
		default:
			err = ErrInviteCode
		}
		port := binary.BigEndian.Uint16(read(2))
		inv.Addresses = append(inv.Addresses, net.JoinHostPort(host, strconv.Itoa(int(port))))
	}
	if err != nil || r.Len() != 0 || len(inv.Addresses) == 0 {
		return Invite{}, ErrInviteCode
	}
	return inv, nil
}

// ID names the invite where the inviter stores it (16 bytes, hex).
func (inv Invite) ID() string {
	return hex.EncodeToString(derive(inv.Secret[:], "ward-pair/v1 invite id", 16))
}

// AuthKey is what the inviter keeps of the secret: the key both sides prove
// knowledge of the invite with, and bind the sealed welcome to.
func (inv Invite) AuthKey() []byte { return derive(inv.Secret[:], "ward-pair/v1 auth", 32) }

// DeviceMatches tells whether a full device id is the one the invite pins.
func (inv Invite) DeviceMatches(dev protocol.DeviceID) bool {
	return subtle.ConstantTimeCompare(dev[:16], inv.Device[:]) == 1
}

func derive(secret []byte, label string, n int) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, label, n)
	if err != nil {
		panic(err)
	}
	return k
}
