package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The replica's transport (sync/node, migration 006): each node's Syncthing
// device and addresses (replicated with the node), and this workstation's
// own pairing invites, join requests, transport settings and backup peers.

// NodeDevice is how a workstation is reached.
type NodeDevice struct {
	ID        string
	Name      string
	DeviceID  string   // "" until it has joined through pairing
	Addresses []string // none: LAN discovery
	Revoked   bool
	Self      bool
}

// NodeDevices lists every workstation with its device, this one too.
func (tx *Tx) NodeDevices() ([]NodeDevice, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT id, name, device_id, addresses, revoked_at IS NOT NULL FROM nodes ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []NodeDevice
	for rows.Next() {
		var n NodeDevice
		var addrs string
		if err := rows.Scan(&n.ID, &n.Name, &n.DeviceID, &addrs, &n.Revoked); err != nil {
			return nil, err
		}
		n.Addresses = strings.Fields(addrs)
		n.Self = n.ID == tx.db.self.ID
		out = append(out, n)
	}
	return out, rows.Err()
}

// SetNodeDevice records a workstation's Syncthing device and addresses; the
// change replicates with the node's row. Unchanged values write nothing.
func (tx *Tx) SetNodeDevice(id, deviceID string, addresses []string) error {
	addrs := strings.Join(addresses, " ")
	var cur, curAddrs string
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT device_id, addresses FROM nodes WHERE id = ?", id).Scan(&cur, &curAddrs)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrUnknownNode
	}
	if err != nil {
		return err
	}
	if cur == deviceID && curAddrs == addrs {
		return nil
	}
	origin, hlc := tx.stamp()
	if err := tx.execOne("UPDATE nodes SET device_id = ?, addresses = ?, origin = ?, hlc = ? WHERE id = ?",
		deviceID, addrs, origin, int64(hlc), id); err != nil {
		return err
	}
	_, err = tx.logNode(id, hlc)
	return err
}

// SyncSetting reads a transport setting of this workstation (def if unset).
func (tx *Tx) SyncSetting(key, def string) (string, error) {
	var v string
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT value FROM sync_settings WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return def, nil
	}
	return v, err
}

