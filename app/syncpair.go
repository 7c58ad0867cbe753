package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"ward/store"
	"ward/store/audit"
	wsync "ward/sync"
	"ward/sync/node"
)

// Pairing (docs/replica.md, "Pairing"): an administrator makes a one-time
// invite code here (Invite); the new workstation joins with it (JoinClinic)
// through this workstation's pairing listener, run by the replica job
// (pairBook records the request); an administrator approves it here
// (ApproveJoin), which admits the node and seals the clinic key and a
// snapshot to it; the listener hands that over.

const (
	// InviteLifetime: how long an invite code can be used.
	InviteLifetime = 10 * time.Minute
	// joinPatience: how long an administrator may take to approve a join
	// (the new workstation waits that long at most).
	joinPatience = time.Hour
	// joinMagic starts the plaintext of a welcome: then u32 len || the
	// welcome's JSON, then the snapshot (ward-snap/v1) to the end.
	joinMagic = "ward-join/v1\n"
)

// welcomeMeta is the first part of a welcome's plaintext.
type welcomeMeta struct {
	ClinicKey []byte `json:"clinic_key"`
	From      []byte `json:"from"` // the approving workstation's node key (it made the snapshot)
	Clinic    string `json:"clinic"`
}

// InviteCode is an invite made by Invite.
type InviteCode struct {
	Code      string
	Expires   time.Time
	Addresses []string
	Device    string // this workstation's device id (the joiner pins it)
}

// Invite makes a one-time invite code for a new workstation (administrators).
// addresses (host or host:port) override where the joiner dials; by default
// every LAN address of this workstation, at its pairing port (listen port + 1).
func (s *Session) Invite(ctx context.Context, addresses []string) (InviteCode, error) {
	var out InviteCode
	c := s.clinic
	listen, _, err := c.syncListen(ctx)
	if err != nil {
		return out, err
	}
	pairAddr, err := node.PairAddress(listen)
	if err != nil {
		return out, err
	}
	_, pairPort, _ := net.SplitHostPort(pairAddr)
	if len(addresses) == 0 {
		addresses = node.PairDialAddresses(listen)
	}
	for i, a := range addresses {
		if _, _, err := net.SplitHostPort(a); err != nil { // a host alone: the pairing port
			addresses[i] = net.JoinHostPort(strings.Trim(a, "[]"), pairPort)
		}
	}
	if len(addresses) == 0 {
		return out, errors.New("this workstation has no network address to put in the invite: give one with --address")
	}
	_, dev, err := node.DeviceCertificate(c.Dir())
	if err != nil {
		return out, err
	}
	inv, err := node.NewInvite(dev, c.Node().ID, addresses)
	if err != nil {
		return out, err
	}
	out = InviteCode{Code: inv.Code(), Expires: c.now().Add(InviteLifetime), Addresses: inv.Addresses, Device: dev}
	err = s.Do(ctx, ActSyncInvite, "", func(tx *store.Tx, w *Work) error {
		w.Detail = fmt.Sprintf("invite for a new workstation, valid until %s, at %s",
			out.Expires.UTC().Format(time.RFC3339), strings.Join(out.Addresses, ", "))
		key := inv.AuthKey()
		defer wipe(key)
		return tx.AddInvite(inv.ID(), key, s.user.ID, out.Expires)
	})
	return out, err
}

// JoinRequests lists the workstations waiting for approval here
// (administrators and security officers); all requests with all.
func (s *Session) JoinRequests(ctx context.Context, all bool) ([]store.JoinRow, error) {
	var out []store.JoinRow
	err := s.Do(ctx, ActSyncStatus, "", func(tx *store.Tx, w *Work) error {
		var err error
		if all {
			out, err = tx.JoinRequests()
		} else {
			out, err = tx.JoinRequests(store.JoinWaiting)
		}
		w.Detail = fmt.Sprintf("listed %d join requests", len(out))
		return err
	})
	return out, err
}

// ApproveJoin admits a waiting workstation (administrators): it becomes a
// member of the clinic (its node key and device replicate to every
// workstation), and the clinic key and a snapshot are sealed to it; the
// pairing listener hands them over while it still waits.
func (s *Session) ApproveJoin(ctx context.Context, id int64) (store.JoinRow, error) {
	c := s.clinic
	var j store.JoinRow
	var authKey []byte
	err := s.Do(ctx, ActSyncApprove, "", func(tx *store.Tx, w *Work) error {
		var err error
		if j, err = tx.JoinRequest(id); err != nil {
			return err
		}
		if j.State != store.JoinWaiting {
			return fmt.Errorf("join request %d is %s, not waiting: the workstation must join again with a new invite", id, j.State)
		}
		if c.now().Sub(j.RequestedAt) > joinPatience {
			return fmt.Errorf("join request %d is more than %v old: the workstation must join again with a new invite", id, joinPatience)
		}
		if authKey, err = tx.InviteAuthKey(j.InviteID); err != nil {
			return err
		}
		if _, err := tx.AdmitNode(j.NodeID, j.Name, ed25519.PublicKey(j.PublicKey)); err != nil {
			return err
		}
		if err := tx.SetNodeDevice(j.NodeID, j.DeviceID, j.Addresses); err != nil {
			return err
		}
		w.Detail = fmt.Sprintf("workstation %s (%q, device %s) admitted to the clinic; clinic key and snapshot sealed to it",
			j.NodeID, j.Name, short(j.DeviceID))
		return nil
	})
	if err != nil {
		return j, err
	}
	defer wipe(authKey)
	path, err := c.sealWelcome(ctx, j, authKey)
	if err != nil {
		c.db.Update(ctx, func(tx *store.Tx) error {
			return tx.SetJoinState(id, store.JoinGone, "the welcome could not be sealed: "+err.Error(), s.user.ID, "")
		})
		return j, fmt.Errorf("workstation %s was admitted, but its welcome could not be made (%v): remove it with `ward sync remove %s` and invite it again",
			j.NodeID, err, j.NodeID)
	}
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		return tx.SetJoinState(id, store.JoinApproved, "", s.user.ID, path)
	})
	return j, err
}

// sealWelcome writes the welcome for j, sealed to it, into the pairing
// folder: the clinic key, this node's key, then a snapshot. Nothing of it
// is ever on disk in the clear.
func (c *Clinic) sealWelcome(ctx context.Context, j store.JoinRow, authKey []byte) (string, error) {
	dir := filepath.Join(c.Dir(), "replica", "pairing")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("join-%d.welcome", j.ID))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	key, err := c.db.ClinicKey(ctx)
	if err != nil {
		f.Close()
		os.Remove(path)
		return "", err
	}
	meta, err := json.Marshal(welcomeMeta{ClinicKey: key, From: c.Node().PublicKey, Clinic: c.Name()})
	wipe(key)
	if err != nil {
		f.Close()
		os.Remove(path)
		return "", err
	}
	head := append([]byte(joinMagic), binary.BigEndian.AppendUint32(nil, uint32(len(meta)))...)
	head = append(head, meta...)
	wipe(meta)
	pr, pw := io.Pipe()
	snapErr := make(chan error, 1)
	go func() {
		_, err := c.replica().WriteSnapshot(ctx, pw)
		pw.CloseWithError(err)
		snapErr <- err
	}()
	req := node.JoinRequest{X25519: j.X25519, Transcript: j.Transcript}
	err = node.SealWelcome(f, req, authKey, io.MultiReader(bytes.NewReader(head), pr))
	wipe(head)
	pr.CloseWithError(errors.New("stopped"))
	if serr := <-snapErr; err == nil && serr != nil {
		err = serr
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", err
	}
	return path, nil
}