// SetSyncSetting writes a transport setting of this workstation ("" removes it).
func (tx *Tx) SetSyncSetting(key, value string) error {
	if value == "" {
		_, err := tx.tx.ExecContext(tx.ctx, "DELETE FROM sync_settings WHERE key = ?", key)
		return err
	}
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO sync_settings(key, value) VALUES (?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// AddInvite records an invite made here: its id and auth key (never the
// secret), who made it, and until when it is good.
func (tx *Tx) AddInvite(id string, authKey []byte, user string, expires time.Time) error {
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO sync_invites(id, auth_key, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		id, authKey, user, tx.now.Unix(), expires.Unix())
	return err
}

// ErrInviteNotLive: no such invite here, or it expired or was used.
var ErrInviteNotLive = errors.New("no live invite by that id")

// InviteKey returns the auth key of a live, unused invite.
func (tx *Tx) InviteKey(id string) ([]byte, error) {
	var k []byte
	var expires int64
	var used sql.NullInt64
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT auth_key, expires_at, used_at FROM sync_invites WHERE id = ?", id).Scan(&k, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (used.Valid || tx.now.Unix() >= expires) {
		return nil, ErrInviteNotLive
	}
	return k, err
}

// SpendInvite marks an invite used (it is good once).
func (tx *Tx) SpendInvite(id string) error {
	return tx.execOne("UPDATE sync_invites SET used_at = ? WHERE id = ? AND used_at IS NULL", tx.now.Unix(), id)
}

// Join states.
const (
	JoinWaiting  = "waiting"
	JoinApproved = "approved"
	JoinDeclined = "declined"
	JoinDone     = "done"
	JoinGone     = "gone"
)

// JoinRow is a workstation that asked to join with an invite made here.
type JoinRow struct {
	ID          int64
	InviteID    string
	NodeID      string
	Name        string
	PublicKey   []byte
	DeviceID    string
	X25519      []byte
	Transcript  []byte
	Addresses   []string
	RemoteAddr  string
	RequestedAt time.Time
	State       string
	Detail      string
	DecidedBy   string
	Welcome     string
}

// AddJoin records a verified join request (state waiting) and returns its id.
func (tx *Tx) AddJoin(j JoinRow) (int64, error) {
	res, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO sync_joins(invite_id, node_id, name, public_key, device_id, x25519,
		transcript, addresses, remote_addr, requested_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		j.InviteID, j.NodeID, j.Name, j.PublicKey, j.DeviceID, j.X25519, j.Transcript, strings.Join(j.Addresses, " "),
		j.RemoteAddr, tx.now.Unix(), JoinWaiting)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

const joinCols = `id, invite_id, node_id, name, public_key, device_id, x25519, transcript, addresses, remote_addr,
	requested_at, state, detail, COALESCE(decided_by, ''), welcome`

func scanJoin(s interface{ Scan(...any) error }) (JoinRow, error) {
	var j JoinRow
	var addrs string
	var at int64
	err := s.Scan(&j.ID, &j.InviteID, &j.NodeID, &j.Name, &j.PublicKey, &j.DeviceID, &j.X25519, &j.Transcript, &addrs,
		&j.RemoteAddr, &at, &j.State, &j.Detail, &j.DecidedBy, &j.Welcome)
	j.Addresses = strings.Fields(addrs)
	j.RequestedAt = time.Unix(at, 0)
	return j, err
}

// JoinRequest returns one join request.
func (tx *Tx) JoinRequest(id int64) (JoinRow, error) {
	j, err := scanJoin(tx.tx.QueryRowContext(tx.ctx, "SELECT "+joinCols+" FROM sync_joins WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return j, fmt.Errorf("there is no join request %d on this workstation", id)
	}
	return j, err
}

// JoinRequests lists join requests in the given states (all when none), oldest first.
func (tx *Tx) JoinRequests(states ...string) ([]JoinRow, error) {
	q := "SELECT " + joinCols + " FROM sync_joins"
	var args []any
	if len(states) > 0 {
		q += " WHERE state IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(states)), ", ") + ")"
		for _, s := range states {
			args = append(args, s)
		}
	}
	rows, err := tx.tx.QueryContext(tx.ctx, q+" ORDER BY id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []JoinRow
	for rows.Next() {
		j, err := scanJoin(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// SetJoinState moves a join request on. by (a user id) and welcome are kept
// when empty.
func (tx *Tx) SetJoinState(id int64, state, detail, by, welcome string) error {
	q := "UPDATE sync_joins SET state = ?, detail = ?"
	args := []any{state, detail}
	if by != "" {
		q += ", decided_by = ?, decided_at = ?"
		args = append(args, by, tx.now.Unix())
	}
	if welcome != "" || state != JoinApproved {
		q += ", welcome = ?"
		args = append(args, welcome)
	}
	return tx.execOne(q+" WHERE id = ?", append(args, id)...)
}

// BackupPeer is an untrusted device that keeps encrypted copies.
type BackupPeer struct {
	DeviceID  string
	Addresses []string
	AddedAt   time.Time
}

// BackupPeers lists this workstation's backup peers.
func (tx *Tx) BackupPeers() ([]BackupPeer, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, "SELECT device_id, addresses, added_at FROM sync_backup_peers ORDER BY added_at, device_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BackupPeer
	for rows.Next() {
		var p BackupPeer
		var addrs string
		var at int64
		if err := rows.Scan(&p.DeviceID, &addrs, &at); err != nil {
			return nil, err
		}
		p.Addresses, p.AddedAt = strings.Fields(addrs), time.Unix(at, 0)
		out = append(out, p)
	}
	return out, rows.Err()
}

// AddBackupPeer records (or updates the addresses of) a backup peer.
func (tx *Tx) AddBackupPeer(deviceID string, addresses []string) error {
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO sync_backup_peers(device_id, addresses, added_at) VALUES (?, ?, ?)
		ON CONFLICT(device_id) DO UPDATE SET addresses = excluded.addresses`, deviceID, strings.Join(addresses, " "), tx.now.Unix())
	return err
}

// RemoveBackupPeer forgets a backup peer.
func (tx *Tx) RemoveBackupPeer(deviceID string) error {
	return tx.execOne("DELETE FROM sync_backup_peers WHERE device_id = ?", deviceID)
}

// InviteAuthKey returns an invite's auth key, live or not (an approval seals
// the welcome with it after the join has spent the invite).
func (tx *Tx) InviteAuthKey(id string) ([]byte, error) {
	var k []byte
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT auth_key FROM sync_invites WHERE id = ?", id).Scan(&k)
	return k, notFound(err)
}

// TransportPeer is one row of what the running node last saw.
type TransportPeer struct {
	DeviceID   string
	NodeID     string
	Self       bool
	Backup     bool
	Connected  bool
	Address    string
	LastSeen   time.Time // zero: never
	OutboxNeed int64
	UpdatedAt  time.Time
}

// SaveTransport replaces what the running node saw (its own row first).
func (tx *Tx) SaveTransport(rows []TransportPeer) error {
	if _, err := tx.tx.ExecContext(tx.ctx, "DELETE FROM sync_transport"); err != nil {
		return err
	}
	for _, r := range rows {
		var seen int64
		if !r.LastSeen.IsZero() {
			seen = r.LastSeen.Unix()
		}
		node := r.NodeID
		if r.Self {
			node = tx.db.self.ID
		}
		if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO sync_transport(device_id, node_id, backup, connected, address,
			last_seen, outbox_need, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			r.DeviceID, node, r.Backup, r.Connected, r.Address, seen, r.OutboxNeed, tx.now.Unix()); err != nil {
			return err
		}
	}
	return nil
}

// Transport returns what the running node last saw (its own row first).
func (tx *Tx) Transport() ([]TransportPeer, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT device_id, node_id, backup, connected, address, last_seen, outbox_need, updated_at
		FROM sync_transport ORDER BY node_id != ?, backup, node_id, device_id`, tx.db.self.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TransportPeer
	for rows.Next() {
		var r TransportPeer
		var seen, at int64
		if err := rows.Scan(&r.DeviceID, &r.NodeID, &r.Backup, &r.Connected, &r.Address, &seen, &r.OutboxNeed, &at); err != nil {
			return nil, err
		}
		r.Self = r.NodeID == tx.db.self.ID
		if seen > 0 {
			r.LastSeen = time.Unix(seen, 0)
		}
		r.UpdatedAt = time.Unix(at, 0)
		out = append(out, r)
	}
	return out, rows.Err()
}