// DeclineJoin turns a waiting workstation away (administrators).
func (s *Session) DeclineJoin(ctx context.Context, id int64, reason string) error {
	if strings.TrimSpace(reason) == "" {
		reason = "no reason given"
	}
	return s.Do(ctx, ActSyncApprove, "", func(tx *store.Tx, w *Work) error {
		j, err := tx.JoinRequest(id)
		if err != nil {
			return err
		}
		if j.State != store.JoinWaiting {
			return fmt.Errorf("join request %d is %s, not waiting", id, j.State)
		}
		w.Detail = fmt.Sprintf("join of workstation %s (%q) declined: %s", j.NodeID, j.Name, reason)
		return tx.SetJoinState(id, store.JoinDeclined, reason, s.user.ID, "")
	})
}

// pairBook is the pairing listener's view of the database (system work).
type pairBook struct {
	c       *Clinic
	report  func(string, bool)
	changed func() // the clinic's workstations changed: reconcile the node now
}

func (b *pairBook) audit(ctx context.Context, outcome, detail string) {
	b.c.db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.Audit(audit.Event{User: SystemUser, Action: string(ActSyncJoin), Outcome: outcome, Detail: detail})
		return err
	})
}

func (b *pairBook) InviteKey(ctx context.Context, id string) ([]byte, error) {
	var k []byte
	err := b.c.db.Update(ctx, func(tx *store.Tx) (err error) {
		k, err = tx.InviteKey(id)
		return err
	})
	if errors.Is(err, store.ErrInviteNotLive) {
		return nil, node.ErrInviteNotValid
	}
	if err != nil {
		return nil, errors.New("the inviting workstation could not check the invite")
	}
	return k, nil
}

func (b *pairBook) Requested(ctx context.Context, r node.JoinRequest) (string, error) {
	name := cleanName(r.Name)
	var id int64
	var refusal error
	err := b.c.db.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.InviteKey(r.InviteID); err != nil {
			refusal = node.ErrInviteNotValid
			return nil
		}
		ns, err := tx.NodeDevices()
		if err != nil {
			return err
		}
		for _, n := range ns {
			switch {
			case n.ID == r.NodeID:
				refusal = fmt.Errorf("workstation %s is a member of this clinic already", r.NodeID)
			case n.DeviceID == r.DeviceID:
				refusal = fmt.Errorf("device %s belongs to workstation %s already", short(r.DeviceID), n.ID)
			}
		}
		if refusal != nil {
			return nil
		}
		if err := tx.SpendInvite(r.InviteID); err != nil {
			return err
		}
		id, err = tx.AddJoin(store.JoinRow{InviteID: r.InviteID, NodeID: r.NodeID, Name: name, PublicKey: r.NodeKey,
			DeviceID: r.DeviceID, X25519: r.X25519, Transcript: r.Transcript, Addresses: cleanAddresses(r.Addresses),
			RemoteAddr: r.RemoteAddr})
		if err != nil {
			return err
		}
		_, err = tx.Audit(audit.Event{User: SystemUser, Action: string(ActSyncJoin), Outcome: audit.OutcomeSuccess,
			Detail: fmt.Sprintf("workstation %s (%q, device %s) asks to join from %s (request %d)", r.NodeID, name, short(r.DeviceID), r.RemoteAddr, id)})
		return err
	})
	if err != nil {
		return "", errors.New("the inviting workstation could not record the request")
	}
	if refusal != nil {
		b.audit(ctx, audit.OutcomeFailure, fmt.Sprintf("join of workstation %s refused: %v", r.NodeID, refusal))
		return "", refusal
	}
	b.report(fmt.Sprintf("workstation %s (%q, device %s) asks to join: approve it with `ward sync approve %d`", r.NodeID, name, short(r.DeviceID), id), false)
	return strconv.FormatInt(id, 10), nil
}

func (b *pairBook) Decision(ctx context.Context, joinID string) (string, string, error) {
	id, _ := strconv.ParseInt(joinID, 10, 64)
	var j store.JoinRow
	err := b.c.db.Update(ctx, func(tx *store.Tx) (err error) {
		j, err = tx.JoinRequest(id)
		return err
	})
	switch {
	case err != nil:
		return "", "", errors.New("the inviting workstation lost the request")
	case j.State == store.JoinApproved:
		return j.Welcome, "", nil
	case j.State == store.JoinDeclined:
		return "", j.Detail, nil
	case j.State == store.JoinWaiting:
		if b.c.now().Sub(j.RequestedAt) > joinPatience {
			return "", "nobody approved it within " + joinPatience.String(), nil
		}
		return "", "", nil
	}
	return "", "", fmt.Errorf("the request was closed (%s)", j.State)
}

func (b *pairBook) Finished(ctx context.Context, joinID string, ok bool, detail string) {
	id, _ := strconv.ParseInt(joinID, 10, 64)
	var j store.JoinRow
	b.c.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		if j, err = tx.JoinRequest(id); err != nil {
			return err
		}
		if j.Welcome != "" {
			os.Remove(j.Welcome)
		}
		state := store.JoinDone
		switch {
		case ok:
			detail = "the welcome was taken"
		case j.State == store.JoinDeclined:
			return nil
		default:
			state = store.JoinGone
		}
		return tx.SetJoinState(id, state, detail, "", "")
	})
	outcome, text := audit.OutcomeSuccess, fmt.Sprintf("workstation %s took its welcome (request %d): it is part of the clinic", j.NodeID, id)
	if !ok {
		outcome, text = audit.OutcomeFailure, fmt.Sprintf("join of workstation %s ended without the welcome (request %d): %s", j.NodeID, id, detail)
		if j.State == store.JoinApproved {
			text += fmt.Sprintf("; it was admitted: remove it with `ward sync remove %s` unless it joins again", j.NodeID)
		}
	}
	b.audit(ctx, outcome, text)
	b.report(text, !ok && j.State != store.JoinDeclined)
	if ok && b.changed != nil {
		b.changed()
	}
}

// cleanName keeps a workstation's self-chosen name printable and short.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > 64 {
		s = string(r[:64])
	}
	return s
}

func cleanAddresses(addrs []string) []string {
	var out []string
	for _, a := range addrs {
		if node.CheckListen(a) == nil && len(out) < 8 {
			out = append(out, a)
		}
	}
	return out
}

// JoinClinicOptions describe a workstation joining a clinic.
type JoinClinicOptions struct {
	Dir      string
	Code     string
	NodeName string // default: the host name
	Listen   string // where this workstation's node will listen ("" = the default)
	Keyring  store.Keyring
	// Waiting is told who this workstation is once the inviter has the
	// request, for the administrator there to compare.
	Waiting func(JoinIdentity)
}

// JoinIdentity is what both screens show while an administrator decides.
type JoinIdentity struct {
	Node          string // this workstation's node id
	Device        string // its device id
	InviterDevice string
	InviterNode   string
}

// JoinClinic makes this empty data folder a workstation of the clinic whose
// invite code is given: it creates the database and the device certificate,
// asks the inviting workstation (which must be running Ward), waits for an
// administrator there, and installs the clinic key and the snapshot that
// come back sealed to it. It returns the workstation and its recovery code
// (shown once). On any failure the folder is left as it was.
func JoinClinic(ctx context.Context, o JoinClinicOptions) (*Clinic, string, wsync.SnapshotInfo, error) {
	var info wsync.SnapshotInfo
	inv, err := node.ParseInvite(o.Code)
	if err != nil {
		return nil, "", info, err
	}
	if o.Listen != "" {
		if err := node.CheckListen(o.Listen); err != nil {
			return nil, "", info, err
		}
	}
	created, err := emptyDataFolder(o.Dir)
	if err != nil {
		return nil, "", info, err
	}
	c, err := NewWorkstation(ctx, JoinOptions{Dir: o.Dir, NodeName: o.NodeName, Keyring: o.Keyring})
	if err != nil {
		undoJoin(nil, o, created)
		return nil, "", info, err
	}
	fail := func(err error) (*Clinic, string, wsync.SnapshotInfo, error) {
		undoJoin(c, o, created)
		return nil, "", info, err
	}
	listen := o.Listen
	if listen == "" {
		listen = node.DefaultListen
	} else if err := c.db.Update(ctx, func(tx *store.Tx) error { return tx.SetSyncSetting(SyncListen, listen) }); err != nil {
		return fail(err)
	}
	cert, dev, err := node.DeviceCertificate(o.Dir)
	if err != nil {
		return fail(err)
	}
	self := c.Node()
	me := node.JoinerInfo{NodeID: self.ID, Name: self.Name, NodeKey: self.PublicKey, Addresses: node.DialAddresses(listen)}
	w, err := node.Join(ctx, inv, cert, me, func(p node.Pending) {
		if o.Waiting != nil {
			o.Waiting(JoinIdentity{Node: self.ID, Device: dev, InviterDevice: p.InviterDevice, InviterNode: inv.Node})
		}
	})
	if err != nil {
		return fail(err)
	}
	code, info, err := c.installWelcome(ctx, w.Plain, inv.Node)
	w.Done(err)
	if err != nil {
		return fail(err)
	}
	if err := c.db.Update(ctx, func(tx *store.Tx) error { return tx.SetNodeDevice(self.ID, dev, me.Addresses) }); err != nil {
		return fail(err)
	}
	return c, code, info, nil
}

// installWelcome reads a welcome's plaintext: the clinic key and the
// approving node's key, then the snapshot, which Join installs.
func (c *Clinic) installWelcome(ctx context.Context, plain io.Reader, inviterNode string) (string, wsync.SnapshotInfo, error) {
	var info wsync.SnapshotInfo
	head := make([]byte, len(joinMagic)+4)
	if _, err := io.ReadFull(plain, head); err != nil {
		return "", info, welcomeErr(err)
	}
	if string(head[:len(joinMagic)]) != joinMagic {
		return "", info, errors.New("the inviting workstation sent a welcome this Ward does not understand: update Ward on both")
	}
	n := binary.BigEndian.Uint32(head[len(joinMagic):])
	if n > 1<<20 {
		return "", info, errors.New("the welcome is malformed")
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(plain, raw); err != nil {
		return "", info, welcomeErr(err)
	}
	var meta welcomeMeta
	err := json.Unmarshal(raw, &meta)
	wipe(raw)
	defer wipe(meta.ClinicKey)
	if err != nil || len(meta.From) != ed25519.PublicKeySize {
		return "", info, errors.New("the welcome is malformed")
	}
	if store.NodeID(meta.From) != inviterNode {
		return "", info, fmt.Errorf("the welcome was made by node %s, not by the workstation that made the invite (%s)", store.NodeID(meta.From), inviterNode)
	}
	code, info, err := c.Join(ctx, meta.ClinicKey, plain, ed25519.PublicKey(meta.From))
	if err != nil {
		return "", info, welcomeErr(err)
	}
	return code, info, nil
}

func welcomeErr(err error) error {
	if errors.Is(err, node.ErrWelcome) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return node.ErrWelcome
	}
	return err
}

// emptyDataFolder checks that dir is missing or empty (a join makes a new
// workstation) and tells whether it had to be created.
func emptyDataFolder(dir string) (created bool, err error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if len(ents) > 0 {
		return false, fmt.Errorf("%s is not empty: a workstation joins with an empty data folder (ward sync join CODE --data NEW-FOLDER)", dir)
	}
	return false, nil
}

// undoJoin removes what a failed join made: the database, its keyring
// entry, the device certificate, the folder if it was made here.
func undoJoin(c *Clinic, o JoinClinicOptions, created bool) {
	if c != nil {
		c.Close()
		o.Keyring.Delete(c.account)
	}
	if created {
		os.RemoveAll(o.Dir)
		return
	}
	ents, _ := os.ReadDir(o.Dir)
	for _, e := range ents {
		os.RemoveAll(filepath.Join(o.Dir, e.Name()))
	}
}
